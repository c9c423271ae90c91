import type { Db, DbOrTx, Tx } from '../../db/client.ts';
import type { SqlFigure } from '../../db/fragments.ts';
import { BOOKING_STATUSES, type BookingRow, type BookingStatus } from '../../db/schema/index.ts';
import { claimKey, purgeExpiredKeys, rememberAnswer } from '../../infra/idempotency.ts';
import { enqueueMail, type MailMessage } from '../../infra/mail/outbox.ts';
import type { Clock } from '../../shared/clock.ts';
import { retryTransient } from '../../shared/db-errors.ts';
import { badRequest, conflict, forbidden, notFound, type AppError } from '../../shared/errors.ts';
import { runFollowUps, type DomainEvents, type EventHub, type FollowUp } from '../../shared/events.ts';
import { jsonPageOf, pageRequest } from '../../shared/pagination.ts';
import type { Principal } from '../../shared/principal.ts';
import { toBookingResponse } from './bookings.mapper.ts';
import { approvedMail, cancelledMail, expiredMail, newRequestMail, rejectedMail, unpaidMail } from './bookings.mails.ts';
import { canBook, canDecideBooking, canViewBooking, cancellation, cancellerOf, listScope } from './bookings.policy.ts';
import * as repo from './bookings.repository.ts';
import { blockedUntil, bookingProblem, refundQuote, totalPrice } from './bookings.rules.ts';
import type { BookingListQuery, CreateBookingBody } from './bookings.schemas.ts';

export interface BookingsServiceDeps {
  db: Db;
  clock: Clock;
  frontendUrl: string;
  pendingTtlHours: number;
  /** A confirmed booking still unpaid this long after its approval (or at its start) is cancelled. */
  paymentTtlHours: number;
  mailQueued: () => void;
  log: { warn(details: object, message: string): void };
  /** Cancellations and rejections are announced here ('booking.cancelled'), for refunds. */
  events: EventHub;
  /** What a refund of `percent` would give back of what was paid for a booking now (the payments module's answer). */
  refundOf: (bookingId: number, percent: number) => Promise<{ paid: boolean; amountMinor: number }>;
}

export const AVAILABILITY_WINDOW_DAYS = 92;
const IDEMPOTENCY_SCOPE = 'POST /api/bookings';

/**
 * The answer to a booking request as JSON text: serialized once, it is what is sent and, with an
 * Idempotency-Key, what is stored, so a replay is the first answer byte for byte.
 */
export interface CreateResult {
  replayed: boolean;
  json: string;
}

const invalidState = (booking: Pick<BookingRow, 'status'>, action: string) =>
  conflict('invalid_state', `This booking is ${booking.status}; it cannot be ${action}`);

const spaceUnavailable = () => conflict('space_unavailable', 'This space is not taking bookings');

type Loaded = NonNullable<Awaited<ReturnType<typeof repo.findWithBooker>>>;
type Notice = (to: { email: string; firstName: string }, booking: BookingRow, spaceName: string, frontendUrl: string) => MailMessage;

/** A count for every status, 0 where `count` has none. */
const everyStatus = (count: (status: BookingStatus) => number | undefined) =>
  Object.fromEntries(BOOKING_STATUSES.map((status) => [status, count(status) ?? 0])) as Record<BookingStatus, number>;

export function createBookingsService(deps: BookingsServiceDeps) {
  const { db, clock } = deps;
  const ttlMs = deps.pendingTtlHours * 3_600_000;

  /** A booking the caller may see, with its space and booker; else 404 or 403. */
  async function load(actor: Principal, id: number): Promise<Loaded> {
    const record = await repo.findWithBooker(db, id);
    if (!record) throw notFound('Booking');
    if (!canViewBooking(actor.user, record.booking, record.space)) throw forbidden('This booking is not yours to see');
    return record;
  }

  const respond = (record: Loaded, booking: BookingRow) => toBookingResponse({ booking, space: record.space });

  /** The conditional update of a transition; a booking no longer in the expected state is a 409. */
  async function changeState(tx: Tx, record: Loaded, action: string, change: repo.Transition, now: Date): Promise<BookingRow> {
    const row = await repo.transition(tx, record.booking.id, change, now);
    if (row) return row;
    const current = await repo.findById(tx, record.booking.id);
    throw invalidState(current?.booking ?? record.booking, action);
  }

  async function mailBooker(tx: Tx, record: Loaded, booking: BookingRow, build: Notice, now: Date) {
    if (record.booker.isActive) await enqueueMail(tx, build(record.booker, booking, record.space.name, deps.frontendUrl), now);
  }

  const announceCancelled = (tx: Tx, event: DomainEvents['booking.cancelled']) => deps.events.emit(tx, 'booking.cancelled', event);

  /** Everything the host side cancels is refunded in full. */
  const FULL_REFUND = { percent: 100, rule: 'Cancelled by the host or an admin: full refund' };

  /**
   * Runs a committed cancellation's follow-ups (refunds sent to providers), then reads the booking
   * as it is now: subscribers may have changed its payment status in the same transaction too.
   */
  async function settled(record: Loaded, booking: BookingRow, followUps: FollowUp[]) {
    await runFollowUps(followUps, deps.log);
    const current = await repo.findById(db, booking.id);
    return respond(record, current?.booking ?? booking);
  }

  /**
   * Reads the space (reserving the booking's id), applies every rule, and builds the booking, its
   * answer and the owner's notice, all before writing anything.
   */
  async function planBooking(handle: DbOrTx, actor: Principal, input: CreateBookingBody, now: Date) {
    const start = new Date(input.start_time);
    const end = new Date(input.end_time);
    const guests = input.guests ?? 1;
    const found = await repo.findSpaceToBook(handle, input.space_id);
    if (!found) throw notFound('Space');
    const { space, owner, bookingId } = found;
    if (!space.isAvailable || !owner.isActive) throw spaceUnavailable();
    const problem = bookingProblem(space, { start, end, guests }, now);
    if (problem) throw problem;

    const booking: BookingRow = {
      id: bookingId,
      spaceId: space.id,
      userId: actor.user.id,
      startTime: start,
      endTime: end,
      blockedUntil: blockedUntil(end, space.bufferMinutes),
      guests,
      purpose: input.purpose ?? null,
      totalPrice: totalPrice(space.pricePerHour, start, end),
      currency: space.currency,
      status: 'pending',
      paymentStatus: 'unpaid',
      cancellationReason: null,
      cancelledBy: null,
      confirmedAt: null,
      version: 0,
      createdAt: now,
      updatedAt: now,
    };
    const { id, name, city, address, ownerId, cancellationPolicy } = space;
    return {
      booking,
      notice: newRequestMail(owner, booking, space.name, deps.frontendUrl),
      // Key for key the order of BookingSchema, so this is the text Fastify's serializer would send.
      json: JSON.stringify(toBookingResponse({ booking, space: { id, name, city, address, ownerId, cancellationPolicy } })),
    };
  }

  /** Writes a planned booking; the exclusion constraint refuses an overlapping slot (23P01 → 409 booking_conflict). */
  async function place(handle: DbOrTx, planned: Awaited<ReturnType<typeof planBooking>>) {
    if (!(await repo.insertWithNotice(handle, planned.booking, planned.notice))) throw spaceUnavailable();
  }

  async function create(actor: Principal, input: CreateBookingBody, idempotencyKey?: string): Promise<CreateResult> {
    if (!canBook(actor.user)) throw forbidden('Only clients (and admins) book spaces', 'role_not_allowed');
    const now = clock.now();

    if (!idempotencyKey) {
      // Two round trips and no transaction: the write is one statement.
      const planned = await planBooking(db, actor, input, now);
      await retryTransient(() => place(db, planned));
      deps.mailQueued();
      return { replayed: false, json: planned.json };
    }

    const claim = { userId: actor.user.id, scope: IDEMPOTENCY_SCOPE, key: idempotencyKey, body: input };
    const result = await retryTransient(() =>
      db.transaction(async (tx): Promise<CreateResult> => {
        // A stored answer is replayed whatever has changed since.
        const stored = await claimKey(tx, claim, now);
        if (stored) return { replayed: true, json: stored.body };
        const planned = await planBooking(tx, actor, input, now);
        await place(tx, planned);
        await rememberAnswer(tx, claim, { statusCode: 201, body: planned.json });
        return { replayed: false, json: planned.json };
      }),
    );
    if (!result.replayed) deps.mailQueued();
    return result;
  }

  async function list(actor: Principal, query: BookingListQuery) {
    const page = pageRequest(query);
    const filters: repo.BookingFilters = {};
    if (query.status) filters.status = query.status;
    if (query.space_id !== undefined) filters.spaceId = query.space_id;
    if (query.from) filters.from = new Date(query.from);
    if (query.to) filters.to = new Date(query.to);
    if (filters.from && filters.to && filters.to <= filters.from)
      throw badRequest('validation_error', 'to must be after from', [{ field: 'to', message: 'must be after from' }]);
    // The page arrives as JSON text from the database (ADR 0008), sent as it is.
    const { items, total } = await repo.findManyJson(db, listScope(actor.user), filters, { limit: page.perPage, offset: page.offset });
    return jsonPageOf('bookings', items ? [items] : [], total, page);
  }

  async function getById(actor: Principal, id: number) {
    const record = await load(actor, id);
    return respond(record, record.booking);
  }

  /** pending → confirmed, by the host, while the request is still within its time to live and before its start. */
  async function approve(actor: Principal, id: number) {
    const record = await load(actor, id);
    if (!canDecideBooking(actor.user, record.space)) throw forbidden("Only the space's owner or an admin may approve bookings");
    const now = clock.now();
    const booking = await db.transaction(async (tx) => {
      // A request past its start or its time to live has expired, even before the sweeper says so.
      const row = await changeState(
        tx,
        record,
        'approved',
        { from: ['pending'], to: 'confirmed', startsAfter: now, createdAfter: new Date(now.getTime() - ttlMs), set: { confirmedAt: now } },
        now,
      );
      await mailBooker(tx, record, row, approvedMail, now);
      return row;
    });
    deps.mailQueued();
    return respond(record, booking);
  }

  /** pending → cancelled, by the host, with the reason. */
  async function reject(actor: Principal, id: number, reason?: string | null) {
    const record = await load(actor, id);
    if (!canDecideBooking(actor.user, record.space)) throw forbidden("Only the space's owner or an admin may reject bookings");
    const by = cancellerOf(actor.user, record.space);
    const now = clock.now();
    const { booking, followUps } = await db.transaction(async (tx) => {
      const row = await changeState(
        tx,
        record,
        'rejected',
        { from: ['pending'], to: 'cancelled', set: { cancellationReason: reason ?? 'rejected', cancelledBy: by } },
        now,
      );
      const after = await announceCancelled(tx, { booking: row, byBooker: false, refund: FULL_REFUND, now });
      await mailBooker(tx, record, row, rejectedMail, now);
      return { booking: row, followUps: after };
    });
    deps.mailQueued();
    return settled(record, booking, followUps);
  }

  /** pending or confirmed → cancelled: by the booker before the start, by the host at any time. */
  async function cancel(actor: Principal, id: number, reason?: string | null) {
    const record = await load(actor, id);
    const now = clock.now();
    const decision = cancellation(actor.user, record.booking, record.space, now);
    if (!decision.allowed) {
      if (decision.why === 'started') throw conflict('invalid_state', 'This booking has started; only the host can cancel it now');
      throw forbidden('This booking is not yours to cancel');
    }
    const byBooker = decision.by === 'booker';
    const { booking, followUps } = await db.transaction(async (tx) => {
      const row = await changeState(
        tx,
        record,
        'cancelled',
        {
          from: ['pending', 'confirmed'],
          to: 'cancelled',
          // The booker's right ends at the start, even if that passes while this request runs.
          ...(byBooker ? { startsAfter: now } : {}),
          set: { cancellationReason: reason ?? (byBooker ? 'cancelled by the booker' : 'cancelled by the host'), cancelledBy: decision.by },
        },
        now,
      );
      const quote = refundQuote(record.space.cancellationPolicy, row, row.totalPrice, byBooker, now);
      const after = await announceCancelled(tx, { booking: row, byBooker, refund: { percent: quote.percent, rule: quote.rule }, now });
      if (!byBooker) await mailBooker(tx, record, row, cancelledMail, now);
      return { booking: row, followUps: after };
    });
    deps.mailQueued();
    return settled(record, booking, followUps);
  }

  /** confirmed → completed, by the host, once it has ended. */
  async function complete(actor: Principal, id: number) {
    const record = await load(actor, id);
    if (!canDecideBooking(actor.user, record.space)) throw forbidden("Only the space's owner or an admin may complete bookings");
    const now = clock.now();
    const booking = await db.transaction((tx) => changeState(tx, record, 'completed', { from: ['confirmed'], to: 'completed', endedBy: now }, now));
    return respond(record, booking);
  }

  async function cancellationQuote(actor: Principal, id: number) {
    const record = await load(actor, id);
    const { booking, space } = record;
    if (booking.status !== 'pending' && booking.status !== 'confirmed') throw invalidState(booking, 'cancelled');
    const byBooker = cancellerOf(actor.user, space) === 'booker';
    const quote = refundQuote(space.cancellationPolicy, booking, booking.totalPrice, byBooker, clock.now());
    // What comes back is the payments module's to say (its provider may round), exactly as the cancellation will.
    const refund = await deps.refundOf(booking.id, quote.percent);
    const rule = refund.paid ? quote.rule : `${quote.rule} (nothing has been paid, so nothing is refunded)`;
    return { policy: quote.policy, refund_amount: refund.amountMinor / 100, currency: booking.currency, rule };
  }

  async function checkAvailability(query: { space_id: number; start_time: string; end_time: string }) {
    const found = await repo.findSpaceForBooking(db, query.space_id);
    if (!found) throw notFound('Space');
    const { space, owner } = found;
    const start = new Date(query.start_time);
    const end = new Date(query.end_time);
    if (end <= start) throw badRequest('invalid_time_range', 'end_time must be after start_time');
    const conflicts = await repo.findOverlapping(db, space.id, start, blockedUntil(end, space.bufferMinutes));
    const problem: AppError | undefined =
      !space.isAvailable || !owner.isActive ? spaceUnavailable() : bookingProblem(space, { start, end, guests: 1 }, clock.now());
    const reason = problem?.code ?? (conflicts.length > 0 ? 'booking_conflict' : undefined);
    return {
      space_id: space.id,
      start_time: start.toISOString(),
      end_time: end.toISOString(),
      available: reason === undefined,
      ...(reason ? { reason } : {}),
      conflicts: conflicts.map((row) => ({ start_time: row.startTime.toISOString(), end_time: row.blockedUntil.toISOString() })),
    };
  }

  /** The busy slots of a space in a window of at most 92 days; no one's identity. */
  async function availability(spaceId: number, query: { from: string; to: string }) {
    const found = await repo.findSpaceForBooking(db, spaceId);
    if (!found) throw notFound('Space');
    const from = new Date(query.from);
    const to = new Date(query.to);
    if (to <= from) throw badRequest('validation_error', 'to must be after from', [{ field: 'to', message: 'must be after from' }]);
    if (to.getTime() - from.getTime() > AVAILABILITY_WINDOW_DAYS * 86_400_000) {
      throw badRequest('window_too_long', `The window may span at most ${AVAILABILITY_WINDOW_DAYS} days`, [
        { field: 'to', message: `at most ${AVAILABILITY_WINDOW_DAYS} days after from` },
      ]);
    }
    const busy = await repo.findLiveInWindow(db, spaceId, from, to);
    return {
      space_id: spaceId,
      from: from.toISOString(),
      to: to.toISOString(),
      busy: busy.map((row) => ({ start_time: row.startTime.toISOString(), end_time: row.blockedUntil.toISOString() })),
    };
  }

  /** Queues the notices for bookings a sweep or a mass cancellation changed. */
  async function notify(tx: Tx, rows: repo.SweepRow[], build: Notice, now: Date) {
    for (const row of rows)
      await enqueueMail(tx, build({ email: row.clientEmail, firstName: row.clientFirstName }, row.booking, row.spaceName, deps.frontendUrl), now);
  }

  /** Mass cancellations are the host side's (or the system's): refunded in full; follow-ups run after the caller's commit. */
  async function announceAll(tx: Tx, rows: repo.SweepRow[], now: Date): Promise<FollowUp | undefined> {
    const followUps: FollowUp[] = [];
    for (const row of rows) followUps.push(...(await announceCancelled(tx, { booking: row.booking, byBooker: false, refund: FULL_REFUND, now })));
    return followUps.length > 0 ? () => runFollowUps(followUps, deps.log) : undefined;
  }

  /** Expires unanswered requests, completes finished bookings, forgets old idempotency keys. */
  async function sweep() {
    const now = clock.now();
    const expired = await db.transaction(async (tx) => {
      const rows = await repo.expirePending(tx, now, deps.pendingTtlHours);
      await notify(tx, rows, expiredMail, now);
      return rows.length;
    });
    const unpaid = await db.transaction(async (tx) => {
      const rows = await repo.cancelUnpaid(tx, now, deps.paymentTtlHours);
      // Nothing was paid, so there is nothing to refund; the announcement still lets payments close what is open.
      const after = await announceAll(tx, rows, now);
      await notify(tx, rows, unpaidMail, now);
      return { count: rows.length, after };
    });
    if (unpaid.after) await unpaid.after();
    const completed = await db.transaction(async (tx) => (await repo.completeEnded(tx, now)).length);
    await db.transaction((tx) => purgeExpiredKeys(tx, now));
    if (expired + unpaid.count > 0) deps.mailQueued();
    return { expired, unpaid: unpaid.count, completed };
  }

  /** 'space.archiving': upcoming bookings block it, unless an admin forces it (they are cancelled). */
  async function onSpaceArchiving(tx: Tx, event: DomainEvents['space.archiving']) {
    const upcoming = await repo.countUpcoming(tx, event.space.id, event.now);
    if (upcoming === 0) return;
    if (!event.force)
      throw conflict(
        'invalid_state',
        `This space has ${upcoming} upcoming booking${upcoming === 1 ? '' : 's'}; an admin may remove it with force=true, cancelling them`,
      );
    const cancelled = await repo.cancelUpcoming(tx, { spaceId: event.space.id }, { reason: 'The space was removed', by: 'admin' }, event.now);
    const after = await announceAll(tx, cancelled, event.now);
    await notify(tx, cancelled, cancelledMail, event.now);
    return after;
  }

  /** 'user.deactivated': the user's upcoming bookings, and those at their spaces, are cancelled. */
  async function onUserDeactivated(tx: Tx, { userId, now }: DomainEvents['user.deactivated']) {
    const change = { reason: 'The account was deactivated', by: 'admin' as const };
    const own = await repo.cancelUpcoming(tx, { userId }, change, now);
    const atTheirSpaces = await repo.cancelUpcoming(tx, { ownerId: userId }, change, now);
    const after = await announceAll(tx, [...own, ...atTheirSpaces], now);
    await notify(tx, atTheirSpaces, cancelledMail, now);
    return after;
  }

  /** The spaces list's available-window condition, judged now. */
  const windowCondition = (window: { from: Date; to: Date }) => repo.bookableWindow({ ...window, now: clock.now() });

  /** Booking counts by status over one owner's spaces (or all), for the spaces stats. */
  async function stats(ownerId: number | undefined) {
    const byStatus = await repo.countByStatus(db, ownerId);
    return everyStatus((status) => byStatus.get(status));
  }

  /** The platform's booking counts by status, for the admin stats. */
  const statusCounts: SqlFigure<Record<BookingStatus, number>> = {
    sql: repo.statusCountsJson,
    read: (value) => everyStatus((status) => (value as Partial<Record<BookingStatus, number>> | undefined)?.[status]),
  };

  /** Whether a guest has used a space: a completed booking never changes again, so the answer stays true. */
  const hasCompletedBooking = (userId: number, spaceId: number) => repo.hasCompleted(db, userId, spaceId);

  return {
    create,
    list,
    getById,
    approve,
    reject,
    cancel,
    complete,
    cancellationQuote,
    checkAvailability,
    availability,
    sweep,
    onSpaceArchiving,
    onUserDeactivated,
    windowCondition,
    stats,
    statusCounts,
    hasCompletedBooking,
  };
}

export type BookingsService = ReturnType<typeof createBookingsService>;
