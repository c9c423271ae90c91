import { and, count, desc, eq, inArray, isNull, lte, sql, type SQL } from 'drizzle-orm';
import type { Db, DbOrTx } from '../../db/client.ts';
import { preparedSql, statementCache } from '../../db/prepared.ts';
import {
  bookings,
  mailOutbox,
  paymentMethods,
  payments,
  providerEvents,
  receiptCounters,
  revenueMonths,
  spaces,
  users,
  type PaymentMethodRow,
  type PaymentRow,
  type PaymentState,
} from '../../db/schema/index.ts';
import { insertQueuedMailFrom, queuedMailValues, type MailMessage } from '../../infra/mail/outbox.ts';

const p = (name: string) => sql.placeholder(name);

/** What a payment's answers, rules and mails need of its booking, space and payer. */
export interface PaymentContext {
  payment: PaymentRow;
  booking: { id: number; status: string; paymentStatus: string; startTime: Date; endTime: Date; totalPrice: number; currency: string; createdAt: Date };
  space: { id: number; name: string; address: string; city: string; timezone: string; ownerId: number; cancellationPolicy: string };
  payer: { id: number; email: string; firstName: string; lastName: string; isActive: boolean };
}

const contextFields = {
  payment: payments,
  booking: {
    id: bookings.id,
    status: bookings.status,
    paymentStatus: bookings.paymentStatus,
    startTime: bookings.startTime,
    endTime: bookings.endTime,
    totalPrice: bookings.totalPrice,
    currency: bookings.currency,
    createdAt: bookings.createdAt,
  },
  space: {
    id: spaces.id,
    name: spaces.name,
    address: spaces.address,
    city: spaces.city,
    timezone: spaces.timezone,
    ownerId: spaces.ownerId,
    cancellationPolicy: spaces.cancellationPolicy,
  },
  payer: { id: users.id, email: users.email, firstName: users.firstName, lastName: users.lastName, isActive: users.isActive },
};

const withContext = (db: DbOrTx) =>
  db
    .select(contextFields)
    .from(payments)
    .innerJoin(bookings, eq(bookings.id, payments.bookingId))
    .innerJoin(spaces, eq(spaces.id, bookings.spaceId))
    .innerJoin(users, eq(users.id, payments.userId));

export async function findById(db: DbOrTx, id: number): Promise<PaymentContext | undefined> {
  const [row] = await withContext(db).where(eq(payments.id, id));
  return row;
}

const byCheckoutStatement = statementCache((db: Db) =>
  withContext(db)
    .where(and(eq(payments.provider, sql`${p('provider')}::text`), eq(payments.checkoutRequestId, sql`${p('checkoutRequestId')}::text`)))
    .prepare('payments_by_checkout'),
);

/** The payment a provider's message names (its CheckoutRequestID or PaymentIntent id). */
export async function findByCheckout(db: Db, provider: string, checkoutRequestId: string): Promise<PaymentContext | undefined> {
  const [row] = await byCheckoutStatement(db).execute({ provider, checkoutRequestId });
  return row;
}

export async function findByRefundReference(db: DbOrTx, reference: string): Promise<PaymentContext | undefined> {
  const [row] = await withContext(db).where(eq(payments.refundReference, reference));
  return row;
}

const bookingToPayStatement = statementCache((db: Db) =>
  db
    .select({
      id: bookings.id,
      userId: bookings.userId,
      status: bookings.status,
      paymentStatus: bookings.paymentStatus,
      totalPrice: bookings.totalPrice,
      currency: bookings.currency,
    })
    .from(bookings)
    .where(eq(bookings.id, sql`${p('bookingId')}::int`))
    .prepare('payments_booking_to_pay'),
);

/** What settling a payment needs to know of its booking (creation reads it in startPendingSql). */
export async function findBookingToPay(db: Db, bookingId: number) {
  const [row] = await bookingToPayStatement(db).execute({ bookingId });
  return row;
}

/** A booking's payment that took the money (completed), if any. */
export async function findCompletedForBooking(db: DbOrTx, bookingId: number): Promise<PaymentRow | undefined> {
  const [row] = await db
    .select()
    .from(payments)
    .where(and(eq(payments.bookingId, bookingId), eq(payments.status, 'completed')));
  return row;
}

export type Visibility = { kind: 'payer'; userId: number } | { kind: 'owner'; ownerId: number } | { kind: 'all' };

export interface PaymentFilters {
  status?: PaymentState;
  bookingId?: number;
}

export async function findMany(db: DbOrTx, visibility: Visibility, filters: PaymentFilters, page: { limit: number; offset: number }) {
  const conditions: SQL[] = [];
  if (visibility.kind === 'payer') conditions.push(eq(payments.userId, visibility.userId));
  if (visibility.kind === 'owner') conditions.push(eq(spaces.ownerId, visibility.ownerId));
  if (filters.status) conditions.push(eq(payments.status, filters.status));
  if (filters.bookingId !== undefined) conditions.push(eq(payments.bookingId, filters.bookingId));
  const where = conditions.length > 0 ? and(...conditions) : undefined;
  const rows = await db
    .select({ payment: payments })
    .from(payments)
    .innerJoin(bookings, eq(bookings.id, payments.bookingId))
    .innerJoin(spaces, eq(spaces.id, bookings.spaceId))
    .where(where)
    .orderBy(desc(payments.createdAt), desc(payments.id))
    .limit(page.limit)
    .offset(page.offset);
  const [total] = await db
    .select({ value: count() })
    .from(payments)
    .innerJoin(bookings, eq(bookings.id, payments.bookingId))
    .innerJoin(spaces, eq(spaces.id, bookings.spaceId))
    .where(where);
  return { rows: rows.map((row) => row.payment), total: total?.value ?? 0 };
}

/** The booking a payment is asked for, as the start statement found it (before its own change). */
export interface BookingToPay {
  id: number;
  userId: number;
  totalPrice: number;
  currency: string;
}

/**
 * Reads the booking and, when `proceed` and the booking may be paid this way, marks it pending and
 * inserts the pending payment: one round trip for what took two. The conditions of the update are
 * the service's own checks (payments.policy.ts canPay, mpesaTakes below, confirmed and unpaid), so
 * a payment is only written when the service would let it through; the service then judges the
 * booking as read and names what refused it. The update is keyed by the read row, so the booking
 * id is bound once, and it re-checks the booking's state under its row lock: two attempts at once
 * take turns, and the second finds it no longer unpaid and inserts nothing (the partial unique
 * index stands behind it).
 */
const startPendingSql = sql`
  with "target" as (
    select "id", "user_id", "total_price", "currency" from ${bookings} where "id" = ${p('bookingId')}::int
  ), "booking" as (
    update ${bookings} set "payment_status" = 'pending', "updated_at" = ${p('now')}::timestamptz
    where "id" = (select "id" from "target") and ${p('proceed')}::boolean
      and "user_id" = ${p('userId')}::int and "status" = 'confirmed' and "payment_status" = 'unpaid'
      and (${p('method')}::text <> 'mpesa' or ("currency" = 'KES' and "total_price" % 100 = 0))
    returning "id", "total_price", "currency"
  ), "payment" as (
    insert into ${payments} ("booking_id", "user_id", "amount", "currency", "payment_method", "provider", "status", "phone_number", "next_query_at", "created_at", "updated_at")
    select "id", ${p('userId')}::int, "total_price", "currency", ${p('method')}::text, ${p('provider')}::text, 'pending', ${p('phone')}::text,
      ${p('nextQueryAt')}::timestamptz, ${p('now')}::timestamptz, ${p('now')}::timestamptz
    from "booking"
    returning "id"
  )
  select "id", "user_id", "total_price"::text, "currency", (select "id" from "payment") as "payment_id" from "target"`;

const startPendingStatement = statementCache((db: DbOrTx) =>
  preparedSql<{ id: number; user_id: number; total_price: string; currency: string; payment_id: number | null }>(db, 'payments_start_pending', startPendingSql),
);

/** Whether M-Pesa can take this amount: whole Kenyan shillings (startPendingSql says the same). */
export const mpesaTakes = (booking: Pick<BookingToPay, 'currency' | 'totalPrice'>) => booking.currency === 'KES' && booking.totalPrice % 100 === 0;

/**
 * The booking as it was read, and the id of the pending payment written for it (none when
 * `proceed` is false or the booking may not be paid so); undefined when there is no such booking.
 */
export async function startPending(
  db: DbOrTx,
  values: {
    bookingId: number;
    userId: number;
    method: string;
    provider: string;
    phone: string | null;
    nextQueryAt: Date | null;
    now: Date;
    proceed: boolean;
  },
): Promise<{ booking: BookingToPay; paymentId: number | undefined } | undefined> {
  const [row] = await startPendingStatement(db).execute({
    bookingId: values.bookingId,
    userId: values.userId,
    method: values.method,
    provider: values.provider,
    phone: values.phone,
    nextQueryAt: values.nextQueryAt?.toISOString() ?? null,
    now: values.now.toISOString(),
    proceed: values.proceed,
  });
  if (!row) return undefined;
  return {
    booking: {
      id: row.id,
      userId: row.user_id,
      totalPrice: Number(row.total_price),
      currency: row.currency,
    },
    paymentId: row.payment_id ?? undefined,
  };
}

const setCheckoutStatement = statementCache((db: Db) =>
  db
    .update(payments)
    .set({ checkoutRequestId: sql`${p('checkoutRequestId')}::text`, updatedAt: sql`${p('now')}::timestamptz` })
    .where(and(eq(payments.id, sql`${p('id')}::int`), eq(payments.status, 'pending')))
    .returning()
    .prepare('payments_set_checkout'),
);

/** Notes the provider's reference of a payment it accepted (still pending); the payment as it is then. */
export async function setCheckout(db: Db, id: number, checkoutRequestId: string, now: Date): Promise<PaymentRow | undefined> {
  const [row] = await setCheckoutStatement(db).execute({ id, checkoutRequestId, now: now.toISOString() });
  return row;
}

/**
 * The M-Pesa receipt of a payment the STK query completed (the query does not carry it), from a
 * callback that came after; only ever fills an empty value.
 */
export async function fillTransactionId(db: DbOrTx, id: number, transactionId: string, now: Date): Promise<boolean> {
  const rows = await db
    .update(payments)
    .set({ transactionId, updatedAt: now })
    .where(and(eq(payments.id, id), inArray(payments.status, ['completed', 'refunded']), isNull(payments.transactionId)))
    .returning({ id: payments.id });
  return rows.length === 1;
}

/** Where a receipt mail says `{receipt_number}`, the number the statement just took. */
export const RECEIPT_NUMBER_SLOT = '{receipt_number}';
const withReceiptNumber = (value: SQL) => sql`replace(${value}, ${sql.raw(`'${RECEIPT_NUMBER_SLOT}'`)}, "done"."receipt_number")`;

/** One payment to complete: its id, the provider's transaction id, when, and its receipt mail. */
export interface Completion {
  id: number;
  transactionId: string | null;
  now: Date;
  mail: MailMessage;
}

/** The mail columns as `queuedMailValues` names them (`mail_<column>`), each carried per payment. */
const MAIL_VALUES = Object.keys(queuedMailValues({ to: '', subject: '', text: '' }, new Date(0)));
const mailColumn = (key: string) => key.slice('mail_'.length) as keyof typeof mailOutbox.$inferInsert;

/**
 * pending → completed for a batch of payments of one receipt year, in one statement (atomic, one
 * round trip): each gets the next receipt number of the year in the order of its id, its booking
 * marked paid and the payer's receipt mail queued. Payments no longer pending are left alone and
 * take no number; their rows are locked (in id order) before the counter, so a completion racing
 * this one (a callback and the query sweep) waits, then finds it completed.
 *
 * The year's `receipt_counters` row is what every completion queues on (numbers without gaps
 * cannot come from a sequence, which skips on rollback), and its lock lasts until the commit. So
 * the bookings are marked paid before the counter is touched (`paid` feeds `counter`), one lock
 * hold numbers the whole batch, and what runs under it is the counter, the payment rows and the
 * mail rows.
 */
const completeSql = sql`
  with "input" as (
    select * from unnest(${p('ids')}::int[], ${p('transactionIds')}::text[], ${p('nows')}::timestamptz[],
      ${sql.join(
        MAIL_VALUES.map((key) => sql`${p(key)}::${sql.raw(mailOutbox[mailColumn(key)].getSQLType())}[]`),
        sql`, `,
      )})
      as "i"("id", "transaction_id", "now", ${sql.join(
        MAIL_VALUES.map((key) => sql.identifier(key)),
        sql`, `,
      )})
  ),
  "target" as (
    select "id", "booking_id" from ${payments} where "id" in (select "id" from "input") and "status" = 'pending' order by "id" for update
  ),
  "paid" as (
    update ${bookings} set "payment_status" = 'paid', "updated_at" = "input"."now"
    from "target" join "input" on "input"."id" = "target"."id"
    where ${bookings}."id" = "target"."booking_id" and ${bookings}."payment_status" = 'pending'
    returning ${bookings}."id"
  ),
  "numbered" as (
    select "target"."id", row_number() over (order by "target"."id") as "n", count(*) over () as "total"
    from "target" cross join (select count(*) from "paid") as "bookings_first"
  ),
  "counter" as (
    insert into ${receiptCounters} ("year", "last") select ${p('year')}::int, count(*) from "numbered" having count(*) > 0
    on conflict ("year") do update set "last" = ${receiptCounters}."last" + excluded."last"
    returning "last"
  ),
  "done" as (
    update ${payments} set "status" = 'completed', "transaction_id" = coalesce("input"."transaction_id", ${payments}."transaction_id"),
      "receipt_number" = 'RCP-' || ${p('year')}::int || '-' || case when "number"."value" < 1000000 then lpad("number"."value"::text, 6, '0') else "number"."value"::text end,
      "completed_at" = "input"."now", "updated_at" = "input"."now", "next_query_at" = null, "failure_reason" = null
    from "numbered" cross join "counter" cross join lateral (select "counter"."last" - "numbered"."total" + "numbered"."n" as "value") as "number"
      join "input" on true
    where ${payments}."id" = "numbered"."id" and "input"."id" = "numbered"."id"
    returning ${payments}."id", ${payments}."booking_id", ${payments}."receipt_number"
  ),
  "receipt_mail" as (${insertQueuedMailFrom(
    sql`"done" join "input" on "input"."id" = "done"."id"`,
    Object.fromEntries(
      MAIL_VALUES.map((key) => {
        const value = sql`"input".${sql.identifier(key)}`;
        const column = mailColumn(key);
        const filled =
          column === 'subject' || column === 'textBody'
            ? withReceiptNumber(value)
            : column === 'attachments'
              ? sql`${withReceiptNumber(sql`${value}::text`)}::jsonb`
              : value;
        return [column, () => filled];
      }),
    ),
  )})
  select "id", "receipt_number" from "done"`;

const completeStatement = statementCache((db: DbOrTx) => preparedSql<{ id: number; receipt_number: string }>(db, 'payments_complete', completeSql));

/**
 * Completes the payments given (distinct ids, one receipt year); answers those this statement
 * completed, with their receipt numbers.
 */
export async function completeBatch(db: DbOrTx, year: number, batch: Completion[]): Promise<Map<number, string>> {
  const mails = batch.map((item) => queuedMailValues(item.mail, item.now));
  const rows = await completeStatement(db).execute({
    year,
    ids: batch.map((item) => item.id),
    transactionIds: batch.map((item) => item.transactionId),
    nows: batch.map((item) => item.now.toISOString()),
    ...Object.fromEntries(MAIL_VALUES.map((key) => [key, mails.map((values) => values[key] ?? null)])),
  });
  return new Map(rows.map((row) => [row.id, row.receipt_number]));
}

/** pending → failed with its reason, and the booking back to unpaid so the guest may try again. */
const failSql = sql`
  with "failed" as (
    update ${payments} set "status" = 'failed', "failure_reason" = ${p('reason')}::text, "updated_at" = ${p('now')}::timestamptz, "next_query_at" = null
    where "id" = ${p('id')}::int and "status" = 'pending'
    returning "id", "booking_id"
  ),
  "unpaid" as (
    update ${bookings} set "payment_status" = 'unpaid', "updated_at" = ${p('now')}::timestamptz
    from "failed" where ${bookings}."id" = "failed"."booking_id" and ${bookings}."payment_status" = 'pending'
    returning ${bookings}."id"
  )
  select "id" from "failed"`;

const failStatement = statementCache((db: DbOrTx) => preparedSql<{ id: number }>(db, 'payments_fail', failSql));

export async function fail(db: DbOrTx, id: number, reason: string, now: Date): Promise<boolean> {
  const rows = await failStatement(db).execute({ id, reason: reason.slice(0, 500), now: now.toISOString() });
  return rows.length === 1;
}

/**
 * Pending M-Pesa payments due for an STK query, claimed with SKIP LOCKED and pushed back by
 * `retryAfterMs`, so sweepers in several processes never ask about the same payment at once.
 */
export async function claimDueQueries(db: DbOrTx, now: Date, retryAfterMs: number, limit = 50): Promise<PaymentRow[]> {
  const due = db
    .select({ id: payments.id })
    .from(payments)
    .where(and(eq(payments.status, 'pending'), lte(payments.nextQueryAt, now)))
    .orderBy(payments.nextQueryAt)
    .limit(limit)
    .for('update', { skipLocked: true });
  return db
    .update(payments)
    .set({ nextQueryAt: new Date(now.getTime() + retryAfterMs), queryAttempts: sql`${payments.queryAttempts} + 1` })
    .where(inArray(payments.id, due))
    .returning();
}

/** Fails a booking's pending cash payment (its booking was cancelled), and the booking is unpaid again. */
export async function failPendingCash(db: DbOrTx, bookingId: number, reason: string, now: Date): Promise<void> {
  const [pending] = await db
    .select({ id: payments.id })
    .from(payments)
    .where(and(eq(payments.bookingId, bookingId), eq(payments.status, 'pending'), eq(payments.method, 'cash')));
  if (pending) await fail(db, pending.id, reason, now);
}

/** Puts off the sweep's next look at a pending payment until `at`. */
export async function deferQuery(db: DbOrTx, id: number, at: Date): Promise<void> {
  await db
    .update(payments)
    .set({ nextQueryAt: at })
    .where(and(eq(payments.id, id), eq(payments.status, 'pending')));
}

/** Marks a completed payment's refund as owed (once): what is due, and why. */
export async function markRefundDue(db: DbOrTx, id: number, amount: number, reason: string, now: Date): Promise<PaymentRow | undefined> {
  const [row] = await db
    .update(payments)
    .set({ refundState: 'due', refundDue: amount, refundReason: reason, refundNextAttemptAt: now, updatedAt: now })
    .where(and(eq(payments.id, id), eq(payments.status, 'completed'), sql`${payments.refundState} is null`))
    .returning();
  return row;
}

/** Claims an owed refund for one attempt (SKIP LOCKED, leased until `leaseUntil`). */
export async function claimDueRefunds(db: DbOrTx, now: Date, leaseUntil: Date, filter: { id?: number } = {}, limit = 50): Promise<PaymentRow[]> {
  const conditions = [eq(payments.refundState, 'due'), lte(payments.refundNextAttemptAt, now)];
  if (filter.id !== undefined) conditions.push(eq(payments.id, filter.id));
  const due = db
    .select({ id: payments.id })
    .from(payments)
    .where(and(...conditions))
    .orderBy(payments.refundNextAttemptAt)
    .limit(limit)
    .for('update', { skipLocked: true });
  return db
    .update(payments)
    .set({ refundNextAttemptAt: leaseUntil, refundAttempts: sql`${payments.refundAttempts} + 1` })
    .where(inArray(payments.id, due))
    .returning();
}

/** The provider took the refund and will report later (a Daraja reversal). */
export async function markRefundSent(db: DbOrTx, id: number, reference: string, now: Date): Promise<boolean> {
  const rows = await db
    .update(payments)
    .set({ refundState: 'pending', refundReference: reference, refundError: null, updatedAt: now })
    .where(and(eq(payments.id, id), eq(payments.refundState, 'due')))
    .returning({ id: payments.id });
  return rows.length === 1;
}

/** A refund attempt failed: it stays owed, retried after `retryAt`. */
export async function markRefundFailed(db: DbOrTx, id: number, error: string, retryAt: Date, now: Date): Promise<void> {
  await db
    .update(payments)
    .set({ refundState: 'due', refundError: error.slice(0, 500), refundNextAttemptAt: retryAt, updatedAt: now })
    .where(and(eq(payments.id, id), inArray(payments.refundState, ['due', 'pending'])));
}

/**
 * The refund is done: the payment `refunded` with what came back, and its booking `refunded`,
 * in one statement; a repeated report finds nothing owed and changes nothing.
 */
const refundedSql = sql`
  with "done" as (
    update ${payments} set "status" = 'refunded', "refunded_amount" = "refund_due", "refund_state" = 'completed',
      "refund_reference" = coalesce(${p('reference')}::text, "refund_reference"), "refund_error" = null,
      "refunded_at" = ${p('now')}::timestamptz, "updated_at" = ${p('now')}::timestamptz
    where "id" = ${p('id')}::int and "status" = 'completed' and "refund_state" in ('due', 'pending')
    returning "id", "booking_id"
  ),
  "booking" as (
    update ${bookings} set "payment_status" = 'refunded', "updated_at" = ${p('now')}::timestamptz
    from "done" where ${bookings}."id" = "done"."booking_id"
    returning ${bookings}."id"
  )
  select "id" from "done"`;

const refundedStatement = statementCache((db: DbOrTx) => preparedSql<{ id: number }>(db, 'payments_refunded', refundedSql));

export async function markRefunded(db: DbOrTx, id: number, reference: string | null, now: Date): Promise<boolean> {
  const rows = await refundedStatement(db).execute({ id, reference, now: now.toISOString() });
  return rows.length === 1;
}

export async function eventSeen(db: DbOrTx, provider: string, eventId: string): Promise<boolean> {
  const [row] = await db
    .select({ eventId: providerEvents.eventId })
    .from(providerEvents)
    .where(and(eq(providerEvents.provider, provider), eq(providerEvents.eventId, eventId)));
  return row !== undefined;
}

/** Records a provider event id; false when it was seen before (a replay). */
export async function rememberEvent(db: DbOrTx, provider: string, eventId: string, type: string, now: Date): Promise<boolean> {
  const rows = await db
    .insert(providerEvents)
    .values({ provider, eventId, type, receivedAt: now })
    .onConflictDoNothing()
    .returning({ eventId: providerEvents.eventId });
  return rows.length === 1;
}

/** Completed payments minus refunds, per currency, largest first (minor units). */
export async function revenueByCurrency(db: DbOrTx, ownerId: number | undefined) {
  const rows = await db
    .select({ currency: payments.currency, total: sql<string>`sum(${payments.amount} - ${payments.refundedAmount})` })
    .from(payments)
    .innerJoin(bookings, eq(bookings.id, payments.bookingId))
    .innerJoin(spaces, eq(spaces.id, bookings.spaceId))
    .where(and(inArray(payments.status, ['completed', 'refunded']), ownerId === undefined ? undefined : eq(spaces.ownerId, ownerId)))
    .groupBy(payments.currency)
    .orderBy(desc(sql`sum(${payments.amount} - ${payments.refundedAmount})`), payments.currency);
  return rows.map((row) => ({ currency: row.currency, total: Number(row.total) })).filter((row) => row.total > 0);
}

/** Platform revenue per currency and month from the trigger-kept counters (ADR 0013): one JSON array of `{currency, month, total}`, minor units. */
export const revenueMonthsJson = sql`(select coalesce(json_agg(json_build_object('currency', ${revenueMonths.currency},
    'month', to_char(${revenueMonths.month}, 'YYYY-MM'), 'total', ${revenueMonths.amount})
  order by ${revenueMonths.currency}, ${revenueMonths.month}), '[]'::json) from ${revenueMonths})`;

export async function findMethods(db: DbOrTx, userId: number): Promise<PaymentMethodRow[]> {
  return db.select().from(paymentMethods).where(eq(paymentMethods.userId, userId)).orderBy(desc(paymentMethods.isDefault), paymentMethods.id);
}

export async function findMethod(db: DbOrTx, userId: number, id: number): Promise<PaymentMethodRow | undefined> {
  const [row] = await db
    .select()
    .from(paymentMethods)
    .where(and(eq(paymentMethods.id, id), eq(paymentMethods.userId, userId)));
  return row;
}

/** A new saved method; made the default when asked or when it is the payer's first. */
export async function insertMethod(
  db: DbOrTx,
  values: Omit<typeof paymentMethods.$inferInsert, 'id' | 'isDefault'>,
  makeDefault: boolean,
): Promise<PaymentMethodRow> {
  // The payer's methods take turns, so "first one is the default" holds under concurrency.
  await db.execute(sql`select pg_advisory_xact_lock(4242002, ${values.userId}::int)`);
  const [existing] = await db.select({ value: count() }).from(paymentMethods).where(eq(paymentMethods.userId, values.userId));
  const isDefault = makeDefault || (existing?.value ?? 0) === 0;
  if (isDefault)
    await db
      .update(paymentMethods)
      .set({ isDefault: false })
      .where(and(eq(paymentMethods.userId, values.userId), eq(paymentMethods.isDefault, true)));
  const [row] = await db
    .insert(paymentMethods)
    .values({ ...values, isDefault })
    .returning();
  return row!;
}

export async function deleteMethod(db: DbOrTx, userId: number, id: number): Promise<PaymentMethodRow | undefined> {
  const [row] = await db
    .delete(paymentMethods)
    .where(and(eq(paymentMethods.id, id), eq(paymentMethods.userId, userId)))
    .returning();
  if (row?.isDefault) {
    const [next] = await db.select({ id: paymentMethods.id }).from(paymentMethods).where(eq(paymentMethods.userId, userId)).orderBy(paymentMethods.id).limit(1);
    if (next) await db.update(paymentMethods).set({ isDefault: true }).where(eq(paymentMethods.id, next.id));
  }
  return row;
}
