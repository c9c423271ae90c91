import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { eq, sql } from 'drizzle-orm';
import { bookings, spaces } from '../../src/db/schema/index.ts';
import type { Database } from '../../src/db/client.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { buildTestApp, call } from '../helpers/app.ts';
import { createBooking } from '../helpers/bookings.ts';
import { createPgliteDatabase, createScratchPostgres, usingPostgres } from '../helpers/database.ts';
import { createUser } from '../helpers/factories.ts';
import { createSpace } from '../helpers/spaces.ts';

/**
 * GET /api/bookings is built as JSON text by PostgreSQL (ADR 0008), and POST /api/bookings answers
 * text the service serialized once; GET /api/bookings/:id still goes through toBookingResponse and
 * Fastify's serializer. All must give the same bytes for a booking, whatever its strings, times
 * and amounts hold.
 */

let statements = 0;
const onQuery = () => {
  statements += 1;
};
let database: Database;
if (usingPostgres()) {
  const scratch = await createScratchPostgres({ onQuery });
  database = scratch.database;
  after(() => scratch.drop());
} else {
  database = await createPgliteDatabase({ onQuery });
  after(() => database.close());
}

const NOW = '2030-01-06T08:00:00.000Z';
const app = await buildTestApp({ database, clock: new ManualClock(NOW), env: { ACCESS_TOKEN_TTL: '3650d' } });
const db = database.db;
const admin = await createUser(app, { role: 'admin' });

const at = (hhmm: string, day = '2030-01-10') => `${day}T${hhmm}:00.000Z`;
const list = (token: string, query: Record<string, string> = {}) => call(app, 'GET', '/api/bookings', { token, query });

/** An owner with two spaces and a client who booked each three times (one day apart). */
async function scene() {
  const owner = await createUser(app, { role: 'owner' });
  const client = await createUser(app, { role: 'client' });
  const first = await createSpace(app, owner.token, { price_per_hour: 1234.57 });
  const second = await createSpace(app, owner.token, { price_per_hour: 99.99 });
  const ids: number[] = [];
  for (const [index, space] of [first, second, first, second, first, second].entries()) {
    const day = `2030-01-${String(10 + index).padStart(2, '0')}`;
    const booking = await createBooking(app, client.token, { space_id: space.id, start_time: at('09:00', day), end_time: at('10:20', day) });
    ids.push(booking.id);
  }
  return { owner, client, first, second, ids };
}

/** The list's expected bytes: the envelope around each booking's single-resource answer. */
async function expectedPage(token: string, ids: number[], total: number, page = 1, perPage = 10) {
  const items: string[] = [];
  for (const id of ids) {
    const one = await call(app, 'GET', `/api/bookings/${id}`, { token: admin.token });
    assert.equal(one.status, 200, one.raw);
    items.push(one.raw);
  }
  return `{"bookings":[${items.join(',')}],"total":${total},"pages":${Math.ceil(total / perPage)},"current_page":${page},"per_page":${perPage}}`;
}

describe('GET /api/bookings as JSON built by the database', () => {
  it('answers each booking byte for byte as GET /api/bookings/:id does', async () => {
    const { owner, client, first, second, ids } = await scene();
    // What the API would not write but a row may hold: escapes of every kind, characters beyond
    // the BMP, microseconds (the driver cuts them to milliseconds: 17.999001 s is 0.01 h, as 18 s is),
    // durations that round half up, odd prices.
    const awkward = 'a "quoted" \\ back\\slash, tab\t, newline\n, cr\r, \b\f, \u0001\u001f\u007f, \u2028\u2029, é, ☕, 𝄞, </script>';
    await db.update(spaces).set({ name: awkward, city: 'Nairobi "CBD"', address: 'Line 1\nLine 2' }).where(eq(spaces.id, first.id));
    await db.execute(sql`update ${bookings} set
      start_time = '2030-01-10T09:00:00.123456Z', end_time = '2030-01-10T10:20:00.987654Z', blocked_until = '2030-01-10T10:20:00.987654Z',
      purpose = ${awkward}, created_at = '2030-01-05T23:59:59.999999Z', updated_at = '2030-01-06T00:00:00.000001Z', total_price = 1
      where id = ${ids[0]!}`);
    await db.execute(sql`update ${bookings} set
      start_time = '2030-01-11T09:00:00.000999Z', end_time = '2030-01-11T09:00:18Z', blocked_until = '2030-01-11T09:00:18Z', total_price = 9007199254740
      where id = ${ids[1]!}`);
    await db.execute(sql`update ${bookings} set
      end_time = start_time + interval '1 hour 0.6 seconds', blocked_until = start_time + interval '1 hour 0.6 seconds', total_price = 0,
      status = 'cancelled', cancelled_by = 'booker', cancellation_reason = ${awkward}
      where id = ${ids[2]!}`);
    await db.execute(sql`update ${bookings} set
      end_time = start_time + interval '1 day 17 minutes', blocked_until = start_time + interval '1 day 17 minutes', status = 'confirmed', payment_status = 'paid'
      where id = ${ids[3]!}`);
    const newestFirst = [...ids].reverse();

    assert.equal((await list(client.token)).raw, await expectedPage(client.token, newestFirst, 6));
    assert.equal((await list(owner.token, { per_page: '4' })).raw, await expectedPage(owner.token, newestFirst.slice(0, 4), 6, 1, 4));
    assert.equal((await list(owner.token, { per_page: '4', page: '2' })).raw, await expectedPage(owner.token, newestFirst.slice(4), 6, 2, 4));
    assert.equal((await list(admin.token, { space_id: String(first.id) })).raw, await expectedPage(admin.token, [ids[4]!, ids[2]!, ids[0]!], 3));
    assert.equal((await list(client.token, { status: 'cancelled' })).raw, await expectedPage(client.token, [ids[2]!], 1));
    const window = { from: at('00:00', '2030-01-11'), to: at('00:00', '2030-01-14') };
    assert.equal((await list(owner.token, { ...window, space_id: String(second.id) })).raw, await expectedPage(owner.token, [ids[3]!, ids[1]!], 2));
  });

  it('answers an empty page in the same envelope', async () => {
    const { client } = await scene();

    const past = await list(client.token, { page: '3' });
    const none = await list(client.token, { status: 'completed' });

    assert.equal(past.status, 200, past.raw);
    assert.equal(past.raw, '{"bookings":[],"total":6,"pages":1,"current_page":3,"per_page":10}');
    assert.equal(past.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal(none.raw, '{"bookings":[],"total":0,"pages":0,"current_page":1,"per_page":10}');
  });

  it('sends one statement for the page and its total, besides the session check, whatever the page size and filters', async () => {
    const { owner, client, first } = await scene();
    const used = async (token: string, query: Record<string, string>) => {
      statements = 0;
      const response = await list(token, query);
      assert.equal(response.status, 200, response.raw);
      return statements;
    };

    for (const [token, query] of [
      [client.token, { per_page: '1' }],
      [client.token, { per_page: '6' }],
      [owner.token, { per_page: '2', status: 'pending' }],
      [owner.token, { per_page: '6', space_id: String(first.id), from: at('00:00'), to: at('00:00', '2030-02-01') }],
      [admin.token, { per_page: '100' }],
    ] as const) {
      assert.equal(await used(token, query), 2, `${JSON.stringify(query)}: the session and the list`);
    }
  });
});

describe('POST /api/bookings as JSON serialized once', () => {
  it('answers the bytes GET /api/bookings/:id gives, and replays them exactly', async () => {
    const client = await createUser(app, { role: 'client' });
    const owner = await createUser(app, { role: 'owner' });
    const space = await createSpace(app, owner.token, { name: 'Room "A" \\ ☕', price_per_hour: 1234.57 });
    const body = { space_id: space.id, start_time: at('09:00', '2030-01-20'), end_time: at('10:20', '2030-01-20'), guests: 3, purpose: 'Line 1\nLine "2"' };
    const headers = { 'idempotency-key': `bytes-${space.id}` };

    const created = await call(app, 'POST', '/api/bookings', { token: client.token, body, headers });
    const replayed = await call(app, 'POST', '/api/bookings', { token: client.token, body, headers });
    const plain = await call(app, 'POST', '/api/bookings', {
      token: client.token,
      body: { ...body, start_time: at('12:00', '2030-01-20'), end_time: at('13:00', '2030-01-20') },
    });

    assert.equal(created.status, 201, created.raw);
    assert.equal(created.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal(replayed.status, 201, replayed.raw);
    assert.equal(replayed.headers['idempotent-replayed'], 'true');
    assert.equal(replayed.raw, created.raw);
    assert.equal(plain.status, 201, plain.raw);
    for (const answer of [created, plain]) {
      const one = await call(app, 'GET', `/api/bookings/${answer.body.id}`, { token: client.token });
      assert.equal(answer.raw, one.raw);
    }
  });
});
