import type { SpaceImageRow } from '../../db/schema/index.ts';
import type { SpaceRecord } from './spaces.repository.ts';
import { toMajorUnits } from './spaces.rules.ts';
import type { ImageResponse, SpaceResponse } from './spaces.schemas.ts';

export const toImageResponse = (image: SpaceImageRow): ImageResponse => ({
  id: image.id,
  space_id: image.spaceId,
  image_url: image.imageUrl,
  is_primary: image.isPrimary,
  width: image.width,
  height: image.height,
  created_at: image.createdAt.toISOString(),
});

export function toSpaceResponse(record: SpaceRecord, images: SpaceImageRow[]): SpaceResponse {
  const { space } = record;
  const response: SpaceResponse = {
    id: space.id,
    name: space.name,
    description: space.description,
    address: space.address,
    city: space.city,
    latitude: space.latitude,
    longitude: space.longitude,
    timezone: space.timezone,
    price_per_hour: toMajorUnits(space.pricePerHour),
    currency: space.currency,
    capacity: space.capacity,
    amenities: space.amenities,
    is_available: space.isAvailable,
    status: space.isAvailable ? 'available' : 'unavailable',
    min_booking_hours: space.minBookingHours,
    max_booking_hours: space.maxBookingHours,
    min_notice_hours: space.minNoticeHours,
    buffer_minutes: space.bufferMinutes,
    operating_hours: space.operatingHours ?? null,
    cancellation_policy: space.cancellationPolicy,
    owner_id: space.ownerId,
    owner: { id: space.ownerId, name: record.ownerName },
    images: images.map(toImageResponse),
    rating: {
      average: space.ratingCount > 0 ? Math.round((space.ratingSum / space.ratingCount) * 100) / 100 : null,
      count: space.ratingCount,
    },
    created_at: space.createdAt.toISOString(),
    updated_at: space.updatedAt.toISOString(),
  };
  if (record.distanceKm !== undefined) response.distance_km = Math.round(Number(record.distanceKm) * 1000) / 1000;
  return response;
}
