import { sql } from 'drizzle-orm';
import { bigint, check, index, integer, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';
import { createdAt, timestamptz, updatedAt } from './columns.ts';
import { spaces } from './spaces.ts';
import { users } from './users.ts';
import { isOneOf } from './value-lists.ts';

export const BOOKING_STATUSES = ['pending', 'confirmed', 'cancelled', 'completed'] as const;
export type BookingStatus = (typeof BOOKING_STATUSES)[number];
/** The statuses that hold a slot: the exclusion constraint (migration 0006) and every availability check use these. */
export const LIVE_BOOKING_STATUSES = ['pending', 'confirmed'] as const satisfies readonly BookingStatus[];
export type LiveBookingStatus = (typeof LIVE_BOOKING_STATUSES)[number];
export const PAYMENT_STATUSES = ['unpaid', 'pending', 'paid', 'refunded'] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];
/** Who ended a booking: its booker, the space's owner, an admin, or the service itself (expiry). */
export const CANCELLERS = ['booker', 'owner', 'admin', 'system'] as const;
export type Canceller = (typeof CANCELLERS)[number];

/**
 * The slot a booking holds is [start_time, blocked_until): its own time plus the space's buffer
 * after it, fixed when booked. An exclusion constraint (migration 0006) makes two live bookings of
 * one space with overlapping slots impossible, whatever the concurrency.
 */
export const bookings = pgTable(
  'bookings',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    spaceId: integer('space_id')
      .notNull()
      .references(() => spaces.id, { onDelete: 'restrict' }),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'restrict' }),
    startTime: timestamptz('start_time').notNull(),
    endTime: timestamptz('end_time').notNull(),
    blockedUntil: timestamptz('blocked_until').notNull(),
    guests: integer('guests').notNull().default(1),
    purpose: text('purpose'),
    /** Minor units of `currency`. */
    totalPrice: bigint('total_price', { mode: 'number' }).notNull(),
    currency: text('currency').notNull(),
    status: text('status').$type<BookingStatus>().notNull().default('pending'),
    paymentStatus: text('payment_status').$type<PaymentStatus>().notNull().default('unpaid'),
    cancellationReason: text('cancellation_reason'),
    cancelledBy: text('cancelled_by').$type<Canceller>(),
    /** When the host approved it: the payment deadline counts from here. */
    confirmedAt: timestamptz('confirmed_at'),
    /** Grows with every change; calendars show it as SEQUENCE. */
    version: integer('version').notNull().default(0),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    check('bookings_time_order', sql`${t.endTime} > ${t.startTime} and ${t.blockedUntil} >= ${t.endTime}`),
    check('bookings_status', isOneOf(t.status, BOOKING_STATUSES)),
    check('bookings_payment_status', isOneOf(t.paymentStatus, PAYMENT_STATUSES)),
    check('bookings_cancelled_by', sql`${t.cancelledBy} is null or ${isOneOf(t.cancelledBy, CANCELLERS)}`),
    check('bookings_guests', sql`${t.guests} >= 1`),
    check('bookings_price', sql`${t.totalPrice} >= 0`),
    index('bookings_user_start_idx').on(t.userId, t.startTime, t.id),
    index('bookings_space_start_idx').on(t.spaceId, t.startTime, t.id),
    index('bookings_pending_created_idx')
      .on(t.createdAt)
      .where(sql`${t.status} = 'pending'`),
    index('bookings_pending_start_idx')
      .on(t.startTime)
      .where(sql`${t.status} = 'pending'`),
    index('bookings_confirmed_end_idx')
      .on(t.endTime)
      .where(sql`${t.status} = 'confirmed'`),
    index('bookings_unpaid_confirmed_idx')
      .on(t.confirmedAt)
      .where(sql`${t.status} = 'confirmed' and ${t.paymentStatus} = 'unpaid'`),
    index('bookings_unpaid_start_idx')
      .on(t.startTime)
      .where(sql`${t.status} = 'confirmed' and ${t.paymentStatus} = 'unpaid'`),
    // The platform-wide counts by status (admin stats) read this index alone.
    index('bookings_status_idx').on(t.status),
    // Live slots by time alone, for the available-window search: the exclusion constraint's index
    // leads with space_id, so a search by time over every space cannot prune it (ADR 0015).
    index('bookings_live_slot_idx')
      .using('gist', sql`tstzrange(${t.startTime}, ${t.blockedUntil}, '[)')`)
      .where(sql`${t.status} in ('pending', 'confirmed')`),
  ],
);

export type BookingRow = typeof bookings.$inferSelect;

/**
 * Answers to requests sent with an Idempotency-Key, kept 24 hours: a retry with the same key and
 * body gets the stored answer instead of doing the work again.
 */
export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    scope: text('scope').notNull(),
    key: text('key').notNull(),
    requestHash: text('request_hash').notNull(),
    statusCode: integer('status_code'),
    responseBody: text('response_body'),
    createdAt: createdAt(),
    expiresAt: timestamptz('expires_at').notNull(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.scope, t.key] }), index('idempotency_keys_expires_idx').on(t.expiresAt)],
);
