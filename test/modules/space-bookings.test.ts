import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eq, sql } from 'drizzle-orm';
import ical, { type VEvent } from 'node-ical';
import { queryRows } from '../../src/db/client.ts';
import { bookings, spaces, users, type BookingRow, type BookingStatus, type PaymentStatus } from '../../src/db/schema/index.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { buildTestApp, call, type CallResult } from '../helpers/app.ts';
import { assertError } from '../helpers/assertions.ts';
import { createUser, type TestUser } from '../helpers/factories.ts';
import { queuedMails } from '../helpers/mail.ts';
import { createSpace } from '../helpers/spaces.ts';
import { insertCompletedPayment } from '../helpers/bookings.ts';

// Sunday 2030-01-06 08:00 UTC (11:00 in Nairobi, 03:00 in New York). The clock stands still, so
// tokens stay valid; bookings in the past are written to the database directly.
const NOW = '2030-01-06T08:00:00.000Z';
const clock = new ManualClock(NOW);
const app = await buildTestApp({ clock });
const db = app.services.database.db;
const admin = await createUser(app, { role: 'admin' });

/** An id no row will reach in this file's lifetime. */
const MISSING_ID = 2_000_000_000;
const at = (iso: string) => new Date(iso);
const iso = (value: string) => new Date(value).toISOString();

// --- local helpers -----------------------------------------------------------------------------

const auth = (user: TestUser | undefined) => (user ? { token: user.token } : {});

async function newOwner() {
  return createUser(app, { role: 'owner' });
}

async function newClient() {
  return createUser(app, { role: 'client' });
}

/** POST /api/bookings as `client`; must succeed (201, pending). */
async function book(client: TestUser, spaceId: number, start: string, end: string, extra: Record<string, unknown> = {}) {
  const response = await call(app, 'POST', '/api/bookings', { token: client.token, body: { space_id: spaceId, start_time: start, end_time: end, ...extra } });
  assert.equal(response.status, 201, `booking ${start}–${end} of space ${spaceId}: ${response.raw}`);
  assert.equal(response.body.status, 'pending');
  return response.body;
}

async function transition(user: TestUser, bookingId: number, action: 'approve' | 'reject' | 'cancel' | 'complete', body?: unknown) {
  const response = await call(app, 'PUT', `/api/bookings/${bookingId}/${action}`, { token: user.token, ...(body !== undefined ? { body } : {}) });
  assert.equal(response.status, 200, `${action} booking ${bookingId}: ${response.raw}`);
  return response.body;
}

/** A booking written straight to the table: for the past, which the API cannot book. */
async function insertBooking(values: {
  spaceId: number;
  userId: number;
  start: string;
  end: string;
  status: BookingStatus;
  bufferMinutes?: number;
  totalPrice?: number;
  paymentStatus?: PaymentStatus;
}): Promise<BookingRow> {
  const start = at(values.start);
  const end = at(values.end);
  const [row] = await db
    .insert(bookings)
    .values({
      spaceId: values.spaceId,
      userId: values.userId,
      startTime: start,
      endTime: end,
      blockedUntil: new Date(end.getTime() + (values.bufferMinutes ?? 0) * 60_000),
      totalPrice: values.totalPrice ?? 100_000,
      currency: 'KES',
      status: values.status,
      paymentStatus: values.paymentStatus ?? 'unpaid',
      createdAt: at('2029-12-01T00:00:00Z'),
      updatedAt: at('2029-12-01T00:00:00Z'),
    })
    .returning();
  return row!;
}

async function bookingRow(id: number): Promise<BookingRow> {
  const [row] = await db.select().from(bookings).where(eq(bookings.id, id));
  assert.ok(row, `booking ${id} exists`);
  return row;
}

async function spaceRow(id: number) {
  const [row] = await db.select().from(spaces).where(eq(spaces.id, id));
  assert.ok(row, `space ${id} exists`);
  return row;
}

// ================================================================================================
describe('GET /api/spaces/:id/availability', () => {
  const availability = (id: number, query: Record<string, string>, token?: string) =>
    call(app, 'GET', `/api/spaces/${id}/availability`, { query, ...(token ? { token } : {}) });

  it('lists the busy slots of pending and confirmed bookings with their buffer, sorted, to anyone', async () => {
    const owner = await newOwner();
    const client = await newClient();
    const other = await newClient();
    const space = await createSpace(app, owner.token, { buffer_minutes: 30 });

    const later = await book(client, space.id, '2030-01-08T10:00:00Z', '2030-01-08T12:00:00Z');
    const earlier = await book(other, space.id, '2030-01-08T07:00:00Z', '2030-01-08T08:00:00Z');
    await transition(owner, earlier.id, 'approve');
    const cancelled = await book(client, space.id, '2030-01-08T14:00:00Z', '2030-01-08T15:00:00Z');
    await transition(client, cancelled.id, 'cancel');
    const rejected = await book(other, space.id, '2030-01-08T16:00:00Z', '2030-01-08T17:00:00Z');
    await transition(owner, rejected.id, 'reject', { reason: 'maintenance' });
    await book(client, space.id, '2030-01-10T10:00:00Z', '2030-01-10T11:00:00Z'); // outside the window
    assert.equal((await bookingRow(later.id)).status, 'pending');
    assert.equal((await bookingRow(earlier.id)).status, 'confirmed');

    const response = await availability(space.id, { from: '2030-01-08T00:00:00Z', to: '2030-01-09T00:00:00Z' });
    assert.equal(response.status, 200, response.raw);
    assert.deepEqual(response.body, {
      space_id: space.id,
      from: '2030-01-08T00:00:00.000Z',
      to: '2030-01-09T00:00:00.000Z',
      busy: [
        { start_time: '2030-01-08T07:00:00.000Z', end_time: '2030-01-08T08:30:00.000Z' },
        { start_time: '2030-01-08T10:00:00.000Z', end_time: '2030-01-08T12:30:00.000Z' },
      ],
    });
    // No one's identity.
    for (const secret of [client.email, other.email, `"user_id"`, `"email"`]) assert.ok(!response.raw.includes(secret), `the body does not contain ${secret}`);

    // Offsets in the query are understood; the answer is in UTC.
    const offset = await availability(space.id, { from: '2030-01-08T03:00:00+03:00', to: '2030-01-08T14:00:00+03:00' });
    assert.equal(offset.status, 200, offset.raw);
    assert.equal(offset.body.from, '2030-01-08T00:00:00.000Z');
    assert.deepEqual(offset.body.busy, [
      { start_time: '2030-01-08T07:00:00.000Z', end_time: '2030-01-08T08:30:00.000Z' },
      { start_time: '2030-01-08T10:00:00.000Z', end_time: '2030-01-08T12:30:00.000Z' },
    ]);

    // Anyone: a client's token, and a malformed Authorization header, are fine too.
    const asClient = await availability(space.id, { from: '2030-01-08T00:00:00Z', to: '2030-01-09T00:00:00Z' }, client.token);
    assert.deepEqual(asClient.body, response.body);
    const junk = await call(app, 'GET', `/api/spaces/${space.id}/availability`, {
      query: { from: '2030-01-08T00:00:00Z', to: '2030-01-09T00:00:00Z' },
      headers: { authorization: 'Bearer not-a-token' },
    });
    assert.equal(junk.status, 200, junk.raw);
  });

  it('counts a slot whose buffer alone reaches into the window; intervals are half-open', async () => {
    const owner = await newOwner();
    const client = await newClient();
    const space = await createSpace(app, owner.token, { buffer_minutes: 30 });
    await book(client, space.id, '2030-01-08T10:00:00Z', '2030-01-08T12:00:00Z');
    const slot = { start_time: '2030-01-08T10:00:00.000Z', end_time: '2030-01-08T12:30:00.000Z' };

    const inBuffer = await availability(space.id, { from: '2030-01-08T12:15:00Z', to: '2030-01-08T13:00:00Z' });
    assert.deepEqual(inBuffer.body.busy, [slot]);
    const atBufferEnd = await availability(space.id, { from: '2030-01-08T12:30:00Z', to: '2030-01-08T13:00:00Z' });
    assert.deepEqual(atBufferEnd.body.busy, [], 'a window starting where the slot ends');
    const endingAtStart = await availability(space.id, { from: '2030-01-08T09:00:00Z', to: '2030-01-08T10:00:00Z' });
    assert.deepEqual(endingAtStart.body.busy, [], 'a window ending where the slot starts');
  });

  it('allows a window of exactly 92 days, refuses a longer one (400)', async () => {
    const owner = await newOwner();
    const space = await createSpace(app, owner.token);
    const ok = await availability(space.id, { from: '2030-01-07T00:00:00Z', to: iso('2030-04-09T00:00:00Z') });
    assert.equal(ok.status, 200, `92 days: ${ok.raw}`);
    const tooLong = await availability(space.id, { from: '2030-01-07T00:00:00Z', to: '2030-04-09T00:01:00Z' });
    assertError(tooLong, 400);
    const muchTooLong = await availability(space.id, { from: '2030-01-07T00:00:00Z', to: '2031-01-07T00:00:00Z' });
    assertError(muchTooLong, 400);
  });

  it('refuses to ≤ from, missing or zone-less times (400), and an unknown or archived space (404)', async () => {
    const owner = await newOwner();
    const space = await createSpace(app, owner.token);
    assertError(await availability(space.id, { from: '2030-01-08T00:00:00Z', to: '2030-01-08T00:00:00Z' }), 400);
    assertError(await availability(space.id, { from: '2030-01-08T00:00:00Z', to: '2030-01-07T00:00:00Z' }), 400);
    assertError(await availability(space.id, { from: '2030-01-08T00:00:00Z' }), 400, 'validation_error');
    assertError(await availability(space.id, { to: '2030-01-08T00:00:00Z' }), 400, 'validation_error');
    assertError(await availability(space.id, {}), 400, 'validation_error');
    assertError(await availability(space.id, { from: '2030-01-08T00:00:00', to: '2030-01-09T00:00:00' }), 400, 'validation_error');
    assertError(await availability(space.id, { from: 'tomorrow', to: 'later' }), 400, 'validation_error');
    assertError(await availability(MISSING_ID, { from: '2030-01-08T00:00:00Z', to: '2030-01-09T00:00:00Z' }), 404, 'not_found');

    assert.equal((await call(app, 'DELETE', `/api/spaces/${space.id}`, { token: owner.token })).status, 200);
    assertError(await availability(space.id, { from: '2030-01-08T00:00:00Z', to: '2030-01-09T00:00:00Z' }), 404, 'not_found');
  });
});

// ================================================================================================
describe('space calendars', () => {
  const calendarUrl = (id: number, user?: TestUser) => call(app, 'GET', `/api/spaces/${id}/calendar`, auth(user));
  const rotate = (id: number, user?: TestUser) => call(app, 'POST', `/api/spaces/${id}/calendar/rotate`, auth(user));
  /** The path and query of a calendar URL, for inject. */
  const pathOf = (url: string) => {
    const parsed = new URL(url);
    return parsed.pathname + parsed.search;
  };
  const tokenOf = (url: string) => new URL(url).searchParams.get('token')!;
  const feed = (id: number, options: { token?: string; user?: TestUser } = {}) =>
    call(app, 'GET', `/api/spaces/${id}/calendar.ics`, { ...auth(options.user), ...(options.token !== undefined ? { query: { token: options.token } } : {}) });

  function events(text: string): VEvent[] {
    const parsed = ical.sync.parseICS(text);
    return Object.values(parsed).filter((item): item is VEvent => item?.type === 'VEVENT');
  }

  function assertCalendar(response: CallResult) {
    assert.equal(response.status, 200, response.raw);
    assert.match(String(response.headers['content-type']), /^text\/calendar/);
    assert.match(response.raw, /^BEGIN:VCALENDAR/);
    return events(response.raw);
  }

  async function fixture() {
    const owner = await newOwner();
    const client = await newClient();
    const space = await createSpace(app, owner.token, { name: 'Calendar Room' });
    return { owner, client, space };
  }

  it('GET /calendar gives the owner and an admin the secret URL; others are refused', async () => {
    const { owner, client, space } = await fixture();
    const stranger = await newOwner();

    const mine = await calendarUrl(space.id, owner);
    assert.equal(mine.status, 200, mine.raw);
    assert.deepEqual(Object.keys(mine.body), ['calendar_url']);
    assert.match(mine.body.calendar_url, new RegExp(`^https?://[^/]+/api/spaces/${space.id}/calendar\\.ics\\?token=[A-Za-z0-9_-]{20,}$`));
    const asAdmin = await calendarUrl(space.id, admin);
    assert.equal(asAdmin.status, 200, asAdmin.raw);
    assert.equal(asAdmin.body.calendar_url, mine.body.calendar_url, 'one URL per space until rotated');

    assertError(await calendarUrl(space.id, stranger), 403, 'forbidden');
    assertError(await calendarUrl(space.id, client), 403);
    assertError(await calendarUrl(space.id), 401, 'unauthorized');
    assertError(await calendarUrl(MISSING_ID, owner), 404, 'not_found');

    // Another space of the same owner has another secret.
    const second = await createSpace(app, owner.token);
    const secondUrl = await calendarUrl(second.id, owner);
    assert.notEqual(tokenOf(secondUrl.body.calendar_url), tokenOf(mine.body.calendar_url));
    assertError(await feed(second.id, { token: tokenOf(mine.body.calendar_url) }), 404, 'not_found');
  });

  it('calendar.ics: one VEVENT per pending or confirmed booking, stable UIDs, UTC times, statuses and growing SEQUENCE', async () => {
    const { owner, client, space } = await fixture();
    const pending = await book(client, space.id, '2030-01-08T09:00:00Z', '2030-01-08T11:30:00Z', { guests: 3, purpose: 'Planning' });
    const confirmed = await book(client, space.id, '2030-01-09T13:00:00Z', '2030-01-09T15:00:00Z');
    await transition(owner, confirmed.id, 'approve');
    const cancelled = await book(client, space.id, '2030-01-10T09:00:00Z', '2030-01-10T10:00:00Z');
    await transition(owner, cancelled.id, 'reject');

    const { body: urlBody } = await calendarUrl(space.id, owner);
    const first = await call(app, 'GET', pathOf(urlBody.calendar_url));
    const firstEvents = assertCalendar(first);
    assert.equal(firstEvents.length, 2, 'the cancelled booking is not in the feed');
    assert.ok(!first.raw.includes(client.email), 'no guest identity in the feed');

    for (const event of firstEvents)
      assert.ok(Number.isInteger(Number(event.sequence)) && Number(event.sequence) >= 0, `SEQUENCE of ${event.uid}: ${event.sequence}`);
    const uids = firstEvents.map((event) => event.uid);
    assert.equal(new Set(uids).size, 2, 'distinct UIDs');
    const byBooking = new Map<number, VEvent>();
    for (const event of firstEvents) {
      const id = [pending.id, confirmed.id].find((bookingId) => event.uid.includes(`booking-${bookingId}@`));
      assert.ok(id, `UID ${event.uid} names a booking`);
      byBooking.set(id, event);
    }
    const pendingEvent = byBooking.get(pending.id)!;
    const confirmedEvent = byBooking.get(confirmed.id)!;
    assert.equal(pendingEvent.start.toISOString(), '2030-01-08T09:00:00.000Z');
    assert.equal(pendingEvent.end!.toISOString(), '2030-01-08T11:30:00.000Z');
    assert.equal(confirmedEvent.start.toISOString(), '2030-01-09T13:00:00.000Z');
    assert.equal(confirmedEvent.end!.toISOString(), '2030-01-09T15:00:00.000Z');
    assert.equal(pendingEvent.status, 'TENTATIVE');
    assert.equal(confirmedEvent.status, 'CONFIRMED');
    // Times are written in UTC (…Z), not as floating or zoned local times.
    assert.match(first.raw, /DTSTART:20300108T090000Z/);
    assert.match(first.raw, /DTEND:20300108T113000Z/);
    assert.match(first.raw, /DTSTART:20300109T130000Z/);

    // Fetched again: the same UIDs and sequences.
    const again = assertCalendar(await call(app, 'GET', pathOf(urlBody.calendar_url)));
    assert.deepEqual(again.map((event) => [event.uid, Number(event.sequence)]).sort(), firstEvents.map((event) => [event.uid, Number(event.sequence)]).sort());

    // Approving the pending booking changes it: same UID, higher SEQUENCE, now CONFIRMED.
    await transition(owner, pending.id, 'approve');
    const afterApproval = assertCalendar(await call(app, 'GET', pathOf(urlBody.calendar_url)));
    const approved = afterApproval.find((event) => event.uid === pendingEvent.uid);
    assert.ok(approved, 'the UID is stable across a change');
    assert.equal(approved.status, 'CONFIRMED');
    assert.ok(Number(approved.sequence) > Number(pendingEvent.sequence), `SEQUENCE grows: ${pendingEvent.sequence} → ${approved.sequence}`);
    const unchanged = afterApproval.find((event) => event.uid === confirmedEvent.uid)!;
    assert.equal(Number(unchanged.sequence), Number(confirmedEvent.sequence), 'an untouched booking keeps its SEQUENCE');

    // Cancelling drops it from the feed.
    await transition(client, confirmed.id, 'cancel');
    const afterCancel = assertCalendar(await call(app, 'GET', pathOf(urlBody.calendar_url)));
    assert.deepEqual(
      afterCancel.map((event) => event.uid),
      [pendingEvent.uid],
    );
  });

  it('calendar.ics access: owner’s or admin’s Bearer without a token; wrong token 404; no credentials 401; a client’s Bearer 403', async () => {
    const { owner, client, space } = await fixture();
    const stranger = await newOwner();
    await book(client, space.id, '2030-01-08T09:00:00Z', '2030-01-08T10:00:00Z');
    const { body } = await calendarUrl(space.id, owner);
    const token = tokenOf(body.calendar_url);

    assert.equal(assertCalendar(await feed(space.id, { token })).length, 1, 'the secret alone is enough');
    assert.equal(assertCalendar(await feed(space.id, { user: owner })).length, 1, "the owner's Bearer");
    assert.equal(assertCalendar(await feed(space.id, { user: admin })).length, 1, "an admin's Bearer");

    assertError(await feed(space.id, { token: `${token.slice(0, -2)}xx` }), 404, 'not_found');
    assertError(await feed(space.id, { token: 'nope' }), 404, 'not_found');
    assertError(await feed(space.id, { token: 'nope', user: owner }), 404, 'not_found');
    assertError(await feed(space.id), 401, 'unauthorized');
    assertError(await feed(space.id, { user: client }), 403, 'forbidden');
    assertError(await feed(space.id, { user: stranger }), 403, 'forbidden');
    assertError(await feed(MISSING_ID, { token }), 404, 'not_found');
  });

  it('POST /calendar/rotate: a new URL; the old token stops working', async () => {
    const { owner, client, space } = await fixture();
    const stranger = await newOwner();
    const { body: before } = await calendarUrl(space.id, owner);

    const rotated = await rotate(space.id, owner);
    assert.equal(rotated.status, 200, rotated.raw);
    assert.deepEqual(Object.keys(rotated.body), ['calendar_url']);
    assert.notEqual(rotated.body.calendar_url, before.calendar_url);
    assert.equal(new URL(rotated.body.calendar_url).pathname, new URL(before.calendar_url).pathname);
    assertError(await call(app, 'GET', pathOf(before.calendar_url)), 404, 'not_found');
    assertCalendar(await call(app, 'GET', pathOf(rotated.body.calendar_url)));
    assert.equal((await calendarUrl(space.id, owner)).body.calendar_url, rotated.body.calendar_url, 'GET /calendar now gives the new URL');

    const byAdmin = await rotate(space.id, admin);
    assert.equal(byAdmin.status, 200, byAdmin.raw);
    assert.notEqual(byAdmin.body.calendar_url, rotated.body.calendar_url);
    assertError(await call(app, 'GET', pathOf(rotated.body.calendar_url)), 404, 'not_found');
    assertCalendar(await call(app, 'GET', pathOf(byAdmin.body.calendar_url)));

    assertError(await rotate(space.id, client), 403);
    assertError(await rotate(space.id, stranger), 403);
    assertError(await rotate(space.id), 401);
    assertError(await rotate(MISSING_ID, owner), 404, 'not_found');
    // The refused attempts changed nothing.
    assertCalendar(await call(app, 'GET', pathOf(byAdmin.body.calendar_url)));
  });
});

// ================================================================================================
describe('GET /api/spaces?available_from&available_to', () => {
  const window = { available_from: '2030-01-08T10:00:00Z', available_to: '2030-01-08T12:00:00Z' };

  async function fetchIds(ownerId: number, query: Record<string, string>) {
    const response = await call(app, 'GET', '/api/spaces', { query: { owner_id: String(ownerId), per_page: '100', ...query } });
    assert.equal(response.status, 200, response.raw);
    return (response.body.spaces as Array<{ id: number }>).map((space) => space.id).sort((a, b) => a - b);
  }

  /**
   * The listing for a window, asked both ways the search can judge opening hours: with no
   * prepared periods trusted (every schedule through space_open_during) and with the periods the
   * sweep prepares around this file's clock. Both must give the same answer.
   */
  async function listedIds(ownerId: number, query: Record<string, string>) {
    await db.execute(sql`update opening_schedules set periods_from = 'infinity', periods_until = '-infinity'`);
    const byFunction = await fetchIds(ownerId, query);
    while ((await app.services.spaces.sweep()).schedulesRefreshed > 0);
    const byPeriods = await fetchIds(ownerId, query);
    assert.deepEqual(byPeriods, byFunction, `prepared periods and space_open_during agree for ${JSON.stringify(query)}`);
    return byPeriods;
  }
  const sorted = (ids: number[]) => [...ids].sort((a, b) => a - b);

  it('lists only spaces free for the whole window: live bookings and their buffers exclude, cancelled ones do not', async () => {
    const owner = await newOwner();
    const client = await newClient();
    const make = (name: string, extra: Record<string, unknown> = {}) => createSpace(app, owner.token, { name, ...extra });

    const free = await make('Free');
    const pending = await make('Pending overlap');
    await book(client, pending.id, '2030-01-08T11:00:00Z', '2030-01-08T13:00:00Z');
    const confirmed = await make('Confirmed overlap');
    const confirmedBooking = await book(client, confirmed.id, '2030-01-08T09:00:00Z', '2030-01-08T10:30:00Z');
    await transition(owner, confirmedBooking.id, 'approve');
    const inside = await make('Booking inside the window');
    await book(client, inside.id, '2030-01-08T10:30:00Z', '2030-01-08T11:30:00Z');
    const bufferInto = await make('Buffer reaches in', { buffer_minutes: 60 });
    await book(client, bufferInto.id, '2030-01-08T08:00:00Z', '2030-01-08T09:30:00Z'); // blocked until 10:30
    const bufferClear = await make('Buffer ends at the start', { buffer_minutes: 30 });
    await book(client, bufferClear.id, '2030-01-08T08:00:00Z', '2030-01-08T09:30:00Z'); // blocked until 10:00
    const touching = await make('Bookings touching both ends');
    await book(client, touching.id, '2030-01-08T08:00:00Z', '2030-01-08T10:00:00Z');
    await book(client, touching.id, '2030-01-08T12:00:00Z', '2030-01-08T13:00:00Z');
    const bufferAfter = await make('Window buffer reaches the next booking', { buffer_minutes: 60 });
    await book(client, bufferAfter.id, '2030-01-08T12:30:00Z', '2030-01-08T13:30:00Z');
    const cancelled = await make('Cancelled overlap');
    const cancelledBooking = await book(client, cancelled.id, '2030-01-08T10:00:00Z', '2030-01-08T12:00:00Z');
    await transition(client, cancelledBooking.id, 'cancel');
    const rejected = await make('Rejected overlap');
    const rejectedBooking = await book(client, rejected.id, '2030-01-08T10:00:00Z', '2030-01-08T12:00:00Z');
    await transition(owner, rejectedBooking.id, 'reject');
    const unavailable = await make('Unlisted', { is_available: false });
    const longMinimum = await make('Three hours minimum', { min_booking_hours: 3 });
    const shortMaximum = await make('One hour maximum', { max_booking_hours: 1 });
    const notice = await make('Needs three days notice', { min_notice_hours: 72 });
    const nullHours = await make('Explicitly always open', { operating_hours: null });

    const all = [
      free,
      pending,
      confirmed,
      inside,
      bufferInto,
      bufferClear,
      touching,
      bufferAfter,
      cancelled,
      rejected,
      unavailable,
      longMinimum,
      shortMaximum,
      notice,
      nullHours,
    ].map((space) => space.id);
    assert.deepEqual(await listedIds(owner.id, {}), sorted(all), 'without a window every listing shows');

    assert.deepEqual(await listedIds(owner.id, window), sorted([free.id, bufferClear.id, touching.id, cancelled.id, rejected.id, nullHours.id]));
    // A three-hour window suits the three-hour minimum (and is still free where the two-hour one was).
    assert.ok((await listedIds(owner.id, { available_from: '2030-01-09T10:00:00Z', available_to: '2030-01-09T13:00:00Z' })).includes(longMinimum.id));
    // A window three days ahead satisfies the notice.
    assert.ok((await listedIds(owner.id, { available_from: '2030-01-10T10:00:00Z', available_to: '2030-01-10T11:00:00Z' })).includes(notice.id));
    // The listing answers like the booking endpoint: a free listing can be booked for the window, a busy one cannot.
    const attempt = await call(app, 'POST', '/api/bookings', {
      token: client.token,
      body: { space_id: bufferInto.id, start_time: window.available_from, end_time: window.available_to },
    });
    assertError(attempt, 409, 'booking_conflict');
    await book(client, free.id, window.available_from, window.available_to);
    assert.ok(!(await listedIds(owner.id, window)).includes(free.id), 'booked now');
  });

  it('judges operating hours in each space’s own time zone (Nairobi vs New York)', async () => {
    const owner = await newOwner();
    const client = await newClient();
    const days = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
    const office = Object.fromEntries(days.map((day) => [day, [['09:00', '17:00']]]));
    const nairobi = await createSpace(app, owner.token, { name: 'Nairobi office', timezone: 'Africa/Nairobi', operating_hours: office });
    const newYork = await createSpace(app, owner.token, { name: 'New York office', city: 'New York', timezone: 'America/New_York', operating_hours: office });
    assert.equal(nairobi.timezone, 'Africa/Nairobi');
    assert.equal(newYork.timezone, 'America/New_York');

    // Tuesday 2030-01-08. 07:00–09:00Z: 10:00–12:00 in Nairobi, 02:00–04:00 in New York.
    assert.deepEqual(await listedIds(owner.id, { available_from: '2030-01-08T07:00:00Z', available_to: '2030-01-08T09:00:00Z' }), [nairobi.id]);
    // 15:00–17:00Z: 18:00–20:00 in Nairobi, 10:00–12:00 in New York.
    assert.deepEqual(await listedIds(owner.id, { available_from: '2030-01-08T15:00:00Z', available_to: '2030-01-08T17:00:00Z' }), [newYork.id]);
    // 13:00–15:00Z: each open for only part of it.
    assert.deepEqual(await listedIds(owner.id, { available_from: '2030-01-08T13:00:00Z', available_to: '2030-01-08T15:00:00Z' }), []);
    // Exactly the New York opening hours (14:00–22:00Z in January, EST).
    assert.deepEqual(await listedIds(owner.id, { available_from: '2030-01-08T09:00:00-05:00', available_to: '2030-01-08T17:00:00-05:00' }), [newYork.id]);

    // The booking endpoint judges the same way.
    assertError(
      await call(app, 'POST', '/api/bookings', {
        token: client.token,
        body: { space_id: newYork.id, start_time: '2030-01-08T07:00:00Z', end_time: '2030-01-08T09:00:00Z' },
      }),
      400,
      'outside_operating_hours',
    );
    await book(client, nairobi.id, '2030-01-08T07:00:00Z', '2030-01-08T09:00:00Z');
  });

  it('leaves out every space for a window further ahead than bookings open (365 days)', async () => {
    const owner = await newOwner();
    const client = await newClient();
    const space = await createSpace(app, owner.token);
    const far = { available_from: '2031-06-02T10:00:00Z', available_to: '2031-06-02T12:00:00Z' };
    const attempt = await call(app, 'POST', '/api/bookings', {
      token: client.token,
      body: { space_id: space.id, start_time: far.available_from, end_time: far.available_to },
    });
    assertError(attempt, 400, 'too_far_ahead');
    assert.deepEqual(await listedIds(owner.id, far), [], 'the listing agrees with the booking endpoint');
  });

  it('leaves out a window that starts right now, which no booking can take (start_in_past)', async () => {
    const owner = await newOwner();
    const client = await newClient();
    const space = await createSpace(app, owner.token);
    const rightNow = { available_from: NOW, available_to: '2030-01-06T10:00:00.000Z' };
    const attempt = await call(app, 'POST', '/api/bookings', {
      token: client.token,
      body: { space_id: space.id, start_time: rightNow.available_from, end_time: rightNow.available_to },
    });
    assertError(attempt, 400, 'start_in_past');
    assert.deepEqual(await listedIds(owner.id, rightNow), [], 'the listing agrees with the booking endpoint');
  });

  it('refuses half a window or a backwards one (400)', async () => {
    const owner = await newOwner();
    const queries: Array<Record<string, string>> = [
      { available_from: '2030-01-08T10:00:00Z' },
      { available_to: '2030-01-08T12:00:00Z' },
      { available_from: '2030-01-08T12:00:00Z', available_to: '2030-01-08T10:00:00Z' },
      { available_from: '2030-01-08T12:00:00Z', available_to: '2030-01-08T12:00:00Z' },
      { available_from: '2030-01-08T10:00:00', available_to: '2030-01-08T12:00:00' },
    ];
    for (const query of queries) {
      const response = await call(app, 'GET', '/api/spaces', { query: { owner_id: String(owner.id), ...query } });
      assertError(response, 400, 'validation_error');
    }
  });
});

// ================================================================================================
describe('DELETE /api/spaces/:id and upcoming bookings', () => {
  const remove = (id: number, user: TestUser, query: Record<string, string> = {}) => call(app, 'DELETE', `/api/spaces/${id}`, { token: user.token, query });

  for (const state of ['pending', 'confirmed'] as const) {
    it(`with an upcoming ${state} booking: 409 invalid_state and nothing changes`, async () => {
      const owner = await newOwner();
      const client = await newClient();
      const space = await createSpace(app, owner.token);
      const booking = await book(client, space.id, '2030-01-08T10:00:00Z', '2030-01-08T12:00:00Z');
      if (state === 'confirmed') await transition(owner, booking.id, 'approve');
      const before = await bookingRow(booking.id);

      assertError(await remove(space.id, owner), 409, 'invalid_state');
      assertError(await remove(space.id, admin), 409, 'invalid_state');
      assertError(await remove(space.id, admin, { force: 'false' }), 409, 'invalid_state');

      assert.equal((await spaceRow(space.id)).archivedAt, null);
      assert.equal((await call(app, 'GET', `/api/spaces/${space.id}`)).status, 200);
      assert.deepEqual(await bookingRow(booking.id), before);
    });
  }

  it('with only past and cancelled bookings: 200, archived, the bookings kept as they were', async () => {
    const owner = await newOwner();
    const client = await newClient();
    const space = await createSpace(app, owner.token);
    const past = await insertBooking({ spaceId: space.id, userId: client.id, start: '2030-01-02T10:00:00Z', end: '2030-01-02T12:00:00Z', status: 'confirmed' });
    const completed = await insertBooking({
      spaceId: space.id,
      userId: client.id,
      start: '2030-01-03T10:00:00Z',
      end: '2030-01-03T12:00:00Z',
      status: 'completed',
      paymentStatus: 'paid',
    });
    const endedJustNow = await insertBooking({ spaceId: space.id, userId: client.id, start: '2030-01-06T06:00:00Z', end: NOW, status: 'confirmed' });
    const cancelled = await book(client, space.id, '2030-01-08T10:00:00Z', '2030-01-08T12:00:00Z');
    await transition(client, cancelled.id, 'cancel');
    const before = await Promise.all([past.id, completed.id, endedJustNow.id, cancelled.id].map(bookingRow));

    const response = await remove(space.id, owner);
    assert.equal(response.status, 200, response.raw);
    assert.equal(typeof response.body.message, 'string');
    assert.notEqual((await spaceRow(space.id)).archivedAt, null);
    assertError(await call(app, 'GET', `/api/spaces/${space.id}`), 404, 'not_found');
    assert.deepEqual(await Promise.all([past.id, completed.id, endedJustNow.id, cancelled.id].map(bookingRow)), before);
  });

  it('an admin with force=true: archived, upcoming bookings cancelled by admin with a reason, their clients mailed', async () => {
    const owner = await newOwner();
    const first = await newClient();
    const second = await newClient();
    const space = await createSpace(app, owner.token, { name: 'Doomed Hall' });
    const pending = await book(first, space.id, '2030-01-08T10:00:00Z', '2030-01-08T12:00:00Z');
    const confirmed = await book(second, space.id, '2030-01-09T10:00:00Z', '2030-01-09T12:00:00Z');
    await transition(owner, confirmed.id, 'approve');
    const completed = await insertBooking({
      spaceId: space.id,
      userId: first.id,
      start: '2030-01-02T10:00:00Z',
      end: '2030-01-02T12:00:00Z',
      status: 'completed',
    });
    const completedBefore = await bookingRow(completed.id);
    const mailsBefore = { first: (await queuedMails(app, first.email)).length, second: (await queuedMails(app, second.email)).length };

    const response = await remove(space.id, admin, { force: 'true' });
    assert.equal(response.status, 200, response.raw);

    const archived = await spaceRow(space.id);
    assert.notEqual(archived.archivedAt, null);
    assertError(await call(app, 'GET', `/api/spaces/${space.id}`), 404, 'not_found');
    for (const id of [pending.id, confirmed.id]) {
      const row = await bookingRow(id);
      assert.equal(row.status, 'cancelled', `booking ${id}`);
      assert.equal(row.cancelledBy, 'admin');
      assert.ok(row.cancellationReason && row.cancellationReason.length > 0, 'a cancellation reason');
    }
    assert.deepEqual(await bookingRow(completed.id), completedBefore, 'the past booking is kept as it was');

    // The API shows the same.
    const shown = await call(app, 'GET', `/api/bookings/${pending.id}`, { token: first.token });
    assert.equal(shown.status, 200, shown.raw);
    assert.equal(shown.body.status, 'cancelled');
    assert.equal(shown.body.cancelled_by, 'admin');

    for (const [client, count] of [
      [first, mailsBefore.first],
      [second, mailsBefore.second],
    ] as const) {
      const mails = await queuedMails(app, client.email);
      assert.equal(mails.length, count + 1, `one new mail to ${client.email}`);
      assert.match(mails[0]!.subject, /cancelled/i);
      assert.match(mails[0]!.subject, /Doomed Hall/);
    }
    // The slots are free again (the space is gone, but nothing live holds them).
    const [live] = await queryRows<{ n: number }>(
      db,
      sql`select count(*)::int as n from bookings where space_id = ${space.id} and status in ('pending', 'confirmed')`,
    );
    assert.equal(live!.n, 0);
  });

  it('the owner with force=true: 403 and nothing changes', async () => {
    const owner = await newOwner();
    const client = await newClient();
    const space = await createSpace(app, owner.token);
    const booking = await book(client, space.id, '2030-01-08T10:00:00Z', '2030-01-08T12:00:00Z');
    const before = await bookingRow(booking.id);

    assertError(await remove(space.id, owner, { force: 'true' }), 403, 'forbidden');
    assert.equal((await spaceRow(space.id)).archivedAt, null);
    assert.deepEqual(await bookingRow(booking.id), before);

    // Without upcoming bookings the owner still may not force.
    const empty = await createSpace(app, owner.token);
    assertError(await remove(empty.id, owner, { force: 'true' }), 403, 'forbidden');
    assert.equal((await spaceRow(empty.id)).archivedAt, null);
  });
});

// ================================================================================================
describe('deactivating an account (admin DELETE /api/users/:id)', () => {
  const deactivate = (id: number) => call(app, 'DELETE', `/api/users/${id}`, { token: admin.token });

  it("cancels a client's upcoming bookings and leaves past and completed ones alone", async () => {
    const owner = await newOwner();
    const client = await newClient();
    const bystander = await newClient();
    const space = await createSpace(app, owner.token);
    const other = await createSpace(app, owner.token);

    const pending = await book(client, space.id, '2030-01-08T10:00:00Z', '2030-01-08T12:00:00Z');
    const confirmed = await book(client, other.id, '2030-01-09T10:00:00Z', '2030-01-09T12:00:00Z');
    await transition(owner, confirmed.id, 'approve');
    const pastConfirmed = await insertBooking({
      spaceId: space.id,
      userId: client.id,
      start: '2030-01-02T10:00:00Z',
      end: '2030-01-02T12:00:00Z',
      status: 'confirmed',
    });
    const completed = await insertBooking({
      spaceId: other.id,
      userId: client.id,
      start: '2030-01-03T10:00:00Z',
      end: '2030-01-03T12:00:00Z',
      status: 'completed',
      paymentStatus: 'paid',
    });
    const theirs = await book(bystander, space.id, '2030-01-10T10:00:00Z', '2030-01-10T12:00:00Z');
    const untouched = await Promise.all([pastConfirmed.id, completed.id, theirs.id].map(bookingRow));

    const response = await deactivate(client.id);
    assert.equal(response.status, 200, response.raw);

    const [user] = await db.select({ isActive: users.isActive }).from(users).where(eq(users.id, client.id));
    assert.equal(user!.isActive, false);
    for (const id of [pending.id, confirmed.id]) {
      const row = await bookingRow(id);
      assert.equal(row.status, 'cancelled', `booking ${id}`);
      assert.equal(row.cancelledBy, 'admin');
      assert.ok(row.cancellationReason, 'a cancellation reason');
    }
    assert.deepEqual(await Promise.all([pastConfirmed.id, completed.id, theirs.id].map(bookingRow)), untouched);
    // The freed slot can be booked by someone else.
    await book(bystander, space.id, '2030-01-08T10:00:00Z', '2030-01-08T12:00:00Z');
    // The owner's listings are not affected by a client's deactivation.
    assert.equal((await spaceRow(space.id)).isAvailable, true);
  });

  it("cancels the upcoming bookings at an owner's spaces, mails their clients and unlists the spaces", async () => {
    const owner = await newOwner();
    const client = await newClient();
    const otherOwner = await newOwner();
    const first = await createSpace(app, owner.token, { name: 'Closing Loft' });
    const second = await createSpace(app, owner.token);
    const elsewhere = await createSpace(app, otherOwner.token);

    const pending = await book(client, first.id, '2030-01-08T10:00:00Z', '2030-01-08T12:00:00Z');
    const confirmed = await book(client, second.id, '2030-01-09T10:00:00Z', '2030-01-09T12:00:00Z');
    await transition(owner, confirmed.id, 'approve');
    const past = await insertBooking({ spaceId: first.id, userId: client.id, start: '2030-01-02T10:00:00Z', end: '2030-01-02T12:00:00Z', status: 'completed' });
    const notTheirs = await book(client, elsewhere.id, '2030-01-08T10:00:00Z', '2030-01-08T12:00:00Z');
    const untouched = await Promise.all([past.id, notTheirs.id].map(bookingRow));
    const mailsBefore = (await queuedMails(app, client.email)).length;

    const response = await deactivate(owner.id);
    assert.equal(response.status, 200, response.raw);

    for (const id of [pending.id, confirmed.id]) {
      const row = await bookingRow(id);
      assert.equal(row.status, 'cancelled', `booking ${id}`);
      assert.equal(row.cancelledBy, 'admin');
      assert.ok(row.cancellationReason, 'a cancellation reason');
    }
    assert.deepEqual(await Promise.all([past.id, notTheirs.id].map(bookingRow)), untouched);
    const mails = await queuedMails(app, client.email);
    assert.equal(mails.length, mailsBefore + 2, 'one notice per cancelled booking');
    assert.ok(mails.slice(0, 2).every((mail) => /cancelled/i.test(mail.subject)));

    for (const space of [first, second]) {
      const shown = await call(app, 'GET', `/api/spaces/${space.id}`);
      assert.equal(shown.status, 200, 'unlisted, not archived');
      assert.equal(shown.body.is_available, false);
      assert.equal(shown.body.status, 'unavailable');
    }
    assert.equal((await spaceRow(elsewhere.id)).isAvailable, true);
    const listed = await call(app, 'GET', '/api/spaces', { query: { owner_id: String(owner.id), status: 'available' } });
    assert.equal(listed.body.total, 0);
    // And they take no new bookings.
    assertError(
      await call(app, 'POST', '/api/bookings', {
        token: client.token,
        body: { space_id: first.id, start_time: '2030-01-11T10:00:00Z', end_time: '2030-01-11T12:00:00Z' },
      }),
      409,
      'space_unavailable',
    );
  });
});

// ================================================================================================
describe('GET /api/spaces/stats', () => {
  const stats = (user?: TestUser) => call(app, 'GET', '/api/spaces/stats', auth(user));

  it('counts an owner’s listings, bookings by status and revenue from completed payments', async () => {
    const owner = await newOwner();
    const client = await newClient();
    const otherOwner = await newOwner();

    const empty = await stats(owner);
    assert.equal(empty.status, 200, empty.raw);
    assert.deepEqual(empty.body, {
      total: 0,
      available: 0,
      unavailable: 0,
      bookings_by_status: { pending: 0, confirmed: 0, cancelled: 0, completed: 0 },
      revenue: { total: 0, currency: 'KES', by_currency: [] },
    });

    const first = await createSpace(app, owner.token, { price_per_hour: 1000.1 });
    const second = await createSpace(app, owner.token, { price_per_hour: 2500 });
    await createSpace(app, owner.token, { is_available: false });
    const elsewhere = await createSpace(app, otherOwner.token);

    const stillPending = await book(client, first.id, '2030-01-08T10:00:00Z', '2030-01-08T12:00:00Z');
    const approved = await book(client, first.id, '2030-01-09T10:00:00Z', '2030-01-09T11:30:00Z');
    await transition(owner, approved.id, 'approve');
    const rejected = await book(client, second.id, '2030-01-08T10:00:00Z', '2030-01-08T12:00:00Z');
    await transition(owner, rejected.id, 'reject', { reason: 'closed for works' });
    const withdrawn = await book(client, second.id, '2030-01-09T10:00:00Z', '2030-01-09T12:00:00Z');
    await transition(client, withdrawn.id, 'cancel');
    const done = await insertBooking({
      spaceId: second.id,
      userId: client.id,
      start: '2030-01-02T10:00:00Z',
      end: '2030-01-02T13:00:00Z',
      status: 'completed',
      totalPrice: 750_000,
    });
    // Elsewhere: never counted for this owner.
    const foreign = await book(client, elsewhere.id, '2030-01-08T10:00:00Z', '2030-01-08T12:00:00Z');

    assert.equal(approved.total_price, 1500.15, '1000.10 × 1.5 h');
    // Revenue is what completed payments took, less what was refunded.
    for (const id of [approved.id, done.id, foreign.id]) await insertCompletedPayment(app, id);
    await db.update(bookings).set({ paymentStatus: 'pending' }).where(eq(bookings.id, stillPending.id));

    const response = await stats(owner);
    assert.equal(response.status, 200, response.raw);
    assert.deepEqual(response.body, {
      total: 3,
      available: 2,
      unavailable: 1,
      bookings_by_status: { pending: 1, confirmed: 1, cancelled: 2, completed: 1 },
      revenue: { total: 9000.15, currency: 'KES', by_currency: [{ currency: 'KES', total: 9000.15 }] },
    });

    const theirs = await stats(otherOwner);
    assert.deepEqual(theirs.body.bookings_by_status, { pending: 1, confirmed: 0, cancelled: 0, completed: 0 });
    assert.equal(theirs.body.revenue.total, (await bookingRow(foreign.id)).totalPrice / 100);
  });

  it('reports revenue in the currency it was earned in, never adding currencies together', async () => {
    const owner = await newOwner();
    const client = await newClient();
    const space = await createSpace(app, owner.token, { currency: 'USD', price_per_hour: 40 });
    assert.equal(space.currency, 'USD');
    const booking = await book(client, space.id, '2030-01-08T10:00:00Z', '2030-01-08T12:00:00Z');
    assert.equal(booking.currency, 'USD');
    await insertCompletedPayment(app, booking.id);
    const response = await stats(owner);
    assert.equal(response.status, 200, response.raw);
    assert.deepEqual(response.body.revenue, { total: 80, currency: 'USD', by_currency: [{ currency: 'USD', total: 80 }] }, '80 USD is not 80 KES');

    // Earning in a second currency lists both, never summed: the larger leads.
    const kesSpace = await createSpace(app, owner.token, { price_per_hour: 50 });
    const kesBooking = await book(client, kesSpace.id, '2030-01-08T10:00:00Z', '2030-01-08T13:00:00Z');
    await insertCompletedPayment(app, kesBooking.id);
    const mixed = await stats(owner);
    assert.deepEqual(mixed.body.revenue, {
      total: 150,
      currency: 'KES',
      by_currency: [
        { currency: 'KES', total: 150 },
        { currency: 'USD', total: 80 },
      ],
    });
  });

  it('an admin sees every booking; a client is refused (403), anonymous 401', async () => {
    const response = await stats(admin);
    assert.equal(response.status, 200, response.raw);
    const rows = await queryRows<{ status: BookingStatus; n: number }>(db, sql`select status, count(*)::int as n from bookings group by status`);
    const expected = { pending: 0, confirmed: 0, cancelled: 0, completed: 0 };
    for (const row of rows) expected[row.status] = row.n;
    assert.deepEqual(response.body.bookings_by_status, expected);
    const paid = await queryRows<{ currency: string; total: string }>(
      db,
      sql`select currency, sum(amount - refunded_amount)::text as total from payments where status in ('completed', 'refunded')
          group by currency having sum(amount - refunded_amount) > 0 order by sum(amount - refunded_amount) desc, currency`,
    );
    const byCurrency = paid.map((row) => ({ currency: row.currency, total: Number(row.total) / 100 }));
    assert.deepEqual(response.body.revenue.by_currency, byCurrency);
    assert.equal(response.body.revenue.total, byCurrency[0]?.total ?? 0);

    assertError(await stats(await newClient()), 403);
    assertError(await stats(), 401, 'unauthorized');
  });
});
