import { Type, type Static } from 'typebox';
import { BOOKING_STATUSES, CANCELLATION_POLICIES, CANCELLERS, PAYMENT_STATUSES } from '../../db/schema/index.ts';
import { DateTime, Id, LiteralUnion, Nullable, PageQuery } from '../../shared/schemas.ts';

const BookingStatusSchema = LiteralUnion(BOOKING_STATUSES);
const PaymentStatusSchema = LiteralUnion(PAYMENT_STATUSES);
const CancellerSchema = LiteralUnion(CANCELLERS, { description: 'Who ended it; system = expired' });

/** Request times must carry Z or an offset; a bare local time is ambiguous and refused. */
const Instant = Type.String({ format: 'date-time', description: 'ISO 8601 with Z or an offset, e.g. 2026-12-01T09:00:00Z' });

export const BookingSchema = Type.Object(
  {
    id: Type.Integer(),
    space_id: Type.Integer(),
    user_id: Type.Integer(),
    space: Type.Object({ id: Type.Integer(), name: Type.String(), city: Type.String(), address: Type.String() }),
    start_time: DateTime,
    end_time: DateTime,
    duration_hours: Type.Number(),
    guests: Type.Integer(),
    purpose: Nullable(Type.String()),
    total_price: Type.Number(),
    currency: Type.String(),
    status: BookingStatusSchema,
    payment_status: PaymentStatusSchema,
    cancellation_reason: Nullable(Type.String()),
    cancelled_by: Nullable(CancellerSchema),
    created_at: DateTime,
    updated_at: DateTime,
  },
  { $id: 'Booking', title: 'Booking' },
);
export type BookingResponse = Static<typeof BookingSchema>;

export const CreateBookingBody = Type.Object({
  space_id: Id,
  start_time: Instant,
  end_time: Instant,
  guests: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, default: 1 })),
  purpose: Type.Optional(Nullable(Type.String({ maxLength: 1000 }))),
});
export type CreateBookingBody = Static<typeof CreateBookingBody>;

export const BookingListQuery = Type.Object({
  ...PageQuery.properties,
  status: Type.Optional(BookingStatusSchema),
  space_id: Type.Optional(Id),
  from: Type.Optional(Instant),
  to: Type.Optional(Instant),
});
export type BookingListQuery = Static<typeof BookingListQuery>;

export const ReasonBody = Type.Object({ reason: Type.Optional(Nullable(Type.String({ maxLength: 500 }))) });

export const CheckAvailabilityQuery = Type.Object({ space_id: Id, start_time: Instant, end_time: Instant });

const Interval = Type.Object({ start_time: DateTime, end_time: DateTime });

export const CheckAvailabilityResponse = Type.Object({
  space_id: Type.Integer(),
  start_time: DateTime,
  end_time: DateTime,
  available: Type.Boolean(),
  reason: Type.Optional(Type.String({ description: 'Why not, when not available: a booking error code' })),
  conflicts: Type.Array(Interval),
});

export const AvailabilityQuery = Type.Object({ from: Instant, to: Instant });
export const AvailabilityResponse = Type.Object({ space_id: Type.Integer(), from: DateTime, to: DateTime, busy: Type.Array(Interval) });

export const QuoteResponse = Type.Object({
  policy: LiteralUnion(CANCELLATION_POLICIES),
  refund_amount: Type.Number(),
  currency: Type.String(),
  rule: Type.String(),
});

export const CalendarUrlResponse = Type.Object({ calendar_url: Type.String() });
export const CalendarQuery = Type.Object({ token: Type.Optional(Type.String({ maxLength: 200 })) });
