import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { and, count, eq } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { bookings, idempotencyKeys, type BookingRow } from '../../src/db/schema/index.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { buildTestApp, call, type CallResult } from '../helpers/app.ts';
import { assertError } from '../helpers/assertions.ts';
import { createBooking, insertCompletedPayment, storedBooking } from '../helpers/bookings.ts';
import { createUser, type TestUser } from '../helpers/factories.ts';
import { queuedMails } from '../helpers/mail.ts';
import { createSpace } from '../helpers/spaces.ts';

/**
 * Every business time check reads the app's clock, so the main app stands still at NOW (a Sunday,
 * 11:00 in Nairobi) and slots are fixed instants. Tests that move time use `timed`, a second app
 * on the same database whose clock each of them resets to NOW first.
 */
const NOW = '2030-01-06T08:00:00.000Z';
const NOW_MS = Date.parse(NOW);
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

// Tokens outlive any time travel here, so a 401 always means what the test says it means.
const env = { ACCESS_TOKEN_TTL: '3650d', REFRESH_TOKEN_TTL: '3650d' };

const app = await buildTestApp({ clock: new ManualClock(NOW), env });
const db = app.services.database.db;

const travel = new ManualClock(NOW);
const timed = await buildTestApp({ clock: travel, env });

/** The time-travelling app with its clock back at NOW. */
function timeMachine() {
  travel.set(NOW);
  return { app: timed, clock: travel };
}

const admin = await createUser(app, { role: 'admin' });

/** An id no row will reach in this file's lifetime (still a valid id for the schema). */
const MISSING_ID = 2_000_000_000;

/** The Booking resource exactly, as the contract lists it. */
const BOOKING_KEYS = [
  'cancellation_reason',
  'cancelled_by',
  'created_at',
  'currency',
  'duration_hours',
  'end_time',
  'guests',
  'id',
  'payment_status',
  'purpose',
  'space',
  'space_id',
  'start_time',
  'status',
  'total_price',
  'updated_at',
  'user_id',
];

/** An instant on the day most slots use (a Thursday), in UTC: at('09:00') is 2030-01-10T09:00:00.000Z. */
const at = (hhmm: string, day = '2030-01-10') => `${day}T${hhmm}:00.000Z`;
const iso = (ms: number) => new Date(ms).toISOString();

// --- calls -------------------------------------------------------------------------------------

const auth = (token: string | undefined) => (token ? { token } : {});

const postBooking = (token: string | undefined, body: unknown, options: { headers?: Record<string, string>; target?: FastifyInstance } = {}) =>
  call(options.target ?? app, 'POST', '/api/bookings', { ...auth(token), body, ...(options.headers ? { headers: options.headers } : {}) });

const getBooking = (token: string | undefined, id: number | string, target = app) => call(target, 'GET', `/api/bookings/${id}`, auth(token));

const listBookings = (token: string | undefined, query: Record<string, string> = {}) => call(app, 'GET', '/api/bookings', { ...auth(token), query });

type Method = 'PUT' | 'POST';
type Action = 'approve' | 'reject' | 'cancel' | 'complete';

const act = (method: Method, action: Action, token: string | undefined, id: number | string, options: { body?: unknown; target?: FastifyInstance } = {}) =>
  call(options.target ?? app, method, `/api/bookings/${id}/${action}`, { ...auth(token), ...(options.body !== undefined ? { body: options.body } : {}) });

const quote = (token: string | undefined, id: number, target = app) => call(target, 'GET', `/api/bookings/${id}/cancellation-quote`, auth(token));

const checkAvailability = (query: Record<string, string>, token?: string) => call(app, 'GET', '/api/bookings/check-availability', { ...auth(token), query });

// --- assertions --------------------------------------------------------------------------------

// --- setup and database ------------------------------------------------------------------------

interface World {
  owner: TestUser;
  client: TestUser;
  space: any;
}

/** A fresh owner with one space (1500 KES an hour unless overridden) and a fresh client. */
async function world(spaceOverrides: Record<string, unknown> = {}, target = app): Promise<World> {
  const owner = await createUser(target, { role: 'owner' });
  const client = await createUser(target, { role: 'client' });
  const space = await createSpace(target, owner.token, { price_per_hour: 1500, ...spaceOverrides });
  return { owner, client, space };
}

const slot = (space: { id: number }, start: string, end: string, extra: Record<string, unknown> = {}) => ({
  space_id: space.id,
  start_time: start,
  end_time: end,
  ...extra,
});

/** A world with one pending booking by its client, 09:00–11:00 on the usual day unless told. */
async function withPendingBooking(options: { target?: FastifyInstance; space?: Record<string, unknown>; start?: string; end?: string } = {}) {
  const target = options.target ?? app;
  const scene = await world(options.space ?? {}, target);
  const booking = await createBooking(target, scene.client.token, slot(scene.space, options.start ?? at('09:00'), options.end ?? at('11:00')));
  return { ...scene, booking };
}

async function stored(id: number): Promise<BookingRow> {
  const row = await storedBooking(app, id);
  assert.ok(row, `booking ${id} exists`);
  return row;
}

const rowsOfSpace = (spaceId: number) => db.select().from(bookings).where(eq(bookings.spaceId, spaceId)).orderBy(bookings.id);

/** Paid in full: a completed payment, as the refund rules read it. */
async function setPaid(id: number) {
  await insertCompletedPayment(app, id);
}

const idsOf = (response: CallResult) => response.body.bookings.map((booking: { id: number }) => booking.id);

// --- POST /api/bookings ------------------------------------------------------------------------

describe('POST /api/bookings', () => {
  it('returns 201 with every field of the Booking, pending and unpaid, priced at price × exact hours, and stores it', async () => {
    const { client, space } = await world({ name: 'Riverside Loft', city: 'Nairobi', address: '12 Riverside Drive' });

    const response = await postBooking(client.token, slot(space, at('09:00'), at('11:30'), { purpose: 'Team planning' }));

    assert.equal(response.status, 201, response.raw);
    assert.deepEqual(Object.keys(response.body).sort(), BOOKING_KEYS);
    assert.deepEqual(response.body, {
      id: response.body.id,
      space_id: space.id,
      user_id: client.id,
      space: { id: space.id, name: 'Riverside Loft', city: 'Nairobi', address: '12 Riverside Drive' },
      start_time: '2030-01-10T09:00:00.000Z',
      end_time: '2030-01-10T11:30:00.000Z',
      duration_hours: 2.5,
      guests: 1,
      purpose: 'Team planning',
      total_price: 3750,
      currency: 'KES',
      status: 'pending',
      payment_status: 'unpaid',
      cancellation_reason: null,
      cancelled_by: null,
      created_at: NOW,
      updated_at: NOW,
    });
    const row = await stored(response.body.id);
    assert.equal(row.spaceId, space.id);
    assert.equal(row.userId, client.id);
    assert.equal(row.startTime.toISOString(), '2030-01-10T09:00:00.000Z');
    assert.equal(row.endTime.toISOString(), '2030-01-10T11:30:00.000Z');
    assert.equal(row.blockedUntil.toISOString(), '2030-01-10T11:30:00.000Z', 'no buffer: the slot ends with the booking');
    assert.equal(row.totalPrice, 375_000, 'the price is stored in minor units');
    assert.equal(row.currency, 'KES');
    assert.equal(row.status, 'pending');
    assert.equal(row.paymentStatus, 'unpaid');
    assert.equal(row.guests, 1);
    assert.equal(row.purpose, 'Team planning');
  });

  it('prices an odd duration exactly in minor units, rounded half up', async () => {
    const { client, space } = await world({ price_per_hour: 1234.57 });

    // 123457 cents × 80/60 = 164609.33… → 164609; × 90/60 = 185185.5 → 185186 (a float would say 1851.855).
    const eighty = await postBooking(client.token, slot(space, at('09:00'), at('10:20')));
    const ninety = await postBooking(client.token, slot(space, at('12:00'), at('13:30')));

    assert.equal(eighty.status, 201, eighty.raw);
    assert.equal(eighty.body.total_price, 1646.09);
    assert.equal(eighty.body.duration_hours, 1.33);
    assert.equal((await stored(eighty.body.id)).totalPrice, 164_609);
    assert.equal(ninety.status, 201, ninety.raw);
    assert.equal(ninety.body.total_price, 1851.86);
    assert.equal(ninety.body.duration_hours, 1.5);
    assert.equal((await stored(ninety.body.id)).totalPrice, 185_186);
  });

  it('takes the currency of the space', async () => {
    const { client, space } = await world({ currency: 'USD', price_per_hour: 20 });

    const response = await postBooking(client.token, slot(space, at('09:00'), at('10:00')));

    assert.equal(response.status, 201, response.raw);
    assert.equal(response.body.currency, 'USD');
    assert.equal(response.body.total_price, 20);
    assert.equal((await stored(response.body.id)).currency, 'USD');
  });

  it('stores and returns times sent with an offset in UTC with Z', async () => {
    const { client, space } = await world();

    const response = await postBooking(client.token, slot(space, '2030-01-10T12:00:00+03:00', '2030-01-10T14:00:00.000+03:00'));

    assert.equal(response.status, 201, response.raw);
    assert.equal(response.body.start_time, '2030-01-10T09:00:00.000Z');
    assert.equal(response.body.end_time, '2030-01-10T11:00:00.000Z');
    const row = await stored(response.body.id);
    assert.equal(row.startTime.toISOString(), '2030-01-10T09:00:00.000Z');
    assert.equal(row.endTime.toISOString(), '2030-01-10T11:00:00.000Z');
  });

  it('stores the number of guests it is given', async () => {
    const { client, space } = await world({ capacity: 3 });

    const response = await postBooking(client.token, slot(space, at('09:00'), at('10:00'), { guests: 3 }));

    assert.equal(response.status, 201, response.raw);
    assert.equal(response.body.guests, 3);
    assert.equal((await stored(response.body.id)).guests, 3);
  });

  it('ignores total_price, status, payment_status and user_id sent by the client', async () => {
    const { client, space } = await world();
    const other = await createUser(app);

    const response = await postBooking(
      client.token,
      slot(space, at('09:00'), at('11:00'), { total_price: 1, status: 'confirmed', payment_status: 'paid', user_id: other.id, cancelled_by: 'admin' }),
    );

    assert.equal(response.status, 201, response.raw);
    assert.equal(response.body.total_price, 3000);
    assert.equal(response.body.status, 'pending');
    assert.equal(response.body.payment_status, 'unpaid');
    assert.equal(response.body.user_id, client.id);
    assert.equal(response.body.cancelled_by, null);
    const row = await stored(response.body.id);
    assert.equal(row.totalPrice, 300_000);
    assert.equal(row.status, 'pending');
    assert.equal(row.paymentStatus, 'unpaid');
    assert.equal(row.userId, client.id);
  });

  it('returns 201 for an admin, who books as themself', async () => {
    const { space } = await world();

    const response = await postBooking(admin.token, slot(space, at('09:00'), at('10:00')));

    assert.equal(response.status, 201, response.raw);
    assert.equal(response.body.user_id, admin.id);
    assert.equal((await stored(response.body.id)).userId, admin.id);
  });

  it("accepts a booking filling the opening hours exactly, judged in the space's time zone", async () => {
    const weekdays = [['08:00', '18:00']];
    const { client, space } = await world({
      timezone: 'Africa/Nairobi',
      operating_hours: { mon: weekdays, tue: weekdays, wed: weekdays, thu: weekdays, fri: weekdays },
    });

    // Monday 08:00–18:00 in Nairobi is 05:00–15:00 UTC.
    const response = await postBooking(client.token, slot(space, '2030-01-07T08:00:00+03:00', '2030-01-07T18:00:00+03:00'));

    assert.equal(response.status, 201, response.raw);
    assert.equal(response.body.start_time, '2030-01-07T05:00:00.000Z');
    assert.equal(response.body.end_time, '2030-01-07T15:00:00.000Z');
    assert.equal(response.body.total_price, 15_000);
  });

  it('accepts the edges of the notice and advance windows', async () => {
    const { client, space } = await world({ min_notice_hours: 24 });

    const soonest = await postBooking(client.token, slot(space, iso(NOW_MS + DAY), iso(NOW_MS + DAY + HOUR)));
    const furthest = await postBooking(client.token, slot(space, iso(NOW_MS + 364 * DAY), iso(NOW_MS + 364 * DAY + HOUR)));

    assert.equal(soonest.status, 201, soonest.raw);
    assert.equal(furthest.status, 201, furthest.raw);
  });

  it('accepts the shortest and the longest duration the space allows', async () => {
    const { client, space } = await world({ min_booking_hours: 2, max_booking_hours: 4 });

    const shortest = await postBooking(client.token, slot(space, at('08:00'), at('10:00')));
    const longest = await postBooking(client.token, slot(space, at('12:00'), at('16:00')));

    assert.equal(shortest.status, 201, shortest.raw);
    assert.equal(longest.status, 201, longest.raw);
  });

  it('returns 400 validation_error for a time without an offset, and stores nothing', async () => {
    const { client, space } = await world();

    const response = await postBooking(client.token, slot(space, '2030-01-10T09:00:00', at('11:00')));

    assertError(response, 400, 'validation_error');
    assert.ok(
      response.body.details.some((detail: { field: string }) => detail.field === 'start_time'),
      JSON.stringify(response.body.details),
    );
    assert.deepEqual(await rowsOfSpace(space.id), []);
  });

  it('returns 400 validation_error for a missing space_id, a malformed time or zero guests', async () => {
    const { client, space } = await world();

    assertError(await postBooking(client.token, { start_time: at('09:00'), end_time: at('10:00') }), 400, 'validation_error');
    assertError(await postBooking(client.token, slot(space, 'tomorrow at nine', at('10:00'))), 400, 'validation_error');
    assertError(await postBooking(client.token, slot(space, at('09:00'), at('10:00'), { guests: 0 })), 400, 'validation_error');
    assert.deepEqual(await rowsOfSpace(space.id), []);
  });

  it('returns 400 invalid_time_range when the end is not after the start', async () => {
    const { client, space } = await world();

    assertError(await postBooking(client.token, slot(space, at('11:00'), at('09:00'))), 400, 'invalid_time_range');
    assertError(await postBooking(client.token, slot(space, at('09:00'), at('09:00'))), 400, 'invalid_time_range');
    assert.deepEqual(await rowsOfSpace(space.id), []);
  });

  it('returns 400 start_in_past for a start before now', async () => {
    const { client, space } = await world();

    const response = await postBooking(client.token, slot(space, iso(NOW_MS - HOUR), iso(NOW_MS + HOUR)));

    assertError(response, 400, 'start_in_past');
    assert.deepEqual(await rowsOfSpace(space.id), []);
  });

  it('returns 400 insufficient_notice for a start sooner than min_notice_hours', async () => {
    const { client, space } = await world({ min_notice_hours: 24 });

    const response = await postBooking(client.token, slot(space, iso(NOW_MS + 23 * HOUR), iso(NOW_MS + 25 * HOUR)));

    assertError(response, 400, 'insufficient_notice');
    assert.deepEqual(await rowsOfSpace(space.id), []);
  });

  it('returns 400 too_far_ahead for a start more than 365 days away', async () => {
    const { client, space } = await world();

    const response = await postBooking(client.token, slot(space, iso(NOW_MS + 366 * DAY), iso(NOW_MS + 366 * DAY + HOUR)));

    assertError(response, 400, 'too_far_ahead');
    assert.deepEqual(await rowsOfSpace(space.id), []);
  });

  it("returns 400 duration_too_short and duration_too_long outside the space's min and max hours", async () => {
    const { client, space } = await world({ min_booking_hours: 2, max_booking_hours: 4 });

    assertError(await postBooking(client.token, slot(space, at('09:00'), at('10:30'))), 400, 'duration_too_short');
    assertError(await postBooking(client.token, slot(space, at('09:00'), at('13:30'))), 400, 'duration_too_long');
    assert.deepEqual(await rowsOfSpace(space.id), []);
  });

  it('returns 400 duration_too_short and duration_too_long against the defaults of 1 and 24 hours', async () => {
    const { client, space } = await world();

    assertError(await postBooking(client.token, slot(space, at('09:00'), at('09:59'))), 400, 'duration_too_short');
    assertError(await postBooking(client.token, slot(space, at('09:00'), at('09:01', '2030-01-11'))), 400, 'duration_too_long');
  });

  it('returns 400 outside_operating_hours for a booking starting before opening, ending after closing, or on a closed day', async () => {
    const weekdays = [['08:00', '18:00']];
    const { client, space } = await world({
      timezone: 'Africa/Nairobi',
      operating_hours: { mon: weekdays, tue: weekdays, wed: weekdays, thu: weekdays, fri: weekdays },
    });

    // 07:00–09:00 in Nairobi on a Monday (04:00–06:00 UTC, which alone would look like office hours nowhere).
    assertError(await postBooking(client.token, slot(space, '2030-01-07T04:00:00Z', '2030-01-07T06:00:00Z')), 400, 'outside_operating_hours');
    assertError(await postBooking(client.token, slot(space, '2030-01-07T17:00:00+03:00', '2030-01-07T19:00:00+03:00')), 400, 'outside_operating_hours');
    // Saturday 10:00–12:00 local: closed all day.
    assertError(await postBooking(client.token, slot(space, '2030-01-12T10:00:00+03:00', '2030-01-12T12:00:00+03:00')), 400, 'outside_operating_hours');
    assert.deepEqual(await rowsOfSpace(space.id), []);
  });

  it('judges opening hours by the local wall clock across a daylight-saving change', async () => {
    // Berlin moves from UTC+1 to UTC+2 on Sunday 2030-03-31: 08:00 local is 07:00Z the week before, 06:00Z that day.
    const { client, space } = await world({ timezone: 'Europe/Berlin', operating_hours: { sun: [['08:00', '18:00']] } });

    const winter = await postBooking(client.token, slot(space, '2030-03-24T07:00:00Z', '2030-03-24T17:00:00Z'));
    const summer = await postBooking(client.token, slot(space, '2030-03-31T06:00:00Z', '2030-03-31T16:00:00Z'));
    const summerAtWinterTimes = await postBooking(client.token, slot(space, '2030-03-31T07:00:00Z', '2030-03-31T17:00:00Z'));
    const winterAtSummerTimes = await postBooking(client.token, slot(space, '2030-03-24T06:00:00Z', '2030-03-24T08:00:00Z'));

    assert.equal(winter.status, 201, winter.raw);
    assert.equal(summer.status, 201, summer.raw);
    assertError(summerAtWinterTimes, 400, 'outside_operating_hours');
    assertError(winterAtSummerTimes, 400, 'outside_operating_hours');
  });

  it('returns 400, not 500, for a time the format check passes but the server cannot read (a leap second, an hour-only offset)', async () => {
    const { client, space } = await world();

    assertError(await postBooking(client.token, slot(space, '2030-01-12T23:59:60Z', '2030-01-13T01:00:00Z')), 400, 'validation_error');
    assertError(await postBooking(client.token, slot(space, '2030-01-12T09:00:00+03', '2030-01-12T11:00:00+03')), 400, 'validation_error');
    assert.deepEqual(await rowsOfSpace(space.id), []);
  });

  it('returns 400 capacity_exceeded for more guests than the space holds', async () => {
    const { client, space } = await world({ capacity: 3 });

    const response = await postBooking(client.token, slot(space, at('09:00'), at('10:00'), { guests: 4 }));

    assertError(response, 400, 'capacity_exceeded');
    assert.deepEqual(await rowsOfSpace(space.id), []);
  });

  it('returns 401 unauthorized without a token, and stores nothing', async () => {
    const { space } = await world();

    assertError(await postBooking(undefined, slot(space, at('09:00'), at('10:00'))), 401, 'unauthorized');
    assert.deepEqual(await rowsOfSpace(space.id), []);
  });

  it('returns 403 role_not_allowed for an owner, even for their own space', async () => {
    const { owner, space } = await world();

    assertError(await postBooking(owner.token, slot(space, at('09:00'), at('10:00'))), 403, 'role_not_allowed');
    assert.deepEqual(await rowsOfSpace(space.id), []);
  });

  it('returns 404 not_found for a space that does not exist', async () => {
    const { client } = await world();

    assertError(await postBooking(client.token, slot({ id: MISSING_ID }, at('09:00'), at('10:00'))), 404, 'not_found');
  });

  it('returns 404 not_found for an archived space', async () => {
    const { owner, client, space } = await world();
    assert.equal((await call(app, 'DELETE', `/api/spaces/${space.id}`, { token: owner.token })).status, 200);

    assertError(await postBooking(client.token, slot(space, at('09:00'), at('10:00'))), 404, 'not_found');
    assert.deepEqual(await rowsOfSpace(space.id), []);
  });

  it('returns 409 space_unavailable for a space that is not taking bookings', async () => {
    const { client, space } = await world({ is_available: false });

    assertError(await postBooking(client.token, slot(space, at('09:00'), at('10:00'))), 409, 'space_unavailable');
    assert.deepEqual(await rowsOfSpace(space.id), []);
  });
});

// --- overlaps ----------------------------------------------------------------------------------

describe('POST /api/bookings: overlapping slots', () => {
  it('returns 409 booking_conflict for an exactly, partially or wholly overlapping slot, and keeps one booking', async () => {
    const { space, booking } = await withPendingBooking({ start: at('10:00'), end: at('12:00') });
    const other = await createUser(app);

    for (const [start, end] of [
      [at('10:00'), at('12:00')],
      [at('11:00'), at('13:00')],
      [at('09:00'), at('11:00')],
      [at('09:00'), at('13:00')],
      [at('10:30'), at('11:30')],
    ] as const) {
      assertError(await postBooking(other.token, slot(space, start, end)), 409, 'booking_conflict');
    }
    assert.deepEqual(
      (await rowsOfSpace(space.id)).map((row) => row.id),
      [booking.id],
    );
  });

  it('accepts back-to-back bookings on both sides when buffer_minutes is 0 (intervals are half-open)', async () => {
    const { space } = await withPendingBooking({ start: at('10:00'), end: at('12:00') });
    const other = await createUser(app);

    const after = await postBooking(other.token, slot(space, at('12:00'), at('14:00')));
    const before = await postBooking(other.token, slot(space, at('08:00'), at('10:00')));

    assert.equal(after.status, 201, after.raw);
    assert.equal(before.status, 201, before.raw);
    assert.equal((await rowsOfSpace(space.id)).length, 3);
  });

  it('with buffer_minutes 30, refuses a start within the buffer after a booking and accepts one at its end', async () => {
    const { space, booking } = await withPendingBooking({ space: { buffer_minutes: 30 }, start: at('10:00'), end: at('12:00') });
    const other = await createUser(app);
    assert.equal((await stored(booking.id)).blockedUntil.toISOString(), at('12:30'));

    assertError(await postBooking(other.token, slot(space, at('12:15'), at('13:15'))), 409, 'booking_conflict');
    const atBufferEnd = await postBooking(other.token, slot(space, at('12:30'), at('13:30')));

    assert.equal(atBufferEnd.status, 201, atBufferEnd.raw);
    assert.equal(atBufferEnd.body.end_time, at('13:30'), 'the buffer is not part of the booking');
    assert.equal(atBufferEnd.body.total_price, 1500, 'nor of its price');
  });

  it('with buffer_minutes 30, refuses a booking whose own buffer reaches into the next one', async () => {
    const { space } = await withPendingBooking({ space: { buffer_minutes: 30 }, start: at('11:00'), end: at('12:00') });
    const other = await createUser(app);

    assertError(await postBooking(other.token, slot(space, at('09:45'), at('10:45'))), 409, 'booking_conflict');
    const clear = await postBooking(other.token, slot(space, at('09:30'), at('10:30')));

    assert.equal(clear.status, 201, clear.raw);
  });

  it('frees the slot of a cancelled booking', async () => {
    const { client, space, booking } = await withPendingBooking();
    const other = await createUser(app);
    assert.equal((await act('PUT', 'cancel', client.token, booking.id)).status, 200);

    const response = await postBooking(other.token, slot(space, at('09:00'), at('11:00')));

    assert.equal(response.status, 201, response.raw);
    assert.deepEqual(
      (await rowsOfSpace(space.id)).map((row) => row.status),
      ['cancelled', 'pending'],
    );
  });

  it('holds the slot for a pending booking and still once it is confirmed', async () => {
    const { owner, space, booking } = await withPendingBooking();
    const other = await createUser(app);

    assertError(await postBooking(other.token, slot(space, at('10:00'), at('12:00'))), 409, 'booking_conflict');
    assert.equal((await act('PUT', 'approve', owner.token, booking.id)).status, 200);
    assertError(await postBooking(other.token, slot(space, at('10:00'), at('12:00'))), 409, 'booking_conflict');
    assert.equal((await rowsOfSpace(space.id)).length, 1);
  });

  it('lets exactly one of several concurrent requests for one slot through; the others get 409 booking_conflict', async () => {
    const { space } = await world();
    const clients = await Promise.all(Array.from({ length: 5 }, () => createUser(app)));

    const responses = await Promise.all(clients.map((client) => postBooking(client.token, slot(space, at('09:00'), at('11:00')))));

    assert.deepEqual(responses.map((response) => response.status).sort(), [201, 409, 409, 409, 409]);
    for (const response of responses.filter((r) => r.status === 409)) assertError(response, 409, 'booking_conflict');
    assert.equal((await rowsOfSpace(space.id)).length, 1);
  });
});

// --- Idempotency-Key ---------------------------------------------------------------------------

describe('POST /api/bookings with an Idempotency-Key', () => {
  const keyed = (key: string) => ({ 'idempotency-key': key });

  const keysOf = (userId: number) => db.select().from(idempotencyKeys).where(eq(idempotencyKeys.userId, userId));

  it('answers a repeat with the same key and body with the first answer, byte for byte, and creates nothing', async () => {
    const { client, space } = await world();
    const body = slot(space, at('09:00'), at('11:00'), { purpose: 'Workshop' });

    const first = await postBooking(client.token, body, { headers: keyed('booking-1') });
    const second = await postBooking(client.token, body, { headers: keyed('booking-1') });

    assert.equal(first.status, 201, first.raw);
    assert.equal(first.headers['idempotent-replayed'], undefined);
    assert.equal(second.status, 201, second.raw);
    assert.equal(second.headers['idempotent-replayed'], 'true');
    assert.match(String(second.headers['content-type']), /^application\/json/);
    assert.equal(second.raw, first.raw);
    assert.equal((await rowsOfSpace(space.id)).length, 1);
  });

  it('treats a body with its keys in another order as the same request', async () => {
    const { client, space } = await world();

    const first = await postBooking(client.token, { space_id: space.id, start_time: at('09:00'), end_time: at('11:00') }, { headers: keyed('reordered') });
    const second = await postBooking(client.token, { end_time: at('11:00'), start_time: at('09:00'), space_id: space.id }, { headers: keyed('reordered') });

    assert.equal(second.status, 201, second.raw);
    assert.equal(second.headers['idempotent-replayed'], 'true');
    assert.equal(second.body.id, first.body.id);
    assert.equal((await rowsOfSpace(space.id)).length, 1);
  });

  it('returns 409 idempotency_key_reused for the same key with a different body, and creates nothing', async () => {
    const { client, space } = await world();
    const first = await postBooking(client.token, slot(space, at('09:00'), at('11:00')), { headers: keyed('reused') });

    const second = await postBooking(client.token, slot(space, at('13:00'), at('15:00')), { headers: keyed('reused') });

    assert.equal(first.status, 201, first.raw);
    assertError(second, 409, 'idempotency_key_reused');
    assert.equal(second.headers['idempotent-replayed'], undefined);
    assert.deepEqual(
      (await rowsOfSpace(space.id)).map((row) => row.id),
      [first.body.id],
    );
  });

  it('keeps the keys of different users apart', async () => {
    const { client, space } = await world();
    const other = await createUser(app);

    const mine = await postBooking(client.token, slot(space, at('09:00'), at('11:00')), { headers: keyed('shared-key') });
    const theirs = await postBooking(other.token, slot(space, at('13:00'), at('15:00')), { headers: keyed('shared-key') });

    assert.equal(mine.status, 201, mine.raw);
    assert.equal(theirs.status, 201, theirs.raw);
    assert.equal(theirs.headers['idempotent-replayed'], undefined);
    assert.notEqual(theirs.body.id, mine.body.id);
    assert.equal(theirs.body.user_id, other.id);
    assert.equal((await rowsOfSpace(space.id)).length, 2);
  });

  it('replays within 24 hours even after the booking changed, and runs the request anew after them', async () => {
    const { app: target, clock } = timeMachine();
    const { client, space } = await world({}, target);
    const body = slot(space, at('09:00'), at('11:00'));
    const first = await postBooking(client.token, body, { headers: keyed('daily'), target });
    assert.equal(first.status, 201, first.raw);
    assert.equal((await act('PUT', 'cancel', client.token, first.body.id, { target })).status, 200);

    clock.set(iso(NOW_MS + 23 * HOUR));
    const withinDay = await postBooking(client.token, body, { headers: keyed('daily'), target });
    clock.set(iso(NOW_MS + DAY + MINUTE));
    const nextDay = await postBooking(client.token, body, { headers: keyed('daily'), target });

    assert.equal(withinDay.status, 201, withinDay.raw);
    assert.equal(withinDay.headers['idempotent-replayed'], 'true');
    assert.equal(withinDay.raw, first.raw, 'the stored answer, not the booking as it is now');
    assert.equal(nextDay.status, 201, nextDay.raw);
    assert.equal(nextDay.headers['idempotent-replayed'], undefined);
    assert.notEqual(nextDay.body.id, first.body.id);
    assert.equal(nextDay.body.created_at, iso(NOW_MS + DAY + MINUTE));
    assert.deepEqual(
      (await rowsOfSpace(space.id)).map((row) => [row.id, row.status]),
      [
        [first.body.id, 'cancelled'],
        [nextDay.body.id, 'pending'],
      ],
    );
  });

  it('does not keep a failed answer: a retry with the same key runs again and succeeds once the slot is free', async () => {
    const { client, space, booking } = await withPendingBooking();
    const other = await createUser(app);
    const body = slot(space, at('10:00'), at('12:00'));

    const refused = await postBooking(other.token, body, { headers: keyed('retry-me') });
    assertError(refused, 409, 'booking_conflict');
    assert.deepEqual(await keysOf(other.id), [], 'no key is kept for a failure');
    assert.equal((await act('PUT', 'cancel', client.token, booking.id)).status, 200);
    const retried = await postBooking(other.token, body, { headers: keyed('retry-me') });

    assert.equal(retried.status, 201, retried.raw);
    assert.equal(retried.headers['idempotent-replayed'], undefined);
    assert.equal(retried.body.user_id, other.id);
    assert.equal((await keysOf(other.id)).length, 1);
  });

  it('creates exactly one booking for several concurrent identical requests, and answers each with it', async () => {
    const { client, space } = await world();
    const body = slot(space, at('09:00'), at('11:00'));

    const responses = await Promise.all(Array.from({ length: 5 }, () => postBooking(client.token, body, { headers: keyed('burst') })));

    for (const response of responses) assert.equal(response.status, 201, response.raw);
    const ids = new Set(responses.map((response) => response.body.id));
    assert.equal(ids.size, 1, `one id for all: ${[...ids].join(', ')}`);
    assert.equal(responses.filter((response) => response.headers['idempotent-replayed'] === 'true').length, 4);
    const [total] = await db
      .select({ value: count() })
      .from(bookings)
      .where(and(eq(bookings.spaceId, space.id), eq(bookings.userId, client.id)));
    assert.equal(total?.value, 1);
  });

  it('returns 400 validation_error for a key with spaces or control characters', async () => {
    const { client, space } = await world();

    assertError(await postBooking(client.token, slot(space, at('09:00'), at('11:00')), { headers: keyed('two words') }), 400, 'validation_error');
    assert.deepEqual(await rowsOfSpace(space.id), []);
  });
});

// --- GET /api/bookings -------------------------------------------------------------------------

describe('GET /api/bookings', () => {
  /** Two owners with a space each; two clients who book both. */
  async function twoSpaces() {
    const first = await world();
    const second = await world();
    const a1 = await createBooking(app, first.client.token, slot(first.space, at('09:00'), at('10:00')));
    const b1 = await createBooking(app, second.client.token, slot(first.space, at('12:00'), at('13:00')));
    const a2 = await createBooking(app, first.client.token, slot(second.space, at('09:00'), at('10:00')));
    const b2 = await createBooking(app, second.client.token, slot(second.space, at('12:00'), at('13:00')));
    return { first, second, a1, b1, a2, b2 };
  }

  /** Every id an admin sees, page by page. */
  async function everyIdFor(token: string): Promise<number[]> {
    const ids: number[] = [];
    for (let page = 1; ; page++) {
      const response = await listBookings(token, { per_page: '100', page: String(page) });
      assert.equal(response.status, 200, response.raw);
      if (response.body.bookings.length === 0) return ids;
      ids.push(...idsOf(response));
    }
  }

  it('shows a client only their own bookings', async () => {
    const { first, second, a1, a2, b1, b2 } = await twoSpaces();

    const mine = await listBookings(first.client.token);
    const theirs = await listBookings(second.client.token);

    assert.equal(mine.status, 200, mine.raw);
    assert.deepEqual(idsOf(mine).sort(), [a1.id, a2.id].sort());
    assert.equal(mine.body.total, 2);
    assert.deepEqual(idsOf(theirs).sort(), [b1.id, b2.id].sort());
    for (const booking of mine.body.bookings) assert.deepEqual(Object.keys(booking).sort(), BOOKING_KEYS);
  });

  it('shows an owner only the bookings of their own spaces, whoever made them', async () => {
    const { first, second, a1, a2, b1, b2 } = await twoSpaces();

    const firstOwner = await listBookings(first.owner.token);
    const secondOwner = await listBookings(second.owner.token);

    assert.equal(firstOwner.status, 200, firstOwner.raw);
    assert.deepEqual(idsOf(firstOwner).sort(), [a1.id, b1.id].sort());
    assert.equal(firstOwner.body.total, 2);
    assert.deepEqual(idsOf(secondOwner).sort(), [a2.id, b2.id].sort());
  });

  it('shows an admin every booking', async () => {
    const { first, a1, a2, b1, b2 } = await twoSpaces();

    const all = await everyIdFor(admin.token);
    const ofFirstSpace = await listBookings(admin.token, { space_id: String(first.space.id) });

    for (const id of [a1.id, a2.id, b1.id, b2.id]) assert.ok(all.includes(id), `admin sees booking ${id}`);
    assert.equal(new Set(all).size, all.length, 'no booking on two pages');
    assert.deepEqual(idsOf(ofFirstSpace).sort(), [a1.id, b1.id].sort());
  });

  describe('filters and pages', () => {
    /** One client's four bookings: b1 pending 09–11, b2 confirmed 12–14, b3 cancelled 15–17, b4 pending 09–11 on another space. */
    async function fourBookings() {
      const scene = await world();
      const otherSpace = await createSpace(app, scene.owner.token);
      const b1 = await createBooking(app, scene.client.token, slot(scene.space, at('09:00'), at('11:00')));
      const b2 = await createBooking(app, scene.client.token, slot(scene.space, at('12:00'), at('14:00')));
      const b3 = await createBooking(app, scene.client.token, slot(scene.space, at('15:00'), at('17:00')));
      const b4 = await createBooking(app, scene.client.token, slot(otherSpace, at('09:00'), at('11:00')));
      assert.equal((await act('PUT', 'approve', scene.owner.token, b2.id)).status, 200);
      assert.equal((await act('PUT', 'cancel', scene.client.token, b3.id)).status, 200);
      return { ...scene, otherSpace, ids: { b1: b1.id as number, b2: b2.id as number, b3: b3.id as number, b4: b4.id as number } };
    }

    it('orders by start_time descending, ties broken by id descending', async () => {
      const { client, ids } = await fourBookings();

      const response = await listBookings(client.token);

      assert.equal(response.status, 200, response.raw);
      assert.deepEqual(idsOf(response), [ids.b3, ids.b2, ids.b4, ids.b1]);
    });

    it('filters by status and by space_id', async () => {
      const { client, otherSpace, ids } = await fourBookings();

      assert.deepEqual(idsOf(await listBookings(client.token, { status: 'confirmed' })), [ids.b2]);
      assert.deepEqual(idsOf(await listBookings(client.token, { status: 'cancelled' })), [ids.b3]);
      assert.deepEqual(idsOf(await listBookings(client.token, { status: 'pending' })), [ids.b4, ids.b1]);
      assert.deepEqual(idsOf(await listBookings(client.token, { status: 'completed' })), []);
      assert.deepEqual(idsOf(await listBookings(client.token, { space_id: String(otherSpace.id) })), [ids.b4]);
      const both = await listBookings(client.token, { status: 'pending', space_id: String(otherSpace.id) });
      assert.deepEqual(idsOf(both), [ids.b4]);
      assert.equal(both.body.total, 1);
    });

    it('filters by from and to: bookings overlapping the half-open window', async () => {
      const { client, ids } = await fourBookings();

      assert.deepEqual(idsOf(await listBookings(client.token, { from: at('11:00'), to: at('12:00') })), [], 'touching is not overlapping');
      assert.deepEqual(idsOf(await listBookings(client.token, { from: at('10:00'), to: at('12:30') })), [ids.b2, ids.b4, ids.b1]);
      assert.deepEqual(idsOf(await listBookings(client.token, { from: at('14:00') })), [ids.b3]);
      assert.deepEqual(idsOf(await listBookings(client.token, { to: at('12:00') })), [ids.b4, ids.b1]);
      assert.deepEqual(idsOf(await listBookings(client.token, { from: '2030-01-10T13:00:00+03:00', to: '2030-01-10T14:00:00+03:00' })), [ids.b4, ids.b1]);
    });

    it("pages with the contract's shape, never repeating or skipping a booking", async () => {
      const { client, ids } = await fourBookings();

      const first = await listBookings(client.token, { per_page: '3' });
      const second = await listBookings(client.token, { per_page: '3', page: '2' });
      const past = await listBookings(client.token, { per_page: '3', page: '3' });

      assert.deepEqual(first.body, { bookings: first.body.bookings, total: 4, pages: 2, current_page: 1, per_page: 3 });
      assert.deepEqual(idsOf(first), [ids.b3, ids.b2, ids.b4]);
      assert.deepEqual(second.body, { bookings: second.body.bookings, total: 4, pages: 2, current_page: 2, per_page: 3 });
      assert.deepEqual(idsOf(second), [ids.b1]);
      assert.equal(past.status, 200, past.raw);
      assert.deepEqual(past.body, { bookings: [], total: 4, pages: 2, current_page: 3, per_page: 3 });
    });

    it('defaults to page 1 of 10', async () => {
      const { client } = await fourBookings();

      const response = await listBookings(client.token);

      assert.equal(response.body.current_page, 1);
      assert.equal(response.body.per_page, 10);
      assert.equal(response.body.pages, 1);
    });
  });

  it('returns 400 validation_error when to is not after from', async () => {
    const { client } = await world();

    const before = await listBookings(client.token, { from: at('12:00'), to: at('11:00') });
    const same = await listBookings(client.token, { from: at('12:00'), to: at('12:00') });

    assertError(before, 400, 'validation_error');
    assert.deepEqual(before.body.details, [{ field: 'to', message: before.body.details[0].message }]);
    assertError(same, 400, 'validation_error');
  });

  it('returns 400 validation_error for a bad page, per_page, status or time', async () => {
    const { client } = await world();

    assertError(await listBookings(client.token, { page: '0' }), 400, 'validation_error');
    assertError(await listBookings(client.token, { per_page: '101' }), 400, 'validation_error');
    assertError(await listBookings(client.token, { status: 'lost' }), 400, 'validation_error');
    assertError(await listBookings(client.token, { from: '2030-01-10T09:00:00' }), 400, 'validation_error');
  });

  it('returns 400, not 500, for a from or to the server cannot read (a leap second)', async () => {
    const { client } = await world();

    assertError(await listBookings(client.token, { from: '2030-01-10T23:59:60Z' }), 400, 'validation_error');
  });

  it('returns 401 unauthorized without a token', async () => {
    assertError(await listBookings(undefined), 401, 'unauthorized');
  });
});

// --- GET /api/bookings/:id ---------------------------------------------------------------------

describe('GET /api/bookings/:id', () => {
  it('returns 200 with the Booking for its booker', async () => {
    const { client, booking } = await withPendingBooking();

    const response = await getBooking(client.token, booking.id);

    assert.equal(response.status, 200, response.raw);
    assert.deepEqual(response.body, booking);
  });

  it("returns 200 for the space's owner and for an admin", async () => {
    const { owner, booking } = await withPendingBooking();

    const forOwner = await getBooking(owner.token, booking.id);
    const forAdmin = await getBooking(admin.token, booking.id);

    assert.equal(forOwner.status, 200, forOwner.raw);
    assert.deepEqual(forOwner.body, booking);
    assert.equal(forAdmin.status, 200, forAdmin.raw);
    assert.deepEqual(forAdmin.body, booking);
  });

  it('returns 401 unauthorized without a token', async () => {
    const { booking } = await withPendingBooking();

    assertError(await getBooking(undefined, booking.id), 401, 'unauthorized');
  });

  it('returns 403 forbidden for another client and for another owner', async () => {
    const { booking } = await withPendingBooking();
    const otherClient = await createUser(app);
    const otherOwner = await createUser(app, { role: 'owner' });

    const forClient = await getBooking(otherClient.token, booking.id);
    const forOwner = await getBooking(otherOwner.token, booking.id);

    assertError(forClient, 403, 'forbidden');
    assertError(forOwner, 403, 'forbidden');
    assert.doesNotMatch(forClient.raw, /"start_time"/);
  });

  it('returns 404 not_found for a booking that does not exist, and 400 for an id that is not one', async () => {
    assertError(await getBooking(admin.token, MISSING_ID), 404, 'not_found');
    assertError(await getBooking(admin.token, 'abc'), 400, 'validation_error');
  });
});

// --- workflow ----------------------------------------------------------------------------------

for (const method of ['PUT', 'POST'] as const) {
  describe(`${method} /api/bookings/:id/approve`, () => {
    it("confirms a pending booking for the space's owner: 200 Booking, stored", async () => {
      const { owner, booking } = await withPendingBooking();

      const response = await act(method, 'approve', owner.token, booking.id);

      assert.equal(response.status, 200, response.raw);
      assert.deepEqual(Object.keys(response.body).sort(), BOOKING_KEYS);
      assert.deepEqual(response.body, { ...booking, status: 'confirmed' });
      const row = await stored(booking.id);
      assert.equal(row.status, 'confirmed');
      assert.equal(row.version, 1);
      assert.equal(row.cancelledBy, null);
    });

    it('confirms a pending booking for an admin', async () => {
      const { booking } = await withPendingBooking();

      const response = await act(method, 'approve', admin.token, booking.id);

      assert.equal(response.status, 200, response.raw);
      assert.equal(response.body.status, 'confirmed');
      assert.equal((await stored(booking.id)).status, 'confirmed');
    });

    it('returns 409 invalid_state when approving a confirmed booking again', async () => {
      const { owner, booking } = await withPendingBooking();
      assert.equal((await act(method, 'approve', owner.token, booking.id)).status, 200);

      assertError(await act(method, 'approve', owner.token, booking.id), 409, 'invalid_state');
      assert.equal((await stored(booking.id)).version, 1, 'nothing changed the second time');
    });

    it('returns 409 invalid_state when approving a cancelled booking', async () => {
      const { owner, client, booking } = await withPendingBooking();
      assert.equal((await act(method, 'cancel', client.token, booking.id)).status, 200);

      assertError(await act(method, 'approve', owner.token, booking.id), 409, 'invalid_state');
      assert.equal((await stored(booking.id)).status, 'cancelled');
    });

    it('returns 409 invalid_state once the start has passed, and the booking stays pending', async () => {
      const { app: target, clock } = timeMachine();
      const { owner, booking } = await withPendingBooking({ target, start: iso(NOW_MS + 2 * HOUR), end: iso(NOW_MS + 4 * HOUR) });
      clock.set(iso(NOW_MS + 2 * HOUR + MINUTE));

      assertError(await act(method, 'approve', owner.token, booking.id, { target }), 409, 'invalid_state');
      assert.equal((await stored(booking.id)).status, 'pending');
    });

    it('returns 409 invalid_state once the request is older than BOOKING_PENDING_TTL_HOURS', async () => {
      const { app: target, clock } = timeMachine();
      const { owner, booking } = await withPendingBooking({ target });
      clock.set(iso(NOW_MS + DAY + MINUTE));

      assertError(await act(method, 'approve', owner.token, booking.id, { target }), 409, 'invalid_state');
      assert.equal((await stored(booking.id)).status, 'pending');
    });

    it('lets only one of a concurrent approval and rejection through; the other gets 409 invalid_state', async () => {
      const { owner, booking } = await withPendingBooking();

      const [approved, rejected] = await Promise.all([act(method, 'approve', owner.token, booking.id), act(method, 'reject', admin.token, booking.id)]);

      assert.deepEqual([approved.status, rejected.status].sort(), [200, 409], `${approved.raw} ${rejected.raw}`);
      const loser = approved.status === 409 ? approved : rejected;
      assertError(loser, 409, 'invalid_state');
      const row = await stored(booking.id);
      assert.equal(row.status, approved.status === 200 ? 'confirmed' : 'cancelled');
      assert.equal(row.version, 1);
    });

    it('returns 401 without a token', async () => {
      const { booking } = await withPendingBooking();

      assertError(await act(method, 'approve', undefined, booking.id), 401, 'unauthorized');
    });

    it('returns 403 forbidden for the booker, who cannot approve their own request', async () => {
      const { client, booking } = await withPendingBooking();

      assertError(await act(method, 'approve', client.token, booking.id), 403, 'forbidden');
      assert.equal((await stored(booking.id)).status, 'pending');
    });

    it('returns 403 forbidden for another owner', async () => {
      const { booking } = await withPendingBooking();
      const otherOwner = await createUser(app, { role: 'owner' });

      assertError(await act(method, 'approve', otherOwner.token, booking.id), 403, 'forbidden');
      assert.equal((await stored(booking.id)).status, 'pending');
    });

    it('returns 404 not_found for a booking that does not exist', async () => {
      assertError(await act(method, 'approve', admin.token, MISSING_ID), 404, 'not_found');
    });
  });

  describe(`${method} /api/bookings/:id/reject`, () => {
    it("cancels a pending booking with the owner's reason: 200 Booking, stored", async () => {
      const { owner, booking } = await withPendingBooking();

      const response = await act(method, 'reject', owner.token, booking.id, { body: { reason: 'Closed for repairs' } });

      assert.equal(response.status, 200, response.raw);
      assert.deepEqual(response.body, { ...booking, status: 'cancelled', cancellation_reason: 'Closed for repairs', cancelled_by: 'owner' });
      const row = await stored(booking.id);
      assert.equal(row.status, 'cancelled');
      assert.equal(row.cancellationReason, 'Closed for repairs');
      assert.equal(row.cancelledBy, 'owner');
    });

    it('rejects without a body too, recording some reason', async () => {
      const { owner, booking } = await withPendingBooking();

      const response = await act(method, 'reject', owner.token, booking.id);

      assert.equal(response.status, 200, response.raw);
      assert.equal(response.body.status, 'cancelled');
      assert.equal(typeof response.body.cancellation_reason, 'string');
      assert.equal((await stored(booking.id)).cancelledBy, 'owner');
    });

    it('records an admin as the one who rejected', async () => {
      const { booking } = await withPendingBooking();

      const response = await act(method, 'reject', admin.token, booking.id, { body: { reason: 'Duplicate' } });

      assert.equal(response.status, 200, response.raw);
      assert.equal(response.body.cancelled_by, 'admin');
      assert.equal((await stored(booking.id)).cancelledBy, 'admin');
    });

    it('frees the slot it held', async () => {
      const { owner, space, booking } = await withPendingBooking();
      assert.equal((await act(method, 'reject', owner.token, booking.id)).status, 200);

      const other = await createUser(app);
      const response = await postBooking(other.token, slot(space, at('09:00'), at('11:00')));

      assert.equal(response.status, 201, response.raw);
    });

    it('returns 409 invalid_state for a confirmed booking, which stays confirmed', async () => {
      const { owner, booking } = await withPendingBooking();
      assert.equal((await act(method, 'approve', owner.token, booking.id)).status, 200);

      assertError(await act(method, 'reject', owner.token, booking.id, { body: { reason: 'Changed my mind' } }), 409, 'invalid_state');
      const row = await stored(booking.id);
      assert.equal(row.status, 'confirmed');
      assert.equal(row.cancellationReason, null);
    });

    it('returns 400 validation_error for a reason that is not text', async () => {
      const { owner, booking } = await withPendingBooking();

      assertError(await act(method, 'reject', owner.token, booking.id, { body: { reason: 42 } }), 400, 'validation_error');
      assert.equal((await stored(booking.id)).status, 'pending');
    });

    it('returns 403 forbidden for the booker and for another owner', async () => {
      const { client, booking } = await withPendingBooking();
      const otherOwner = await createUser(app, { role: 'owner' });

      assertError(await act(method, 'reject', client.token, booking.id), 403, 'forbidden');
      assertError(await act(method, 'reject', otherOwner.token, booking.id), 403, 'forbidden');
      assert.equal((await stored(booking.id)).status, 'pending');
    });
  });

  describe(`${method} /api/bookings/:id/cancel`, () => {
    it('cancels for the booker before the start, recording the booker and their reason', async () => {
      const { client, booking } = await withPendingBooking();

      const response = await act(method, 'cancel', client.token, booking.id, { body: { reason: 'Plans changed' } });

      assert.equal(response.status, 200, response.raw);
      assert.deepEqual(response.body, { ...booking, status: 'cancelled', cancellation_reason: 'Plans changed', cancelled_by: 'booker' });
      const row = await stored(booking.id);
      assert.equal(row.status, 'cancelled');
      assert.equal(row.cancelledBy, 'booker');
      assert.equal(row.cancellationReason, 'Plans changed');
    });

    it('cancels a confirmed booking for the booker before the start', async () => {
      const { owner, client, booking } = await withPendingBooking();
      assert.equal((await act(method, 'approve', owner.token, booking.id)).status, 200);

      const response = await act(method, 'cancel', client.token, booking.id);

      assert.equal(response.status, 200, response.raw);
      assert.equal(response.body.cancelled_by, 'booker');
      assert.equal((await stored(booking.id)).status, 'cancelled');
    });

    it('returns 409 invalid_state for the booker once the booking has started', async () => {
      const { app: target, clock } = timeMachine();
      const { owner, client, booking } = await withPendingBooking({ target, start: iso(NOW_MS + 2 * HOUR), end: iso(NOW_MS + 4 * HOUR) });
      assert.equal((await act(method, 'approve', owner.token, booking.id, { target })).status, 200);
      clock.set(iso(NOW_MS + 3 * HOUR));

      assertError(await act(method, 'cancel', client.token, booking.id, { target }), 409, 'invalid_state');
      assert.equal((await stored(booking.id)).status, 'confirmed');
    });

    it("cancels for the space's owner at any time, even after the start", async () => {
      const { app: target, clock } = timeMachine();
      const { owner, booking } = await withPendingBooking({ target, start: iso(NOW_MS + 2 * HOUR), end: iso(NOW_MS + 4 * HOUR) });
      assert.equal((await act(method, 'approve', owner.token, booking.id, { target })).status, 200);
      clock.set(iso(NOW_MS + 3 * HOUR));

      const response = await act(method, 'cancel', owner.token, booking.id, { target, body: { reason: 'Power cut' } });

      assert.equal(response.status, 200, response.raw);
      assert.equal(response.body.status, 'cancelled');
      assert.equal(response.body.cancelled_by, 'owner');
      const row = await stored(booking.id);
      assert.equal(row.cancelledBy, 'owner');
      assert.equal(row.cancellationReason, 'Power cut');
    });

    it('records an admin as the one who cancelled', async () => {
      const { booking } = await withPendingBooking();

      const response = await act(method, 'cancel', admin.token, booking.id);

      assert.equal(response.status, 200, response.raw);
      assert.equal(response.body.cancelled_by, 'admin');
      assert.equal((await stored(booking.id)).cancelledBy, 'admin');
    });

    it('returns 409 invalid_state for a cancelled booking', async () => {
      const { owner, client, booking } = await withPendingBooking();
      assert.equal((await act(method, 'cancel', client.token, booking.id, { body: { reason: 'First' } })).status, 200);

      assertError(await act(method, 'cancel', client.token, booking.id), 409, 'invalid_state');
      assertError(await act(method, 'cancel', owner.token, booking.id), 409, 'invalid_state');
      const row = await stored(booking.id);
      assert.equal(row.cancelledBy, 'booker', 'the first cancellation stands');
      assert.equal(row.cancellationReason, 'First');
    });

    it('returns 409 invalid_state for a completed booking', async () => {
      const { app: target, clock } = timeMachine();
      const { owner, booking } = await withPendingBooking({ target, start: iso(NOW_MS + 2 * HOUR), end: iso(NOW_MS + 4 * HOUR) });
      assert.equal((await act(method, 'approve', owner.token, booking.id, { target })).status, 200);
      clock.set(iso(NOW_MS + 5 * HOUR));
      assert.equal((await act(method, 'complete', owner.token, booking.id, { target })).status, 200);

      assertError(await act(method, 'cancel', owner.token, booking.id, { target }), 409, 'invalid_state');
      assertError(await act(method, 'cancel', admin.token, booking.id, { target }), 409, 'invalid_state');
      assert.equal((await stored(booking.id)).status, 'completed');
    });

    it('returns 401 without a token', async () => {
      const { booking } = await withPendingBooking();

      assertError(await act(method, 'cancel', undefined, booking.id), 401, 'unauthorized');
    });

    it('returns 403 forbidden for another client and for another owner', async () => {
      const { booking } = await withPendingBooking();
      const stranger = await createUser(app);
      const otherOwner = await createUser(app, { role: 'owner' });

      assertError(await act(method, 'cancel', stranger.token, booking.id), 403, 'forbidden');
      assertError(await act(method, 'cancel', otherOwner.token, booking.id), 403, 'forbidden');
      assert.equal((await stored(booking.id)).status, 'pending');
    });

    it('returns 404 not_found for a booking that does not exist', async () => {
      assertError(await act(method, 'cancel', admin.token, MISSING_ID), 404, 'not_found');
    });
  });

  describe(`${method} /api/bookings/:id/complete`, () => {
    /** A booking 2 h from NOW, confirmed, on the time-travelling app. */
    async function confirmedSoon() {
      const { app: target, clock } = timeMachine();
      const scene = await withPendingBooking({ target, start: iso(NOW_MS + 2 * HOUR), end: iso(NOW_MS + 4 * HOUR) });
      assert.equal((await act(method, 'approve', scene.owner.token, scene.booking.id, { target })).status, 200);
      return { ...scene, target, clock };
    }

    it('completes a confirmed booking that has ended, for the owner', async () => {
      const { owner, booking, target, clock } = await confirmedSoon();
      clock.set(iso(NOW_MS + 4 * HOUR + MINUTE));

      const response = await act(method, 'complete', owner.token, booking.id, { target });

      assert.equal(response.status, 200, response.raw);
      assert.equal(response.body.status, 'completed');
      assert.equal(response.body.cancelled_by, null);
      assert.equal(response.body.updated_at, iso(NOW_MS + 4 * HOUR + MINUTE));
      assert.equal((await stored(booking.id)).status, 'completed');
    });

    it('completes a confirmed booking that has ended, for an admin', async () => {
      const { booking, target, clock } = await confirmedSoon();
      clock.set(iso(NOW_MS + 5 * HOUR));

      const response = await act(method, 'complete', admin.token, booking.id, { target });

      assert.equal(response.status, 200, response.raw);
      assert.equal((await stored(booking.id)).status, 'completed');
    });

    it('returns 409 invalid_state for a confirmed booking that has not ended', async () => {
      const { owner, booking, target, clock } = await confirmedSoon();
      clock.set(iso(NOW_MS + 3 * HOUR));

      assertError(await act(method, 'complete', owner.token, booking.id, { target }), 409, 'invalid_state');
      assert.equal((await stored(booking.id)).status, 'confirmed');
    });

    it('returns 409 invalid_state for a pending booking, even after its end', async () => {
      const { app: target, clock } = timeMachine();
      const { owner, booking } = await withPendingBooking({ target, start: iso(NOW_MS + 2 * HOUR), end: iso(NOW_MS + 4 * HOUR) });
      clock.set(iso(NOW_MS + 5 * HOUR));

      assertError(await act(method, 'complete', owner.token, booking.id, { target }), 409, 'invalid_state');
      assert.equal((await stored(booking.id)).status, 'pending');
    });

    it('returns 403 forbidden for the booker and for another owner', async () => {
      const { client, booking, target, clock } = await confirmedSoon();
      const otherOwner = await createUser(target, { role: 'owner' });
      clock.set(iso(NOW_MS + 5 * HOUR));

      assertError(await act(method, 'complete', client.token, booking.id, { target }), 403, 'forbidden');
      assertError(await act(method, 'complete', otherOwner.token, booking.id, { target }), 403, 'forbidden');
      assert.equal((await stored(booking.id)).status, 'confirmed');
    });
  });
}

// --- sweeps ------------------------------------------------------------------------------------

describe('bookings sweep', () => {
  it('cancels a pending booking older than BOOKING_PENDING_TTL_HOURS as expired by the system, and leaves a younger one', async () => {
    const { app: target, clock } = timeMachine();
    const { client, space, booking: old } = await withPendingBooking({ target });
    clock.set(iso(NOW_MS + HOUR));
    const young = await createBooking(target, client.token, slot(space, at('12:00'), at('14:00')));
    clock.set(iso(NOW_MS + DAY + MINUTE));

    const result = await target.services.bookings.sweep();

    assert.ok(result.expired >= 1, JSON.stringify(result));
    const expired = await stored(old.id);
    assert.equal(expired.status, 'cancelled');
    assert.equal(expired.cancellationReason, 'expired');
    assert.equal(expired.cancelledBy, 'system');
    assert.equal(expired.updatedAt.toISOString(), iso(NOW_MS + DAY + MINUTE));
    assert.equal((await stored(young.id)).status, 'pending');
    const seen = await getBooking(client.token, old.id, target);
    assert.equal(seen.body.status, 'cancelled');
    assert.equal(seen.body.cancellation_reason, 'expired');
    assert.equal(seen.body.cancelled_by, 'system');
  });

  it('expires a pending booking whose start has passed, though it is younger than the TTL', async () => {
    const { app: target, clock } = timeMachine();
    const { booking } = await withPendingBooking({ target, start: iso(NOW_MS + HOUR), end: iso(NOW_MS + 3 * HOUR) });
    clock.set(iso(NOW_MS + HOUR + 30 * MINUTE));

    await target.services.bookings.sweep();

    const row = await stored(booking.id);
    assert.equal(row.status, 'cancelled');
    assert.equal(row.cancellationReason, 'expired');
    assert.equal(row.cancelledBy, 'system');
  });

  it('completes a confirmed booking whose end has passed, and leaves a future confirmed one', async () => {
    const { app: target, clock } = timeMachine();
    const { owner, client, space, booking: ended } = await withPendingBooking({ target, start: iso(NOW_MS + HOUR), end: iso(NOW_MS + 2 * HOUR) });
    const future = await createBooking(target, client.token, slot(space, iso(NOW_MS + DAY), iso(NOW_MS + DAY + HOUR)));
    for (const id of [ended.id, future.id]) assert.equal((await act('PUT', 'approve', owner.token, id, { target })).status, 200);
    // Paid: a confirmed booking still unpaid at its start is cancelled instead.
    for (const id of [ended.id, future.id]) await insertCompletedPayment(target, id);
    clock.set(iso(NOW_MS + 2 * HOUR + MINUTE));

    const result = await target.services.bookings.sweep();

    assert.ok(result.completed >= 1, JSON.stringify(result));
    const done = await stored(ended.id);
    assert.equal(done.status, 'completed');
    assert.equal(done.cancellationReason, null);
    assert.equal(done.cancelledBy, null);
    assert.equal((await stored(future.id)).status, 'confirmed');
  });

  it('frees the slot of an expired booking', async () => {
    const { app: target, clock } = timeMachine();
    const { space, booking } = await withPendingBooking({ target });
    const other = await createUser(target);
    clock.set(iso(NOW_MS + DAY + MINUTE));
    assertError(await postBooking(other.token, slot(space, at('09:00'), at('11:00')), { target }), 409, 'booking_conflict');

    await target.services.bookings.sweep();
    const response = await postBooking(other.token, slot(space, at('09:00'), at('11:00')), { target });

    assert.equal(response.status, 201, response.raw);
    assert.equal((await stored(booking.id)).status, 'cancelled');
  });

  it('changes nothing when run again', async () => {
    const { app: target, clock } = timeMachine();
    const { booking } = await withPendingBooking({ target });
    clock.set(iso(NOW_MS + DAY + MINUTE));
    await target.services.bookings.sweep();
    const first = await stored(booking.id);

    await target.services.bookings.sweep();

    assert.deepEqual(await stored(booking.id), first);
  });
});

// --- mails -------------------------------------------------------------------------------------

describe('booking mails', () => {
  /** Mails queued for `to` about the space called `spaceName` (leaving out the account's own, such as the verification mail), newest first. */
  const mailsAbout = async (target: FastifyInstance, to: string, spaceName: string) =>
    (await queuedMails(target, to)).filter((mail) => mail.subject.includes(spaceName));

  it('tells the owner about a new request, with a link to it', async () => {
    const { owner, booking } = await withPendingBooking({ space: { name: 'Garden Studio' } });

    const mails = await mailsAbout(app, owner.email, 'Garden Studio');

    assert.equal(mails.length, 1, JSON.stringify(mails.map((row) => row.subject)));
    assert.match(mails[0]!.subject, /new booking request/i);
    assert.match(mails[0]!.textBody, new RegExp(`/bookings/${booking.id}\\b`));
  });

  it('tells the client when the owner approves', async () => {
    const { owner, client, booking } = await withPendingBooking({ space: { name: 'Harbour Room' } });
    assert.deepEqual(await mailsAbout(app, client.email, 'Harbour Room'), [], 'nothing before the decision');

    assert.equal((await act('PUT', 'approve', owner.token, booking.id)).status, 200);

    const mails = await mailsAbout(app, client.email, 'Harbour Room');
    assert.equal(mails.length, 1, JSON.stringify(mails.map((row) => row.subject)));
    assert.match(mails[0]!.subject, /confirmed/i);
    assert.match(mails[0]!.textBody, new RegExp(`/bookings/${booking.id}\\b`));
  });

  it('tells the client when the owner rejects, with the reason', async () => {
    const { owner, client, booking } = await withPendingBooking({ space: { name: 'Quiet Corner' } });

    assert.equal((await act('PUT', 'reject', owner.token, booking.id, { body: { reason: 'Double-booked offline' } })).status, 200);

    const mails = await mailsAbout(app, client.email, 'Quiet Corner');
    assert.equal(mails.length, 1, JSON.stringify(mails.map((row) => row.subject)));
    assert.match(mails[0]!.subject, /declined/i);
    assert.match(mails[0]!.textBody, /Double-booked offline/);
  });

  it('tells the client when the host cancels', async () => {
    const { owner, client, booking } = await withPendingBooking({ space: { name: 'Rooftop Deck' } });
    assert.equal((await act('PUT', 'approve', owner.token, booking.id)).status, 200);

    assert.equal((await act('PUT', 'cancel', owner.token, booking.id, { body: { reason: 'Flooded' } })).status, 200);

    const mails = await mailsAbout(app, client.email, 'Rooftop Deck');
    assert.equal(mails.length, 2, JSON.stringify(mails.map((row) => row.subject)));
    assert.match(mails[0]!.subject, /cancelled/i);
    assert.match(mails[0]!.textBody, /Flooded/);
  });

  it('tells the client when their request expires', async () => {
    const { app: target, clock } = timeMachine();
    const { client } = await withPendingBooking({ target, space: { name: 'Attic Office' } });
    clock.set(iso(NOW_MS + DAY + MINUTE));

    await target.services.bookings.sweep();

    const mails = await mailsAbout(target, client.email, 'Attic Office');
    assert.equal(mails.length, 1, JSON.stringify(mails.map((row) => row.subject)));
    assert.match(mails[0]!.subject, /expired/i);
  });
});

// --- GET /api/bookings/:id/cancellation-quote --------------------------------------------------

describe('GET /api/bookings/:id/cancellation-quote', () => {
  /** A paid 2-hour booking (3000 KES) made at NOW on the time-travelling app, starting `startsIn` ms later. */
  async function paidBooking(policy: 'flexible' | 'moderate' | 'strict', startsIn: number) {
    const { app: target, clock } = timeMachine();
    const scene = await withPendingBooking({
      target,
      space: { cancellation_policy: policy },
      start: iso(NOW_MS + startsIn),
      end: iso(NOW_MS + startsIn + 2 * HOUR),
    });
    assert.equal((await act('PUT', 'approve', scene.owner.token, scene.booking.id, { target })).status, 200);
    await setPaid(scene.booking.id);
    const start = NOW_MS + startsIn;
    /** The booker's refund with the clock at `instant`. */
    const refundAt = async (instant: number, token = scene.client.token) => {
      clock.set(iso(instant));
      const response = await quote(token, scene.booking.id, target);
      assert.equal(response.status, 200, response.raw);
      return response.body.refund_amount as number;
    };
    return { ...scene, target, clock, start, refundAt };
  }

  it('returns the policy, a zero refund and the rule to the booker of an unpaid booking', async () => {
    const { client, booking } = await withPendingBooking({ space: { cancellation_policy: 'moderate' } });

    const response = await quote(client.token, booking.id);

    assert.equal(response.status, 200, response.raw);
    assert.deepEqual(Object.keys(response.body).sort(), ['currency', 'policy', 'refund_amount', 'rule']);
    assert.equal(response.body.policy, 'moderate');
    assert.equal(response.body.refund_amount, 0);
    assert.equal(response.body.currency, 'KES');
    assert.equal(typeof response.body.rule, 'string');
    assert.ok(response.body.rule.length > 0);
  });

  it('flexible: refunds everything until 24 hours before the start, then nothing', async () => {
    const { start, refundAt } = await paidBooking('flexible', 3 * DAY);

    assert.equal(await refundAt(NOW_MS), 3000);
    assert.equal(await refundAt(start - DAY), 3000);
    assert.equal(await refundAt(start - DAY + MINUTE), 0);
    assert.equal(await refundAt(start - HOUR), 0);
  });

  it('moderate: refunds everything until 5 days before, half until 24 hours before, then nothing', async () => {
    const { start, refundAt } = await paidBooking('moderate', 10 * DAY);

    assert.equal(await refundAt(NOW_MS), 3000);
    assert.equal(await refundAt(start - 5 * DAY), 3000);
    assert.equal(await refundAt(start - 5 * DAY + MINUTE), 1500);
    assert.equal(await refundAt(start - DAY), 1500);
    assert.equal(await refundAt(start - DAY + MINUTE), 0);
  });

  it('strict: refunds everything within 48 hours of booking when the start is 14 or more days away, else half until 7 days before, then nothing', async () => {
    const { start, refundAt } = await paidBooking('strict', 20 * DAY);

    assert.equal(await refundAt(NOW_MS), 3000);
    assert.equal(await refundAt(NOW_MS + 47 * HOUR), 3000);
    assert.equal(await refundAt(NOW_MS + 49 * HOUR), 1500);
    assert.equal(await refundAt(start - 7 * DAY), 1500);
    assert.equal(await refundAt(start - 7 * DAY + MINUTE), 0);
  });

  it('strict: refunds half at once when the start is less than 14 days away', async () => {
    const { refundAt } = await paidBooking('strict', 10 * DAY);

    assert.equal(await refundAt(NOW_MS), 1500);
  });

  it('quotes a full refund to the owner and to an admin, whatever the policy says for the booker', async () => {
    const { owner, client, start, refundAt, booking, target } = await paidBooking('strict', 3 * DAY);

    assert.equal(await refundAt(start - HOUR, client.token), 0);
    assert.equal(await refundAt(start - HOUR, owner.token), 3000);
    assert.equal(await refundAt(start - HOUR, admin.token), 3000);
    const forOwner = await quote(owner.token, booking.id, target);
    assert.equal(forOwner.body.policy, 'strict');
    assert.equal(forOwner.body.currency, 'KES');
  });

  it('returns 401 without a token', async () => {
    const { booking } = await withPendingBooking();

    assertError(await quote(undefined, booking.id), 401, 'unauthorized');
  });

  it('returns 403 forbidden for another client and for another owner', async () => {
    const { booking } = await withPendingBooking();
    const stranger = await createUser(app);
    const otherOwner = await createUser(app, { role: 'owner' });

    assertError(await quote(stranger.token, booking.id), 403, 'forbidden');
    assertError(await quote(otherOwner.token, booking.id), 403, 'forbidden');
  });

  it('returns 404 not_found for a booking that does not exist', async () => {
    assertError(await quote(admin.token, MISSING_ID), 404, 'not_found');
  });

  it('returns 409 invalid_state for a cancelled booking', async () => {
    const { client, booking } = await withPendingBooking();
    assert.equal((await act('PUT', 'cancel', client.token, booking.id)).status, 200);

    assertError(await quote(client.token, booking.id), 409, 'invalid_state');
  });
});

// --- GET /api/bookings/check-availability ------------------------------------------------------

describe('GET /api/bookings/check-availability', () => {
  const query = (space: { id: number }, start: string, end: string) => ({ space_id: String(space.id), start_time: start, end_time: end });

  it('says a free slot is available, to anyone without a token', async () => {
    const { space } = await withPendingBooking({ start: at('09:00'), end: at('11:00') });

    const response = await checkAvailability(query(space, '2030-01-10T14:00:00+03:00', at('13:00')));

    assert.equal(response.status, 200, response.raw);
    assert.deepEqual(response.body, { space_id: space.id, start_time: at('11:00'), end_time: at('13:00'), available: true, conflicts: [] });
  });

  it("says an overlapping slot is not available and names the interval in the way, without anyone's identity", async () => {
    const { owner, client, space } = await withPendingBooking({ start: at('09:00'), end: at('11:00') });

    const response = await checkAvailability(query(space, at('10:00'), at('12:00')));

    assert.equal(response.status, 200, response.raw);
    assert.equal(response.body.available, false);
    assert.deepEqual(response.body.conflicts, [{ start_time: at('09:00'), end_time: at('11:00') }]);
    for (const conflict of response.body.conflicts) assert.deepEqual(Object.keys(conflict).sort(), ['end_time', 'start_time']);
    assert.doesNotMatch(response.raw, /user_id|"user"|email|"id"/);
    assert.ok(!response.raw.includes(client.email) && !response.raw.includes(owner.email));
  });

  it('answers the same for a caller with a token', async () => {
    const { client, space } = await withPendingBooking({ start: at('09:00'), end: at('11:00') });

    const response = await checkAvailability(query(space, at('10:00'), at('12:00')), client.token);

    assert.equal(response.status, 200, response.raw);
    assert.equal(response.body.available, false);
  });

  it('ignores cancelled bookings', async () => {
    const { client, space, booking } = await withPendingBooking({ start: at('09:00'), end: at('11:00') });
    assert.equal((await act('PUT', 'cancel', client.token, booking.id)).status, 200);

    const response = await checkAvailability(query(space, at('09:00'), at('11:00')));

    assert.equal(response.body.available, true);
    assert.deepEqual(response.body.conflicts, []);
  });

  it('says a slot outside the opening hours is not available', async () => {
    const { space } = await world({ timezone: 'Africa/Nairobi', operating_hours: { mon: [['08:00', '18:00']] } });

    const closed = await checkAvailability(query(space, '2030-01-07T07:00:00+03:00', '2030-01-07T09:00:00+03:00'));
    const open = await checkAvailability(query(space, '2030-01-07T08:00:00+03:00', '2030-01-07T10:00:00+03:00'));

    assert.equal(closed.status, 200, closed.raw);
    assert.equal(closed.body.available, false);
    assert.deepEqual(closed.body.conflicts, []);
    assert.equal(open.body.available, true);
  });

  it('returns 400 validation_error when a parameter is missing or a time has no offset', async () => {
    const { space } = await world();

    assertError(await checkAvailability({ space_id: String(space.id), start_time: at('09:00') }), 400, 'validation_error');
    assertError(await checkAvailability({ start_time: at('09:00'), end_time: at('10:00') }), 400, 'validation_error');
    assertError(await checkAvailability({}), 400, 'validation_error');
    assertError(await checkAvailability(query(space, '2030-01-10T09:00:00', at('10:00'))), 400, 'validation_error');
  });

  it('returns 400 invalid_time_range when the end is not after the start', async () => {
    const { space } = await world();

    assertError(await checkAvailability(query(space, at('10:00'), at('09:00'))), 400, 'invalid_time_range');
  });

  it('treats a malformed or unknown Authorization header as anonymous', async () => {
    const { space } = await world();

    const response = await call(app, 'GET', '/api/bookings/check-availability', {
      headers: { authorization: 'Bearer not-a-token' },
      query: query(space, at('09:00'), at('10:00')),
    });

    assert.equal(response.status, 200, response.raw);
    assert.equal(response.body.available, true);
  });

  it('returns 400, not 500, for a time the server cannot read (a leap second)', async () => {
    const { space } = await world();

    assertError(await checkAvailability(query(space, '2030-01-12T23:59:60Z', '2030-01-13T01:00:00Z')), 400, 'validation_error');
  });

  it('returns 404 not_found for a space that does not exist', async () => {
    assertError(await checkAvailability(query({ id: MISSING_ID }, at('09:00'), at('10:00'))), 404, 'not_found');
  });
});
