import { sql, type SQL } from 'drizzle-orm';
import { spaceImages, spaces, users } from '../../db/schema/index.ts';

/**
 * The Space representation of the API, built by PostgreSQL as JSON text (ADR 0008). Listing
 * reads are the hottest path of the service; answering them straight from the database spares
 * parsing every column into JavaScript values and serializing them back. `SpaceSchema` in
 * spaces.schemas.ts documents this shape, and the tests hold the two together.
 */

/** A listing's images, primary first. */
const imagesJson = sql`(
  select coalesce(json_agg(json_build_object(
    'id', i.id, 'space_id', i.space_id, 'image_url', i.image_url, 'is_primary', i.is_primary,
    'width', i.width, 'height', i.height, 'created_at', iso_utc(i.created_at)
  ) order by i.is_primary desc, i.id), '[]'::json)
  from ${spaceImages} i where i.space_id = ${spaces.id}
)`;

/**
 * One listing as JSON text; the query must join `users` as the owner. `distanceKm`, when given,
 * adds `distance_km` (rounded to metres).
 */
export function spaceJson(distanceKm?: SQL): SQL<string> {
  const distance = distanceKm ? sql`, 'distance_km', round((${distanceKm})::numeric, 3)` : sql``;
  return sql<string>`json_build_object(
    'id', ${spaces.id},
    'name', ${spaces.name},
    'description', ${spaces.description},
    'address', ${spaces.address},
    'city', ${spaces.city},
    'latitude', ${spaces.latitude},
    'longitude', ${spaces.longitude},
    'timezone', ${spaces.timezone},
    'price_per_hour', ${spaces.pricePerHour}::float8 / 100,
    'currency', ${spaces.currency},
    'capacity', ${spaces.capacity},
    'amenities', ${spaces.amenities},
    'is_available', ${spaces.isAvailable},
    'status', case when ${spaces.isAvailable} then 'available' else 'unavailable' end,
    'min_booking_hours', ${spaces.minBookingHours},
    'max_booking_hours', ${spaces.maxBookingHours},
    'min_notice_hours', ${spaces.minNoticeHours},
    'buffer_minutes', ${spaces.bufferMinutes},
    'operating_hours', ${spaces.operatingHours},
    'cancellation_policy', ${spaces.cancellationPolicy},
    'owner_id', ${spaces.ownerId},
    'owner', json_build_object('id', ${users.id}, 'name', trim(${users.firstName} || ' ' || ${users.lastName})),
    'images', ${imagesJson},
    'rating', json_build_object('average', round(${spaces.ratingSum}::numeric / nullif(${spaces.ratingCount}, 0), 2)::float8, 'count', ${spaces.ratingCount}),
    'created_at', iso_utc(${spaces.createdAt}),
    'updated_at', iso_utc(${spaces.updatedAt})
    ${distance}
  )::text`;
}
