import { and, count, eq, gt, inArray, isNull, lt, lte, or, sql, type SQL } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import type { Db, DbOrTx } from '../../db/client.ts';
import type { SqlFragment } from '../../db/fragments.ts';
import { statementCache, preparedSql } from '../../db/prepared.ts';
import {
  bookingStatusCounts,
  bookings,
  spaces,
  users,
  BOOKING_STATUSES,
  type BookingRow,
  type BookingStatus,
  type Canceller,
  type SpaceRow,
} from '../../db/schema/index.ts';
import { insertQueuedMailFrom, queuedMailValues, type MailMessage } from '../../infra/mail/outbox.ts';
import { LIVE_STATUSES, MAX_ADVANCE_DAYS } from './bookings.rules.ts';

/** What a booking's answers and rules need of its space. */
export interface BookingSpace {
  id: number;
  name: string;
  city: string;
  address: string;
  ownerId: number;
  cancellationPolicy: SpaceRow['cancellationPolicy'];
}

export interface BookingRecord {
  booking: BookingRow;
  space: BookingSpace;
}

/** Who booked, for the notices a change sends them. */
export interface Booker {
  email: string;
  firstName: string;
  isActive: boolean;
}

const bookingSpace = {
  id: spaces.id,
  name: spaces.name,
  city: spaces.city,
  address: spaces.address,
  ownerId: spaces.ownerId,
  cancellationPolicy: spaces.cancellationPolicy,
};

const live = inArray(bookings.status, [...LIVE_STATUSES]);
/**
 * The same condition with the statuses written into the statement: a prepared statement's generic
 * plan can use a partial index (`where status in ('pending', 'confirmed')`) only when it can see them.
 */
const liveLiteral = sql`${bookings.status} in (${sql.raw(LIVE_STATUSES.map((status) => `'${status}'`).join(', '))})`;

/** The longest buffer of any listing (spaces_buffer_idx answers it at once). */
const longestBuffer = sql`(select max(longest.buffer_minutes) from ${spaces} longest)`;

/** The slot of a booking, as the exclusion constraint and its GiST index see it. */
const slot = sql`tstzrange(${bookings.startTime}, ${bookings.blockedUntil}, '[)')`;

/**
 * What booking needs of a space: its rules, its price and what a booking's answer shows. Only
 * these columns are read (not the description, the search vector, the counters…): a booking
 * reads its space on every request.
 */
const bookingTerms = {
  ...bookingSpace,
  timezone: spaces.timezone,
  pricePerHour: spaces.pricePerHour,
  currency: spaces.currency,
  capacity: spaces.capacity,
  isAvailable: spaces.isAvailable,
  minBookingHours: spaces.minBookingHours,
  maxBookingHours: spaces.maxBookingHours,
  minNoticeHours: spaces.minNoticeHours,
  bufferMinutes: spaces.bufferMinutes,
  operatingHours: spaces.operatingHours,
};

const spaceForBookingFields = {
  space: bookingTerms,
  owner: { id: users.id, email: users.email, firstName: users.firstName, isActive: users.isActive },
};

const ownerOfSpace = eq(users.id, spaces.ownerId);
const liveSpaceById = and(eq(spaces.id, sql.placeholder('spaceId')), isNull(spaces.archivedAt));

const spaceForBookingStatement = statementCache((db: Db) =>
  db.select(spaceForBookingFields).from(spaces).innerJoin(users, ownerOfSpace).where(liveSpaceById).prepare('bookings_space_terms'),
);

/** A live (not archived) space with what booking it needs, and its owner's contact. */
export async function findSpaceForBooking(db: Db, spaceId: number) {
  const [row] = await spaceForBookingStatement(db).execute({ spaceId });
  return row;
}

// The id is taken from the sequence up front, so the owner's notice, which links to the booking,
// can be written by the same statement as the booking.
const nextBookingId = sql<number>`nextval(pg_get_serial_sequence('bookings', 'id'))`.mapWith(Number);
const spaceToBookStatement = statementCache((db: DbOrTx) =>
  db
    .select({ ...spaceForBookingFields, bookingId: nextBookingId })
    .from(spaces)
    .innerJoin(users, ownerOfSpace)
    .where(liveSpaceById)
    .prepare('bookings_space_to_book'),
);

/** findSpaceForBooking, plus the id the new booking will have. */
export async function findSpaceToBook(db: DbOrTx, spaceId: number) {
  const [row] = await spaceToBookStatement(db).execute({ spaceId });
  return row;
}

/** The first key of the two-part advisory lock: which kind of thing is locked (bookings of a space). */
const BOOKING_LOCK_CLASS = 4_242_001;

const p = (name: string) => sql.placeholder(name);

/**
 * The booking and the owner's notice in one statement, so in one round trip and atomically
 * without a transaction of its own. It first takes the space's advisory lock: bookings of one
 * space take turns, because two overlapping inserts would otherwise each wait on the other's
 * exclusion check until PostgreSQL broke the deadlock. The exclusion constraint stays the
 * guarantee (23P01). It inserts nothing, and answers no row, if the space was archived or stopped
 * taking bookings since it was read.
 */
const insertWithNoticeSql = sql`
  with "lock" as (select pg_advisory_xact_lock(${BOOKING_LOCK_CLASS}, ${p('spaceId')}::int)),
  "booked" as (
    insert into ${bookings} ("id", "space_id", "user_id", "start_time", "end_time", "blocked_until", "guests", "purpose",
      "total_price", "currency", "status", "payment_status", "created_at", "updated_at")
    overriding system value
    select ${p('id')}::int, ${p('spaceId')}::int, ${p('userId')}::int, ${p('startTime')}::timestamptz, ${p('endTime')}::timestamptz,
      ${p('blockedUntil')}::timestamptz, ${p('guests')}::int, ${p('purpose')}::text, ${p('totalPrice')}::bigint, ${p('currency')}::text,
      ${p('status')}::text, ${p('paymentStatus')}::text, ${p('now')}::timestamptz, ${p('now')}::timestamptz
    from "lock"
    where exists (
      select 1 from ${spaces} join ${users} on ${users.id} = ${spaces.ownerId}
      where ${spaces.id} = ${p('spaceId')}::int and ${spaces.archivedAt} is null and ${spaces.isAvailable} and ${users.isActive}
    )
    returning "id"
  ),
  "notice" as (${insertQueuedMailFrom(sql`"booked"`)})
  select "id" from "booked"`;

const insertWithNoticeStatement = statementCache((db: DbOrTx) => preparedSql<{ id: number }>(db, 'bookings_insert_with_notice', insertWithNoticeSql));

/** Writes a new booking (its id reserved by findSpaceToBook) and its notice; false if the space stopped taking bookings. */
export async function insertWithNotice(db: DbOrTx, booking: BookingRow, notice: MailMessage): Promise<boolean> {
  const rows = await insertWithNoticeStatement(db).execute({
    id: booking.id,
    spaceId: booking.spaceId,
    userId: booking.userId,
    startTime: booking.startTime.toISOString(),
    endTime: booking.endTime.toISOString(),
    blockedUntil: booking.blockedUntil.toISOString(),
    guests: booking.guests,
    purpose: booking.purpose,
    totalPrice: booking.totalPrice,
    currency: booking.currency,
    status: booking.status,
    paymentStatus: booking.paymentStatus,
    now: booking.createdAt.toISOString(),
    ...queuedMailValues(notice, booking.createdAt),
  });
  return rows.length === 1;
}

export async function findById(db: DbOrTx, id: number): Promise<BookingRecord | undefined> {
  const [row] = await db
    .select({ booking: bookings, space: bookingSpace })
    .from(bookings)
    .innerJoin(spaces, eq(spaces.id, bookings.spaceId))
    .where(eq(bookings.id, id));
  return row;
}

/** A booking with its space and its booker's contact: what a state change needs. */
export async function findWithBooker(db: DbOrTx, id: number): Promise<(BookingRecord & { booker: Booker }) | undefined> {
  const [row] = await db
    .select({ booking: bookings, space: bookingSpace, booker: { email: users.email, firstName: users.firstName, isActive: users.isActive } })
    .from(bookings)
    .innerJoin(spaces, eq(spaces.id, bookings.spaceId))
    .innerJoin(users, eq(users.id, bookings.userId))
    .where(eq(bookings.id, id));
  return row;
}

/** Whose bookings a caller sees: their own, those of their spaces, or all. */
export type Visibility = { kind: 'booker'; userId: number } | { kind: 'owner'; ownerId: number } | { kind: 'all' };

export interface BookingFilters {
  status?: BookingStatus;
  spaceId?: number;
  /** Bookings overlapping [from, to). */
  from?: Date;
  to?: Date;
}

/**
 * A JSON object as text, built by one format() call from each key and its value's JSON text (a
 * filtered list may be planned per request, and PostgreSQL plans one format() with many arguments
 * several times faster than the same text joined with ||). `quoted` values are strings that need
 * no escaping (times), placed between quotes.
 */
type JsonField = [key: string, value: SQL, quoted?: 'quoted'];
function jsonObject(fields: JsonField[]): SQL<string> {
  const template = fields.map(([key, , quoted]) => `"${key}":${quoted ? '"%s"' : '%s'}`).join(',');
  return sql<string>`format(${sql.raw(`'{${template}}'`)}, ${sql.join(
    fields.map(([, value]) => value),
    sql`, `,
  )})`;
}

const json = (value: AnyPgColumn) => sql`to_json(${value})`;
const nullableJson = (value: AnyPgColumn) => sql`coalesce(to_json(${value})::text, 'null')`;
const isoUtc = (value: AnyPgColumn) => sql`iso_utc(${value})`;
const millisecondsBetween = sql`(extract(epoch from date_trunc('milliseconds', ${bookings.endTime}) - date_trunc('milliseconds', ${bookings.startTime})) * 1000)::float8`;

/** The booking's space in its representation: a subquery rather than a join, which is cheaper to plan. */
const spaceJson = sql`(select ${jsonObject([
  ['id', sql`${spaces.id}`],
  ['name', json(spaces.name)],
  ['city', json(spaces.city)],
  ['address', json(spaces.address)],
])} from ${spaces} where ${spaces.id} = ${bookings.spaceId})`;

/**
 * The Booking representation of the API as compact JSON text, built by PostgreSQL (ADR 0008): the
 * bytes toBookingResponse and Fastify's serializer give for the same row (the tests compare them),
 * so the list spares parsing every column into JavaScript values and serializing them back. Times
 * are cut to milliseconds, as the driver reads them; `duration_hours` is Math.round(hours * 100) /
 * 100 in the same double arithmetic; numbers are printed by PostgreSQL's shortest round-trip form,
 * as JavaScript prints them.
 */
const bookingJson = jsonObject([
  ['id', sql`${bookings.id}`],
  ['space_id', sql`${bookings.spaceId}`],
  ['user_id', sql`${bookings.userId}`],
  ['space', spaceJson],
  ['start_time', isoUtc(bookings.startTime), 'quoted'],
  ['end_time', isoUtc(bookings.endTime), 'quoted'],
  ['duration_hours', sql`floor(${millisecondsBetween} / 3600000 * 100 + 0.5) / 100`],
  ['guests', sql`${bookings.guests}`],
  ['purpose', nullableJson(bookings.purpose)],
  ['total_price', sql`${bookings.totalPrice}::float8 / 100`],
  ['currency', json(bookings.currency)],
  ['status', json(bookings.status)],
  ['payment_status', json(bookings.paymentStatus)],
  ['cancellation_reason', nullableJson(bookings.cancellationReason)],
  ['cancelled_by', nullableJson(bookings.cancelledBy)],
  ['created_at', isoUtc(bookings.createdAt), 'quoted'],
  ['updated_at', isoUtc(bookings.updatedAt), 'quoted'],
]);

/**
 * A client's id, a listing's id or a paging number, read through a one-row subquery so that its
 * value is unknown when the statement is planned. It does not change the best plan (an index on
 * (user_id or space_id, start_time, id) read backwards, stopped at the page), but a known value
 * changes its estimate: for a client with 25 bookings the plan looks far cheaper than the generic
 * one (sized for the average client, with a guessed LIMIT), so PostgreSQL would plan the statement
 * again for every request. Hidden, the two cost the same and the generic plan is kept for the
 * connection. An owner's id and the filters stay plain parameters: they do change the best plan
 * (an owner of a few listings is read through them, one of thousands by a scan).
 */
const unplanned = (name: string) => sql`(select ${p(name)}::int)`;

/**
 * A list's shape (whose bookings, which filters) and the values of its placeholders. Lists of one
 * shape share a named statement, parsed once per connection.
 */
function listShape(visibility: Visibility, filters: BookingFilters) {
  const keys: string[] = [visibility.kind];
  const conditions: SQL[] = [];
  const values: Record<string, unknown> = {};
  const add = (key: string | undefined, condition: SQL, value: Record<string, unknown>) => {
    if (key) keys.push(key);
    conditions.push(condition);
    Object.assign(values, value);
  };
  if (visibility.kind === 'booker') add(undefined, sql`${bookings.userId} = ${unplanned('userId')}`, { userId: visibility.userId });
  if (visibility.kind === 'owner')
    add(undefined, sql`${bookings.spaceId} in (select ${spaces.id} from ${spaces} where ${spaces.ownerId} = ${p('ownerId')}::int)`, {
      ownerId: visibility.ownerId,
    });
  if (filters.status) add('status', sql`${bookings.status} = ${p('status')}::text`, { status: filters.status });
  if (filters.spaceId !== undefined) add('space', sql`${bookings.spaceId} = ${unplanned('spaceId')}`, { spaceId: filters.spaceId });
  if (filters.from) add('from', sql`${bookings.endTime} > ${p('from')}::timestamptz`, { from: filters.from.toISOString() });
  if (filters.to) add('to', sql`${bookings.startTime} < ${p('to')}::timestamptz`, { to: filters.to.toISOString() });
  return { name: `bookings_list_${keys.join('_')}`, where: conditions.length > 0 ? sql.join(conditions, sql` and `) : sql`true`, values };
}

/** The page (as JSON texts joined by commas, in the list's order) and the total in one statement. */
function listStatement(db: Db, shape: ReturnType<typeof listShape>) {
  return preparedSql<{ total: number; items: string | null }>(
    db,
    shape.name,
    sql`select
      (select count(*)::int from ${bookings} where ${shape.where}) as "total",
      (select string_agg("page"."json", ',' order by "page"."start_time" desc, "page"."id" desc) from (
        select ${bookings.startTime} as "start_time", ${bookings.id} as "id", ${bookingJson} as "json"
        from ${bookings}
        where ${shape.where}
        order by ${bookings.startTime} desc, ${bookings.id} desc
        limit ${unplanned('limit')} offset ${unplanned('offset')}
      ) "page") as "items"`,
  );
}

const listStatements = new WeakMap<Db, Map<string, ReturnType<typeof listStatement>>>();

/** One page of bookings as JSON text (the items of an array) and the total: one statement, whatever the page size. */
export async function findManyJson(db: Db, visibility: Visibility, filters: BookingFilters, page: { limit: number; offset: number }) {
  const shape = listShape(visibility, filters);
  let cache = listStatements.get(db);
  if (!cache) listStatements.set(db, (cache = new Map<string, ReturnType<typeof listStatement>>()));
  let statement = cache.get(shape.name);
  if (!statement) cache.set(shape.name, (statement = listStatement(db, shape)));
  const [row] = await statement.execute({ ...shape.values, limit: page.limit, offset: page.offset });
  return { items: row?.items ?? '', total: row?.total ?? 0 };
}

export interface Transition {
  from: BookingStatus[];
  to: BookingStatus;
  /** Only if the booking has not started by then (a booker's cancellation, an approval). */
  startsAfter?: Date;
  /** Only if it was requested after this (an approval within the pending time to live). */
  createdAfter?: Date;
  /** Only if it has ended by then (completion). */
  endedBy?: Date;
  set?: Partial<Pick<BookingRow, 'cancellationReason' | 'cancelledBy' | 'paymentStatus' | 'confirmedAt'>>;
}

/**
 * Moves a booking between states in one conditional statement: of two concurrent transitions of
 * one booking, only the first to commit finds it in the expected state.
 */
export async function transition(db: DbOrTx, id: number, change: Transition, now: Date): Promise<BookingRow | undefined> {
  const conditions = [eq(bookings.id, id), inArray(bookings.status, change.from)];
  if (change.startsAfter) conditions.push(gt(bookings.startTime, change.startsAfter));
  if (change.createdAfter) conditions.push(gt(bookings.createdAt, change.createdAfter));
  if (change.endedBy) conditions.push(lte(bookings.endTime, change.endedBy));
  const [row] = await db
    .update(bookings)
    .set({ ...change.set, status: change.to, version: sql`${bookings.version} + 1`, updatedAt: now })
    .where(and(...conditions))
    .returning();
  return row;
}

/** Live bookings whose slots overlap [from, until): what stands in the way of a new booking. */
export async function findOverlapping(db: DbOrTx, spaceId: number, from: Date, until: Date) {
  return db
    .select({ startTime: bookings.startTime, endTime: bookings.endTime, blockedUntil: bookings.blockedUntil })
    .from(bookings)
    .where(and(eq(bookings.spaceId, spaceId), live, sql`${slot} && tstzrange(${from.toISOString()}::timestamptz, ${until.toISOString()}::timestamptz, '[)')`))
    .orderBy(bookings.startTime);
}

export interface SweepRow {
  booking: BookingRow;
  spaceName: string;
  cancellationPolicy: SpaceRow['cancellationPolicy'];
  clientEmail: string;
  clientFirstName: string;
}

/**
 * Changes every live booking matching `due` in one statement over rows locked with SKIP LOCKED,
 * so sweepers in several processes never take the same booking, and a booking being approved
 * right now is simply left for the next sweep.
 */
async function sweep(db: DbOrTx, due: SQL, change: { to: BookingStatus; reason?: string; by?: Canceller }, now: Date, limit: number): Promise<SweepRow[]> {
  const claimed = db.select({ id: bookings.id }).from(bookings).where(due).orderBy(bookings.id).limit(limit).for('update', { skipLocked: true });
  const changed = await db
    .update(bookings)
    .set({
      status: change.to,
      version: sql`${bookings.version} + 1`,
      updatedAt: now,
      ...(change.reason ? { cancellationReason: change.reason, cancelledBy: change.by } : {}),
    })
    .where(inArray(bookings.id, claimed))
    .returning();
  if (changed.length === 0) return [];
  const details = await db
    .select({
      id: bookings.id,
      spaceName: spaces.name,
      cancellationPolicy: spaces.cancellationPolicy,
      clientEmail: users.email,
      clientFirstName: users.firstName,
    })
    .from(bookings)
    .innerJoin(spaces, eq(spaces.id, bookings.spaceId))
    .innerJoin(users, eq(users.id, bookings.userId))
    .where(
      inArray(
        bookings.id,
        changed.map((row) => row.id),
      ),
    );
  const byId = new Map(details.map(({ id, ...detail }) => [id, detail]));
  return changed.map((booking) => ({ booking, ...byId.get(booking.id)! }));
}

/** Pending bookings not approved within the TTL or by their start: cancelled as expired. */
export const expirePending = (db: DbOrTx, now: Date, ttlHours: number, limit = 500) =>
  sweep(
    db,
    and(eq(bookings.status, 'pending'), or(lte(bookings.startTime, now), lte(bookings.createdAt, new Date(now.getTime() - ttlHours * 3_600_000))))!,
    { to: 'cancelled', reason: 'expired', by: 'system' },
    now,
    limit,
  );

/** Confirmed bookings still unpaid `ttlHours` after their approval, or at their start: cancelled as unpaid. */
export const cancelUnpaid = (db: DbOrTx, now: Date, ttlHours: number, limit = 500) =>
  sweep(
    db,
    and(
      eq(bookings.status, 'confirmed'),
      eq(bookings.paymentStatus, 'unpaid'),
      or(lte(bookings.startTime, now), lte(bookings.confirmedAt, new Date(now.getTime() - ttlHours * 3_600_000))),
    )!,
    { to: 'cancelled', reason: 'unpaid', by: 'system' },
    now,
    limit,
  );

/** Confirmed bookings whose time is over: completed. */
export const completeEnded = (db: DbOrTx, now: Date, limit = 500) =>
  sweep(db, and(eq(bookings.status, 'confirmed'), lte(bookings.endTime, now))!, { to: 'completed' }, now, limit);

/** Cancels the live bookings of a space (or of a user, or at a user's spaces) that have not ended. */
export async function cancelUpcoming(
  db: DbOrTx,
  scope: { spaceId: number } | { userId: number } | { ownerId: number },
  change: { reason: string; by: Canceller },
  now: Date,
): Promise<SweepRow[]> {
  const where =
    'spaceId' in scope
      ? eq(bookings.spaceId, scope.spaceId)
      : 'userId' in scope
        ? eq(bookings.userId, scope.userId)
        : inArray(bookings.spaceId, db.select({ id: spaces.id }).from(spaces).where(eq(spaces.ownerId, scope.ownerId)));
  return sweep(db, and(where, live, gt(bookings.endTime, now))!, { to: 'cancelled', ...change }, now, 100_000);
}

export async function countUpcoming(db: DbOrTx, spaceId: number, now: Date): Promise<number> {
  const [row] = await db
    .select({ value: count() })
    .from(bookings)
    .where(and(eq(bookings.spaceId, spaceId), live, gt(bookings.endTime, now)));
  return row?.value ?? 0;
}

/** A space's live bookings ending after `since`, for its calendar feed. */
export async function findLiveForFeed(db: DbOrTx, spaceId: number, since: Date, limit: number): Promise<BookingRow[]> {
  return db
    .select()
    .from(bookings)
    .where(and(eq(bookings.spaceId, spaceId), live, gt(bookings.endTime, since)))
    .orderBy(bookings.startTime, bookings.id)
    .limit(limit);
}

/**
 * The spaces list's `available_from` + `available_to`, the bookings' half: listings bookable by
 * their own rules for that whole window — available, within their notice and the booking
 * horizon, long enough for their limits — and with no live booking whose slot touches the window
 * plus the listing's buffer. (Whether the listing is open then is the spaces module's half.)
 *
 * The conflict test is split so that PostgreSQL answers it with two hashed sets per statement
 * instead of one probe per listing: a live booking overlapping the window itself conflicts
 * whatever the buffer; one starting at or after the window's end conflicts only within the
 * listing's buffer, so only listings with a booking starting within the longest buffer of any
 * listing are probed one by one. Both sets come
 * from bookings_live_slot_idx (slots by time alone; the exclusion constraint's index leads with
 * the space, so it cannot prune a search over every space by time).
 */
export function bookableWindow(window: { from: Date; to: Date; now: Date }): SqlFragment {
  const from = p('windowFrom');
  const to = p('windowTo');
  const now = p('windowNow');
  return {
    key: 'window',
    values: { windowFrom: window.from.toISOString(), windowTo: window.to.toISOString(), windowNow: window.now.toISOString() },
    sql: sql`${spaces.isAvailable}
      and ${from}::timestamptz > ${now}::timestamptz
      and ${from}::timestamptz >= ${now}::timestamptz + make_interval(hours => ${spaces.minNoticeHours})
      and ${from}::timestamptz <= ${now}::timestamptz + make_interval(days => ${MAX_ADVANCE_DAYS})
      and ${to}::timestamptz - ${from}::timestamptz between make_interval(hours => ${spaces.minBookingHours}) and make_interval(hours => ${spaces.maxBookingHours})
      and ${spaces.id} not in (
        select ${bookings.spaceId} from ${bookings}
        where ${liveLiteral} and ${slot} && tstzrange(${from}::timestamptz, ${to}::timestamptz, '[)')
      )
      and (
        ${spaces.bufferMinutes} = 0
        or ${spaces.id} not in (
          select ${bookings.spaceId} from ${bookings}
          where ${liveLiteral} and ${bookings.startTime} >= ${to}::timestamptz
            and ${slot} && tstzrange(${to}::timestamptz, ${to}::timestamptz + make_interval(mins => ${longestBuffer}), '[)')
        )
        or not exists (
          select 1 from ${bookings}
          where ${bookings.spaceId} = ${spaces.id} and ${liveLiteral}
            and ${bookings.startTime} >= ${to}::timestamptz
            and ${bookings.startTime} < ${to}::timestamptz + make_interval(mins => ${spaces.bufferMinutes})
        )
      )`,
  };
}

/** Live bookings of a space overlapping a window, for its availability and calendar. */
export async function findLiveInWindow(db: DbOrTx, spaceId: number, from: Date, to: Date) {
  return db
    .select()
    .from(bookings)
    .where(and(eq(bookings.spaceId, spaceId), live, lt(bookings.startTime, to), gt(bookings.blockedUntil, from)))
    .orderBy(bookings.startTime, bookings.id);
}

/** Whether the guest has a completed booking of the space (what entitles them to review it). */
export async function hasCompleted(db: DbOrTx, userId: number, spaceId: number): Promise<boolean> {
  const [row] = await db
    .select({ id: bookings.id })
    .from(bookings)
    .where(and(eq(bookings.userId, userId), eq(bookings.spaceId, spaceId), eq(bookings.status, 'completed')))
    .limit(1);
  return row !== undefined;
}

/** The trigger-kept counters (ADR 0016) summed over their shards: a few dozen rows, however many bookings. */
const statusSums = Object.fromEntries(BOOKING_STATUSES.map((status) => [status, sql<number>`coalesce(sum(${bookingStatusCounts[status]}), 0)::int`])) as Record<
  BookingStatus,
  SQL<number>
>;

const countersStatement = statementCache((db: Db) => db.select(statusSums).from(bookingStatusCounts).prepare('bookings_status_counts'));

/** The same sums as one JSON object (`{"pending": 3, …}`), for a statement of several modules' figures. */
export const statusCountsJson = sql`(select json_build_object(${sql.join(
  BOOKING_STATUSES.map((status) => sql`${status}::text, ${statusSums[status]}`),
  sql`, `,
)}) from ${bookingStatusCounts})`;

export async function countByStatus(db: Db, ownerId: number | undefined): Promise<Map<BookingStatus, number>> {
  if (ownerId === undefined) {
    const [row] = await countersStatement(db).execute();
    return new Map(Object.entries(row ?? {}).map(([status, value]) => [status as BookingStatus, Number(value)]));
  }
  // An owner's counts are bounded by their spaces' bookings: counted, through their spaces.
  const rows = await db
    .select({ status: bookings.status, value: count() })
    .from(bookings)
    .innerJoin(spaces, eq(spaces.id, bookings.spaceId))
    .where(eq(spaces.ownerId, ownerId))
    .groupBy(bookings.status);
  return new Map(rows.map((row) => [row.status, row.value]));
}
