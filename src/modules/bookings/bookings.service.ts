import { and, gt, lte } from 'drizzle-orm';
import type { Db, DbOrTx, Tx } from '../../db/client.ts';
import { bookings, type BookingRow, type Canceller, type SpaceRow } from '../../db/schema/index.ts';
import { claimKey, purgeExpiredKeys, rememberAnswer } from '../../infra/idempotency.ts';
import { enqueueMail, type MailMessage } from '../../infra/mail/outbox.ts';
import type { Clock } from '../../shared/clock.ts';
import { retryTransient } from '../../shared/db-errors.ts';
import { badRequest, conflict, forbidden, notFound, type AppError } from '../../shared/errors.ts';
import { pageOf, pageRequest } from '../../shared/pagination.ts';
import { revenueFigures } from '../../shared/revenue.ts';
import type { Principal } from '../auth/auth.service.ts';
import * as usersRepo from '../users/users.repository.ts';
import { toBookingResponse } from './bookings.mapper.ts';
import { approvedMail, cancelledMail, expiredMail, newRequestMail, rejectedMail } from './bookings.mails.ts';
import { canBook, canCancelBooking, canDecideBooking, canViewBooking, cancellerOf } from './bookings.policy.ts';
import * as repo from './bookings.repository.ts';
import { blockedUntil, bookingProblem, refundQuote, totalPrice } from './bookings.rules.ts';
import type { BookingListQuery, CreateBookingBody } from './bookings.schemas.ts';

/** What happens to money when a booking is cancelled (the payments module refunds); runs in the cancellation's transaction. */
export type CancellationHook = (tx: Tx, booking: BookingRow, context: { byBooker: boolean; now: Date; policy: SpaceRow['cancellationPolicy'] }) => Promise<void>;

export interface BookingsServiceDeps {
  db: Db;
  clock: Clock;
  frontendUrl: string;
  pendingTtlHours: number;
  mailQueued: () => void;
  afterCancel: CancellationHook[];
}

export const AVAILABILITY_WINDOW_DAYS = 92;
const IDEMPOTENCY_SCOPE = 'POST /api/bookings';

export type CreateResult = { replayed: false; booking: ReturnType<typeof toBookingResponse> } | { replayed: true; json: string };

const invalidState = (booking: Pick<BookingRow, 'status'>, action: string) =>
  conflict('invalid_state', `This booking is ${booking.status}; it cannot be ${action}`);

const spaceUnavailable = () => conflict('space_unavailable', 'This space is not taking bookings');

export function createBookingsService(deps: BookingsServiceDeps) {
  const { db, clock } = deps;
  const ttlMs = deps.pendingTtlHours * 3_600_000;

  async function mailClient(tx: Tx, booking: BookingRow, spaceName: string, build: typeof approvedMail, now: Date) {
    const client = await usersRepo.findById(tx, booking.userId);
    if (client?.isActive) await enqueueMail(tx, build(client, booking, spaceName, deps.frontendUrl), now);
  }

  async function loadVisible(actor: Principal, id: number) {
    const record = await repo.findById(db, id);
    if (!record) throw notFound('Booking');
    if (!canViewBooking(actor.user, record.booking, record.space)) throw forbidden('This booking is not yours to see');
    return record;
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
      version: 0,
      createdAt: now,
      updatedAt: now,
    };
    const { id, name, city, address, ownerId, cancellationPolicy } = space;
    return {
      booking,
      notice: newRequestMail(owner, booking, space.name, deps.frontendUrl),
      response: toBookingResponse({ booking, space: { id, name, city, address, ownerId, cancellationPolicy } }),
    };
  }

  /** Writes a planned booking; the exclusion constraint refuses an overlapping slot (23P01 → 409 booking_conflict). */
  async function place(handle: DbOrTx, planned: Awaited<ReturnType<typeof planBooking>>) {
    if (!(await repo.insertBookingWithNotice(handle, planned.booking, planned.notice))) throw spaceUnavailable();
  }

  async function create(actor: Principal, input: CreateBookingBody, idempotencyKey?: string): Promise<CreateResult> {
    if (!canBook(actor.user)) throw forbidden('Only clients (and admins) book spaces', 'role_not_allowed');
    const now = clock.now();

    if (!idempotencyKey) {
      // Two round trips and no transaction: the write is one statement.
      const planned = await planBooking(db, actor, input, now);
      await retryTransient(() => place(db, planned));
      deps.mailQueued();
      return { replayed: false, booking: planned.response };
    }

    const claim = { userId: actor.user.id, scope: IDEMPOTENCY_SCOPE, key: idempotencyKey, body: input };
    const result = await retryTransient(() =>
      db.transaction(async (tx): Promise<CreateResult> => {
        // A stored answer is replayed whatever has changed since.
        const stored = await claimKey(tx, claim, now);
        if (stored) return { replayed: true, json: stored.body };
        const planned = await planBooking(tx, actor, input, now);
        await place(tx, planned);
        await rememberAnswer(tx, claim, { statusCode: 201, body: JSON.stringify(planned.response) });
        return { replayed: false, booking: planned.response };
      }),
    );
    if (!result.replayed) deps.mailQueued();
    return result;
  }

  async function list(actor: Principal, query: BookingListQuery) {
    const page = pageRequest(query);
    const visibility: repo.Visibility =
      actor.user.role === 'admin' ? { kind: 'all' } : actor.user.role === 'owner' ? { kind: 'owner', ownerId: actor.user.id } : { kind: 'booker', userId: actor.user.id };
    const filters: repo.BookingFilters = {};
    if (query.status) filters.status = query.status;
    if (query.space_id !== undefined) filters.spaceId = query.space_id;
    if (query.from) filters.from = new Date(query.from);
    if (query.to) filters.to = new Date(query.to);
    if (filters.from && filters.to && filters.to <= filters.from) throw badRequest('validation_error', 'to must be after from', [{ field: 'to', message: 'must be after from' }]);
    const { rows, total } = await repo.findMany(db, visibility, filters, { limit: page.perPage, offset: page.offset });
    return pageOf('bookings', rows.map(toBookingResponse), total, page);
  }

  async function getById(actor: Principal, id: number) {
    return toBookingResponse(await loadVisible(actor, id));
  }

  /** One state change: authorize, a conditional update, its notices and hooks, all in one transaction. */
  async function decide(
    actor: Principal,
    id: number,
    action: string,
    authorize: (record: repo.BookingRecord) => void,
    change: (record: repo.BookingRecord, now: Date) => repo.Transition,
    after?: (tx: Tx, booking: BookingRow, record: repo.BookingRecord, now: Date) => Promise<void>,
  ) {
    const record = await loadVisible(actor, id);
    authorize(record);
    const now = clock.now();
    const updated = await db.transaction(async (tx) => {
      const row = await repo.transition(tx, id, change(record, now), now);
      if (!row) {
        const current = await repo.findById(tx, id);
        throw invalidState(current?.booking ?? record.booking, action);
      }
      await after?.(tx, row, record, now);
      return row;
    });
    deps.mailQueued();
    return toBookingResponse({ booking: updated, space: record.space });
  }

  const requireHost = (actor: Principal, verb: string) => (record: repo.BookingRecord) => {
    if (!canDecideBooking(actor.user, record.space)) throw forbidden(`Only the space's owner or an admin may ${verb} bookings`);
  };

  const approve = (actor: Principal, id: number) =>
    decide(
      actor,
      id,
      'approved',
      requireHost(actor, 'approve'),
      (_record, now) => ({
        from: ['pending'],
        to: 'confirmed',
        // A request past its start or its time to live has expired, even before the sweeper says so.
        when: and(gt(bookings.startTime, now), gt(bookings.createdAt, new Date(now.getTime() - ttlMs))),
      }),
      (tx, booking, record, now) => mailClient(tx, booking, record.space.name, approvedMail, now),
    );

  const reject = (actor: Principal, id: number, reason?: string | null) =>
    decide(
      actor,
      id,
      'rejected',
      requireHost(actor, 'reject'),
      (record) => ({ from: ['pending'], to: 'cancelled', set: { cancellationReason: reason ?? 'rejected', cancelledBy: cancellerOf(actor.user, record.space) } }),
      async (tx, booking, record, now) => {
        await refund(tx, booking, record, false, now);
        await mailClient(tx, booking, record.space.name, rejectedMail, now);
      },
    );

  async function refund(tx: Tx, booking: BookingRow, record: repo.BookingRecord, byBooker: boolean, now: Date) {
    for (const hook of deps.afterCancel) await hook(tx, booking, { byBooker, now, policy: record.space.cancellationPolicy });
  }

  function cancel(actor: Principal, id: number, reason?: string | null) {
    let by: Canceller = 'booker';
    return decide(
      actor,
      id,
      'cancelled',
      (record) => {
        if (!canCancelBooking(actor.user, record.booking, record.space)) throw forbidden('This booking is not yours to cancel');
        by = cancellerOf(actor.user, record.space);
        if (by === 'booker' && record.booking.startTime <= clock.now()) throw conflict('invalid_state', 'This booking has started; only the host can cancel it now');
      },
      (_record, now) => ({
        from: ['pending', 'confirmed'],
        to: 'cancelled',
        // The booker may cancel only before the start; the host at any time.
        when: by === 'booker' ? gt(bookings.startTime, now) : undefined,
        set: { cancellationReason: reason ?? (by === 'booker' ? 'cancelled by the booker' : 'cancelled by the host'), cancelledBy: by },
      }),
      async (tx, booking, record, now) => {
        await refund(tx, booking, record, by === 'booker', now);
        if (by !== 'booker') await mailClient(tx, booking, record.space.name, cancelledMail, now);
      },
    );
  }

  const complete = (actor: Principal, id: number) =>
    decide(actor, id, 'completed', requireHost(actor, 'complete'), (_record, now) => ({ from: ['confirmed'], to: 'completed', when: lte(bookings.endTime, now) }));

  async function cancellationQuote(actor: Principal, id: number) {
    const record = await loadVisible(actor, id);
    const { booking, space } = record;
    if (booking.status !== 'pending' && booking.status !== 'confirmed') throw invalidState(booking, 'cancelled');
    const byBooker = cancellerOf(actor.user, space) === 'booker';
    const paid = booking.paymentStatus === 'paid' ? booking.totalPrice : 0;
    const quote = refundQuote(space.cancellationPolicy, booking, paid, byBooker, clock.now());
    const rule = paid === 0 ? `${quote.rule} (nothing has been paid, so nothing is refunded)` : quote.rule;
    return { policy: quote.policy, refund_amount: quote.refundAmount / 100, currency: booking.currency, rule };
  }

  async function checkAvailability(query: { space_id: number; start_time: string; end_time: string }) {
    const found = await repo.findSpaceForBooking(db, query.space_id);
    if (!found) throw notFound('Space');
    const { space, owner } = found;
    const start = new Date(query.start_time);
    const end = new Date(query.end_time);
    if (end <= start) throw badRequest('invalid_time_range', 'end_time must be after start_time');
    const conflicts = await repo.overlapping(db, space.id, start, blockedUntil(end, space.bufferMinutes));
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
      throw badRequest('window_too_long', `The window may span at most ${AVAILABILITY_WINDOW_DAYS} days`, [{ field: 'to', message: `at most ${AVAILABILITY_WINDOW_DAYS} days after from` }]);
    }
    const busy = await repo.liveInWindow(db, spaceId, from, to);
    return {
      space_id: spaceId,
      from: from.toISOString(),
      to: to.toISOString(),
      busy: busy.map((row) => ({ start_time: row.startTime.toISOString(), end_time: row.blockedUntil.toISOString() })),
    };
  }

  /** Queues the notices for bookings a sweep or a mass cancellation changed. */
  async function notify(tx: Tx, rows: repo.SweepRow[], build: (to: { email: string; firstName: string }, booking: BookingRow, spaceName: string, frontendUrl: string) => MailMessage, now: Date) {
    for (const row of rows) await enqueueMail(tx, build({ email: row.clientEmail, firstName: row.clientFirstName }, row.booking, row.spaceName, deps.frontendUrl), now);
  }

  /** Expires unanswered requests, completes finished bookings, forgets old idempotency keys. */
  async function sweep() {
    const now = clock.now();
    const expired = await db.transaction(async (tx) => {
      const rows = await repo.expirePending(tx, now, deps.pendingTtlHours);
      await notify(tx, rows, expiredMail, now);
      return rows.length;
    });
    const completed = await db.transaction(async (tx) => (await repo.completeEnded(tx, now)).length);
    await db.transaction((tx) => purgeExpiredKeys(tx, now));
    if (expired > 0) deps.mailQueued();
    return { expired, completed };
  }

  /** Space archiving: upcoming bookings block it, unless an admin forces it (they are cancelled and refunded). */
  async function beforeArchive(tx: Tx, space: SpaceRow, context: { force: boolean; now: Date }) {
    const upcoming = await repo.countUpcoming(tx, space.id, context.now);
    if (upcoming === 0) return;
    if (!context.force) throw conflict('invalid_state', `This space has ${upcoming} upcoming booking${upcoming === 1 ? '' : 's'}; an admin may remove it with force=true, cancelling them`);
    const cancelled = await repo.cancelUpcoming(tx, { spaceId: space.id }, { reason: 'The space was removed', by: 'admin' }, context.now);
    for (const row of cancelled) await refund(tx, row.booking, { booking: row.booking, space: { ...space, ownerId: space.ownerId } }, false, context.now);
    await notify(tx, cancelled, cancelledMail, context.now);
  }

  /** Account deactivation: the user's upcoming bookings, and those at their spaces, are cancelled. */
  async function onDeactivated(tx: Tx, userId: number, now: Date) {
    const change = { reason: 'The account was deactivated', by: 'admin' as const };
    const own = await repo.cancelUpcoming(tx, { userId }, change, now);
    const atTheirSpaces = await repo.cancelUpcoming(tx, { ownerId: userId }, change, now);
    for (const row of [...own, ...atTheirSpaces]) {
      const record = await repo.findById(tx, row.booking.id);
      if (record) await refund(tx, row.booking, record, false, now);
    }
    await notify(tx, atTheirSpaces, cancelledMail, now);
  }

  async function stats(db: Db, ownerId: number | undefined) {
    const { byStatus, revenueMinor } = await repo.statsOf(db, ownerId);
    return {
      bookings_by_status: {
        pending: byStatus.get('pending') ?? 0,
        confirmed: byStatus.get('confirmed') ?? 0,
        cancelled: byStatus.get('cancelled') ?? 0,
        completed: byStatus.get('completed') ?? 0,
      },
      revenue: revenueFigures(revenueMinor),
    };
  }

  return { create, list, getById, approve, reject, cancel, complete, cancellationQuote, checkAvailability, availability, sweep, beforeArchive, onDeactivated, stats };
}

export type BookingsService = ReturnType<typeof createBookingsService>;
