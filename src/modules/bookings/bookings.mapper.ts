import type { BookingRecord } from './bookings.repository.ts';
import { durationHours } from './bookings.rules.ts';
import type { BookingResponse } from './bookings.schemas.ts';

export function toBookingResponse({ booking, space }: BookingRecord): BookingResponse {
  return {
    id: booking.id,
    space_id: booking.spaceId,
    user_id: booking.userId,
    space: { id: space.id, name: space.name, city: space.city, address: space.address },
    start_time: booking.startTime.toISOString(),
    end_time: booking.endTime.toISOString(),
    duration_hours: durationHours(booking.startTime, booking.endTime),
    guests: booking.guests,
    purpose: booking.purpose,
    total_price: booking.totalPrice / 100,
    currency: booking.currency,
    status: booking.status,
    payment_status: booking.paymentStatus,
    cancellation_reason: booking.cancellationReason,
    cancelled_by: booking.cancelledBy,
    created_at: booking.createdAt.toISOString(),
    updated_at: booking.updatedAt.toISOString(),
  };
}
