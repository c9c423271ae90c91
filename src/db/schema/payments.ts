import { sql } from 'drizzle-orm';
import { bigint, boolean, check, date, index, integer, pgTable, primaryKey, text, uniqueIndex } from 'drizzle-orm/pg-core';
import { bookings } from './bookings.ts';
import { createdAt, timestamptz, updatedAt } from './columns.ts';
import { users } from './users.ts';
import { isOneOf } from './value-lists.ts';

export const PAYMENT_METHODS = ['mpesa', 'card', 'cash'] as const;
export type PaymentMethod = (typeof PAYMENT_METHODS)[number];
export const PAYMENT_STATES = ['pending', 'completed', 'failed', 'refunded'] as const;
export type PaymentState = (typeof PAYMENT_STATES)[number];
/** Who moved the money: Daraja, Stripe, the simulated stand-in, or nobody (cash, recorded). */
export const PAYMENT_PROVIDERS = ['daraja', 'stripe', 'simulated', 'cash'] as const;
export type PaymentProviderName = (typeof PAYMENT_PROVIDERS)[number];
/** A refund's progress: owed (due, retried by the sweep), sent and awaiting the provider (pending), done. */
export const REFUND_STATES = ['due', 'pending', 'completed'] as const;
export type RefundState = (typeof REFUND_STATES)[number];
export const STORED_METHOD_TYPES = ['mpesa', 'card'] as const;
export type StoredMethodType = (typeof STORED_METHOD_TYPES)[number];

/**
 * One attempt to pay for a booking. Amounts are minor units of `currency`. Every state change is a
 * conditional update from `pending` (or, for refunds, from `completed`), so a late, repeated or
 * reordered provider message never moves a payment backwards.
 */
export const payments = pgTable(
  'payments',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    bookingId: integer('booking_id')
      .notNull()
      .references(() => bookings.id, { onDelete: 'restrict' }),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'restrict' }),
    amount: bigint('amount', { mode: 'number' }).notNull(),
    refundedAmount: bigint('refunded_amount', { mode: 'number' }).notNull().default(0),
    currency: text('currency').notNull(),
    method: text('payment_method').$type<PaymentMethod>().notNull(),
    provider: text('provider').$type<PaymentProviderName>().notNull(),
    status: text('status').$type<PaymentState>().notNull().default('pending'),
    /** M-Pesa: the normalised number the STK prompt went to. */
    phoneNumber: text('phone_number'),
    /** Daraja's CheckoutRequestID, or Stripe's PaymentIntent id: what callbacks and queries name. */
    checkoutRequestId: text('checkout_request_id'),
    /** The M-Pesa receipt or the Stripe charge, once paid. */
    transactionId: text('transaction_id'),
    receiptNumber: text('receipt_number'),
    failureReason: text('failure_reason'),
    /** When the STK query sweep may next ask Daraja about a payment still pending. */
    nextQueryAt: timestamptz('next_query_at'),
    queryAttempts: integer('query_attempts').notNull().default(0),
    refundState: text('refund_state').$type<RefundState>(),
    /** What is owed back (minor units), fixed when the refund is decided. */
    refundDue: bigint('refund_due', { mode: 'number' }),
    refundReason: text('refund_reason'),
    /** Daraja's reversal ConversationID or Stripe's refund id. */
    refundReference: text('refund_reference'),
    refundAttempts: integer('refund_attempts').notNull().default(0),
    refundNextAttemptAt: timestamptz('refund_next_attempt_at'),
    refundError: text('refund_error'),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    completedAt: timestamptz('completed_at'),
    refundedAt: timestamptz('refunded_at'),
  },
  (t) => [
    check('payments_amount', sql`${t.amount} > 0 and ${t.refundedAmount} >= 0 and ${t.refundedAmount} <= ${t.amount}`),
    check('payments_refund_due', sql`${t.refundDue} is null or (${t.refundDue} > 0 and ${t.refundDue} <= ${t.amount})`),
    check('payments_method', isOneOf(t.method, PAYMENT_METHODS)),
    check('payments_provider', isOneOf(t.provider, PAYMENT_PROVIDERS)),
    check('payments_status', isOneOf(t.status, PAYMENT_STATES)),
    check('payments_refund_state', sql`${t.refundState} is null or ${isOneOf(t.refundState, REFUND_STATES)}`),
    check(
      'payments_completed_has_receipt',
      sql`${t.status} not in ('completed', 'refunded') or (${t.receiptNumber} is not null and ${t.completedAt} is not null)`,
    ),
    // One live payment per booking: a second attempt waits until the first has failed.
    uniqueIndex('payments_one_live_per_booking')
      .on(t.bookingId)
      .where(sql`${t.status} in ('pending', 'completed')`),
    uniqueIndex('payments_receipt_number_key').on(t.receiptNumber),
    uniqueIndex('payments_checkout_key').on(t.provider, t.checkoutRequestId),
    index('payments_booking_idx').on(t.bookingId, t.id),
    index('payments_user_created_idx').on(t.userId, t.createdAt, t.id),
    index('payments_created_idx').on(t.createdAt, t.id),
    index('payments_query_due_idx')
      .on(t.nextQueryAt)
      .where(sql`${t.status} = 'pending' and ${t.nextQueryAt} is not null`),
    index('payments_refund_due_idx')
      .on(t.refundNextAttemptAt)
      .where(sql`${t.refundState} = 'due'`),
    index('payments_refund_reference_idx')
      .on(t.refundReference)
      .where(sql`${t.refundReference} is not null`),
    index('payments_completed_at_idx')
      .on(t.completedAt)
      .where(sql`${t.status} in ('completed', 'refunded')`),
  ],
);

export type PaymentRow = typeof payments.$inferSelect;

/**
 * The last receipt number issued per year. Taken in the transaction that completes a payment, so
 * a payment that rolls back gives its number back: numbers are never skipped or reused (a
 * sequence would skip).
 */
export const receiptCounters = pgTable('receipt_counters', {
  year: integer('year').primaryKey(),
  last: integer('last').notNull(),
});

/**
 * Revenue per currency and month (the completion's, in Africa/Nairobi, the platform's time zone):
 * completed payments minus what was refunded of them. Kept by triggers on payments (migration
 * 0011) in the transaction of every change, so the admin stats read a few rows instead of summing
 * every payment; read-only for the application.
 */
export const revenueMonths = pgTable(
  'revenue_months',
  {
    currency: text('currency').notNull(),
    /** The first day of the month. */
    month: date('month', { mode: 'string' }).notNull(),
    /** Minor units of `currency`. */
    amount: bigint('amount', { mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.currency, t.month] })],
);

/** Stripe events already handled, by id: a replayed event changes nothing. */
export const providerEvents = pgTable(
  'provider_events',
  {
    provider: text('provider').notNull(),
    eventId: text('event_id').notNull(),
    type: text('type').notNull(),
    receivedAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.provider, t.eventId] })],
);

/** A payer's saved ways to pay: an M-Pesa number, or a card as the provider's token (never its number). */
export const paymentMethods = pgTable(
  'payment_methods',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    userId: integer('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    type: text('type').$type<StoredMethodType>().notNull(),
    label: text('label').notNull(),
    phoneNumber: text('phone_number'),
    providerToken: text('provider_token'),
    brand: text('brand'),
    last4: text('last4'),
    isDefault: boolean('is_default').notNull().default(false),
    createdAt: createdAt(),
  },
  (t) => [
    check('payment_methods_type', isOneOf(t.type, STORED_METHOD_TYPES)),
    check(
      'payment_methods_shape',
      sql`(${t.type} = 'mpesa' and ${t.phoneNumber} is not null and ${t.providerToken} is null) or (${t.type} = 'card' and ${t.providerToken} is not null and ${t.last4} ~ '^[0-9]{4}$' and ${t.phoneNumber} is null)`,
    ),
    index('payment_methods_user_idx').on(t.userId, t.id),
    uniqueIndex('payment_methods_one_default')
      .on(t.userId)
      .where(sql`${t.isDefault}`),
  ],
);

export type PaymentMethodRow = typeof paymentMethods.$inferSelect;
