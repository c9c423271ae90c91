import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eq, sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { queryRows, type Database } from '../../src/db/client.ts';
import { bookings } from '../../src/db/schema/index.ts';
import { ManualClock } from '../../src/shared/clock.ts';
import { buildTestApp, call, tempDir } from '../helpers/app.ts';
import { scratchPostgresUrl, secondHandle, usingPostgres } from '../helpers/database.ts';
import { createUser, type TestUser } from '../helpers/factories.ts';
import { postJson, startServer } from '../helpers/server-process.ts';

/**
 * The one guarantee the product stands on: two live bookings of a space never overlap — under
 * concurrent requests, racing state changes, and several server processes. On PostgreSQL these
 * requests really run in parallel on separate connections; on the embedded database they are
 * serialized, and the same answers must come out.
 */

const START = new Date('2030-03-04T06:00:00Z');
const clock = new ManualClock(START);
const app = await buildTestApp({ clock });
const db = app.services.database.db;

const at = (hours: number) => new Date(START.getTime() + hours * 3_600_000).toISOString();

async function spaceFor(target: FastifyInstance, overrides: Record<string, unknown> = {}) {
  const owner = await createUser(target, { role: 'owner' });
  const created = await call(target, 'POST', '/api/spaces', {
    token: owner.token,
    body: {
      name: 'Race Room',
      description: 'Contested',
      address: 'Moi Avenue',
      city: 'Nairobi',
      price_per_hour: 1000,
      capacity: 10,
      max_booking_hours: 48,
      ...overrides,
    },
  });
  assert.equal(created.status, 201, created.raw);
  return { owner, spaceId: created.body.id as number };
}

const clients = (target: FastifyInstance, count: number) => Promise.all(Array.from({ length: count }, () => createUser(target)));

/** Pairs of live bookings of the space whose slots overlap — must always be none. */
async function overlaps(database: Database, spaceId: number) {
  const [row] = await queryRows<{ n: number }>(
    database.db,
    sql`select count(*)::int as n from bookings a join bookings b
        on a.space_id = b.space_id and a.id < b.id
       where a.space_id = ${spaceId}
         and a.status in ('pending', 'confirmed') and b.status in ('pending', 'confirmed')
         and tstzrange(a.start_time, a.blocked_until, '[)') && tstzrange(b.start_time, b.blocked_until, '[)')`,
  );
  return row!.n;
}

const book = (target: FastifyInstance, client: TestUser, spaceId: number, from: number, to: number) =>
  call(target, 'POST', '/api/bookings', { token: client.token, body: { space_id: spaceId, start_time: at(from), end_time: at(to) } });

describe('simultaneous requests for one slot', () => {
  it('accepts exactly one of 50 clients and refuses 49 with booking_conflict', async () => {
    const { spaceId } = await spaceFor(app);
    const racers = await clients(app, 50);
    const results = await Promise.all(racers.map((client) => book(app, client, spaceId, 24, 26)));
    const statuses = results.map((result) => result.status);
    assert.equal(statuses.filter((status) => status === 201).length, 1, JSON.stringify(statuses));
    assert.equal(statuses.filter((status) => status === 409).length, 49);
    assert.ok(results.filter((result) => result.status === 409).every((result) => result.body.code === 'booking_conflict'));
    const rows = await db.select().from(bookings).where(eq(bookings.spaceId, spaceId));
    assert.equal(rows.length, 1);
  });

  it('never lets overlapping slots of different lengths both hold', async () => {
    const { spaceId } = await spaceFor(app, { buffer_minutes: 15 });
    const racers = await clients(app, 30);
    // Windows of 1 to 6 hours starting every half hour across a day: most overlap several others.
    const windows = racers.map((_, index) => {
      const from = 24 + (index % 12) * 0.5;
      return [from, from + 1 + (index % 6)] as const;
    });
    const results = await Promise.all(racers.map((client, index) => book(app, client, spaceId, windows[index]![0], windows[index]![1])));
    const accepted = results.filter((result) => result.status === 201);
    assert.ok(accepted.length >= 1);
    assert.ok(results.every((result) => result.status === 201 || (result.status === 409 && result.body.code === 'booking_conflict')));
    assert.equal(await overlaps(app.services.database, spaceId), 0);
    const live = await db.select().from(bookings).where(eq(bookings.spaceId, spaceId));
    assert.equal(live.length, accepted.length);
  });
});

describe('racing state changes', () => {
  it('lets exactly one of a concurrent approve and cancel win, leaving a consistent booking', async () => {
    const { owner, spaceId } = await spaceFor(app);
    const client = await createUser(app);
    for (let round = 0; round < 10; round++) {
      const created = await book(app, client, spaceId, 48 + round * 3, 49 + round * 3);
      assert.equal(created.status, 201);
      const id = created.body.id;
      const [approve, cancel] = await Promise.all([
        call(app, 'PUT', `/api/bookings/${id}/approve`, { token: owner.token }),
        call(app, 'PUT', `/api/bookings/${id}/cancel`, { token: client.token }),
      ]);
      const [row] = await db.select().from(bookings).where(eq(bookings.id, id));
      if (approve.status === 200) {
        // Approved first: the client's cancellation then applies to the confirmed booking.
        assert.equal(cancel.status, 200);
        assert.equal(row!.status, 'cancelled');
        assert.equal(row!.version, 2);
      } else {
        assert.equal(approve.status, 409);
        assert.equal(approve.body.code, 'invalid_state');
        assert.equal(cancel.status, 200);
        assert.equal(row!.status, 'cancelled');
        assert.equal(row!.version, 1);
      }
    }
  });

  it('lets exactly one of two concurrent approvals succeed', async () => {
    const { owner, spaceId } = await spaceFor(app);
    const admin = await createUser(app, { role: 'admin' });
    const client = await createUser(app);
    const created = await book(app, client, spaceId, 30, 31);
    const results = await Promise.all([
      call(app, 'PUT', `/api/bookings/${created.body.id}/approve`, { token: owner.token }),
      call(app, 'POST', `/api/bookings/${created.body.id}/approve`, { token: admin.token }),
    ]);
    assert.deepEqual(results.map((result) => result.status).sort(), [200, 409]);
    const [row] = await db.select().from(bookings).where(eq(bookings.id, created.body.id));
    assert.equal(row!.status, 'confirmed');
    assert.equal(row!.version, 1);
  });

  it('resolves a pending booking expiring while it is being approved one way only', async () => {
    const { owner, spaceId } = await spaceFor(app);
    const client = await createUser(app);
    // Two processes' clocks straddle the 24-hour limit: one may still approve, the other must expire it.
    const justBefore = new ManualClock(START);
    const justAfter = new ManualClock(START);
    const approver = await buildTestApp({ clock: justBefore, database: await secondHandle() });
    const sweeper = await buildTestApp({ clock: justAfter });
    for (let round = 0; round < 8; round++) {
      const created = await book(app, client, spaceId, 60 + round * 2, 61 + round * 2);
      const createdAt = new Date(created.body.created_at).getTime();
      justBefore.set(new Date(createdAt + 24 * 3_600_000 - 1000));
      justAfter.set(new Date(createdAt + 24 * 3_600_000 + 1000));
      // A token issued at the approver's time, so it is not expired there.
      const login = await call(approver, 'POST', '/api/auth/login', { body: { email: owner.email, password: owner.password } });
      const [approve] = await Promise.all([
        call(approver, 'PUT', `/api/bookings/${created.body.id}/approve`, { token: login.body.access_token }),
        sweeper.services.bookings.sweep(),
      ]);
      const [row] = await db.select().from(bookings).where(eq(bookings.id, created.body.id));
      if (approve.status === 200) {
        assert.equal(row!.status, 'confirmed', 'an approved booking is never expired afterwards');
        assert.equal(row!.cancellationReason, null);
      } else {
        assert.equal(approve.body.code, 'invalid_state');
        assert.equal(row!.status, 'cancelled');
        assert.equal(row!.cancellationReason, 'expired');
        assert.equal(row!.cancelledBy, 'system');
      }
    }
  });
});

describe('random bookings (property)', () => {
  it('accepts a request exactly when it overlaps no live slot, and no two live slots ever overlap', async () => {
    const { owner, spaceId } = await spaceFor(app, { buffer_minutes: 30 });
    const people = await clients(app, 4);
    let seed = 20260324;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const live = new Map<number, { from: number; until: number }>();
    for (let step = 0; step < 120; step++) {
      const action = random();
      if (action < 0.75 || live.size === 0) {
        const fromHalfHours = 48 + Math.floor(random() * 96);
        const lengthHalfHours = 2 + Math.floor(random() * 8);
        const from = fromHalfHours / 2;
        const to = (fromHalfHours + lengthHalfHours) / 2;
        const blocked = { from: START.getTime() + from * 3_600_000, until: START.getTime() + to * 3_600_000 + 30 * 60_000 };
        const expectFree = [...live.values()].every((slot) => blocked.until <= slot.from || blocked.from >= slot.until);
        const result = await book(app, people[step % people.length]!, spaceId, from, to);
        assert.equal(result.status, expectFree ? 201 : 409, `step ${step}: ${from}–${to} h → ${result.status} ${result.raw}`);
        if (result.status === 201) live.set(result.body.id, blocked);
      } else {
        const ids = [...live.keys()];
        const id = ids[Math.floor(random() * ids.length)]!;
        const result = await call(app, 'PUT', `/api/bookings/${id}/${action < 0.9 ? 'cancel' : 'reject'}`, { token: owner.token });
        assert.equal(result.status, 200, result.raw);
        live.delete(id);
      }
      assert.equal(await overlaps(app.services.database, spaceId), 0, `overlap after step ${step}`);
    }
    const [row] = await queryRows<{ n: number }>(
      db,
      sql`select count(*)::int as n from bookings where space_id = ${spaceId} and status in ('pending', 'confirmed')`,
    );
    assert.equal(row!.n, live.size);
  });
});

describe(
  'several server processes on one database',
  { skip: usingPostgres() ? false : 'needs TEST_DATABASE_URL: the embedded database belongs to one process' },
  () => {
    it('accepts exactly one of 40 requests for one slot spread over two processes', async () => {
      const env = {
        DATABASE_URL: await scratchPostgresUrl(),
        DATA_DIR: tempDir(),
        RATE_LIMIT_AUTH_PER_IP: '100000',
        RATE_LIMIT_EMAIL_PER_HOUR: '100000',
        BACKGROUND_JOBS: 'false',
      };
      const [first, second] = await Promise.all([startServer(env), startServer(env)]);
      const register = async (url: string, role: string) => {
        const email = `${role}-${Math.random().toString(36).slice(2)}@example.test`;
        const result = await postJson(`${url}/api/auth/register`, { email, password: 'Secret123', first_name: 'P', last_name: 'Q', role });
        assert.equal(result.status, 201);
        return result.body.access_token as string;
      };
      const ownerToken = await register(first.url, 'owner');
      const space = await postJson(
        `${first.url}/api/spaces`,
        { name: 'Shared', description: 'Two processes', address: 'A', city: 'Nairobi', price_per_hour: 500, capacity: 5 },
        { authorization: `Bearer ${ownerToken}` },
      );
      assert.equal(space.status, 201);
      const tokens = await Promise.all(Array.from({ length: 40 }, (_, index) => register(index % 2 === 0 ? first.url : second.url, 'client')));
      const slot = {
        space_id: space.body.id,
        start_time: new Date(Date.now() + 7 * 86_400_000).toISOString(),
        end_time: new Date(Date.now() + 7 * 86_400_000 + 2 * 3_600_000).toISOString(),
      };
      const results = await Promise.all(
        tokens.map((token, index) => postJson(`${(index % 2 === 0 ? first : second).url}/api/bookings`, slot, { authorization: `Bearer ${token}` })),
      );
      assert.equal(results.filter((result) => result.status === 201).length, 1);
      assert.equal(results.filter((result) => result.status === 409 && result.body.code === 'booking_conflict').length, 39);
      await Promise.all([first.stop(), second.stop()]);
    });
  },
);
