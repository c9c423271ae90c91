import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { eq, inArray, sql } from 'drizzle-orm';
import { queryRows } from '../../src/db/client.ts';
import fc from 'fast-check';
import { BOOKING_STATUSES, bookings, payments, type BookingStatus, type PaymentState } from '../../src/db/schema/index.ts';
import { buildTestApp, call } from '../helpers/app.ts';
import { assertError } from '../helpers/assertions.ts';
import { createUser } from '../helpers/factories.ts';
import { createSpace } from '../helpers/spaces.ts';
import { countingApp } from '../helpers/statement-counter.ts';

// This file's database is its own, so the platform-wide figures are exactly what it writes.
const app = await buildTestApp();
const db = app.services.database.db;
const admin = await createUser(app, { role: 'admin' });
const owners = [await createUser(app, { role: 'owner' }), await createUser(app, { role: 'owner' })];
const clients = [await createUser(app), await createUser(app), await createUser(app)];
const idle = await createUser(app);

let slot = 0;
async function booking(spaceId: number, status: BookingStatus, price = 100_000, currency = 'KES') {
  const start = new Date(Date.UTC(2025, 0, 1) + slot++ * 86_400_000);
  const end = new Date(start.getTime() + 3_600_000);
  const [row] = await db
    .insert(bookings)
    .values({ spaceId, userId: clients[slot % clients.length]!.id, startTime: start, endTime: end, blockedUntil: end, totalPrice: price, currency, status })
    .returning();
  return row!;
}

let receipt = 0;
async function payment(bookingId: number, values: { amount: number; currency?: string; refunded?: number; status?: PaymentState; completedAt?: string }) {
  const status = values.status ?? (values.refunded ? 'refunded' : 'completed');
  const settled = status === 'completed' || status === 'refunded';
  await db.insert(payments).values({
    bookingId,
    userId: clients[0]!.id,
    amount: values.amount,
    refundedAmount: values.refunded ?? 0,
    currency: values.currency ?? 'KES',
    method: 'cash',
    provider: 'cash',
    status,
    ...(settled ? { receiptNumber: `RCP-ADMIN-${++receipt}`, completedAt: new Date(values.completedAt!) } : {}),
  });
}

const spaceA = await createSpace(app, owners[0]!.token);
const spaceB = await createSpace(app, owners[0]!.token, { is_available: false });
const spaceUsd = await createSpace(app, owners[1]!.token, { currency: 'USD' });
const archived = await createSpace(app, owners[1]!.token);

// Bookings (past): 2 completed, 1 cancelled, 1 confirmed, 1 pending of the live spaces, 1 completed of the archived one.
const a1 = await booking(spaceA.id, 'completed');
const a2 = await booking(spaceB.id, 'completed');
await booking(spaceA.id, 'cancelled');
await booking(spaceA.id, 'confirmed');
await booking(spaceB.id, 'pending');
const u1 = await booking(spaceUsd.id, 'completed', 5000, 'USD');
const x1 = await booking(archived.id, 'completed');

// 31 Jan 2030 23:00 in Nairobi is still January; 01:00 on 1 Feb there is 22:00 on 31 Jan UTC.
await payment(a1.id, { amount: 100_000, completedAt: '2030-01-31T20:00:00Z' });
await payment(a2.id, { amount: 100_000, refunded: 40_000, completedAt: '2030-01-31T22:00:00Z' });
await payment(x1.id, { amount: 250_050, completedAt: '2029-12-15T09:00:00Z' });
await payment(u1.id, { amount: 5000, currency: 'USD', completedAt: '2030-02-10T09:00:00Z' });
// Neither a pending nor a failed payment is revenue.
await payment(a1.id, { amount: 99_999, status: 'failed' });
await payment(a2.id, { amount: 77_777, status: 'pending' });
assert.equal((await call(app, 'DELETE', `/api/spaces/${archived.id}`, { token: owners[1]!.token })).status, 200);
assert.equal((await call(app, 'DELETE', `/api/users/${idle.id}`, { token: admin.token })).status, 200);

describe('GET /api/admin/stats', () => {
  it('answers the platform figures to an admin, revenue per currency with months in Nairobi time', async () => {
    const response = await call(app, 'GET', '/api/admin/stats', { token: admin.token });
    assert.equal(response.status, 200, response.raw);
    assert.equal(response.headers['cache-control'], 'no-store');
    assert.deepEqual(response.body, {
      users: { total: 7, by_role: { admin: 1, owner: 2, client: 4 } },
      spaces: { total: 3, available: 2 },
      bookings: { total: 7, by_status: { pending: 1, confirmed: 1, cancelled: 1, completed: 4 } },
      revenue: {
        total: 4100.5,
        currency: 'KES',
        by_month: [
          { month: '2029-12', amount: 2500.5 },
          { month: '2030-01', amount: 1000 },
          { month: '2030-02', amount: 600 },
        ],
        by_currency: [
          {
            currency: 'KES',
            total: 4100.5,
            by_month: [
              { month: '2029-12', amount: 2500.5 },
              { month: '2030-01', amount: 1000 },
              { month: '2030-02', amount: 600 },
            ],
          },
          { currency: 'USD', total: 50, by_month: [{ month: '2030-02', amount: 50 }] },
        ],
      },
    });
  });

  it('reads every figure in one statement after the session check, however many rows they count', async (t) => {
    const { app: counted, counting } = await countingApp(t);
    const someone = await createUser(counted, { role: 'admin' });
    const { result, statements } = await counting(() => call(counted, 'GET', '/api/admin/stats', { token: someone.token }));
    assert.equal(result.status, 200, result.raw);
    assert.deepEqual(result.body.users, { total: 1, by_role: { admin: 1, owner: 0, client: 0 } });
    assert.deepEqual(result.body.spaces, { total: 0, available: 0 });
    assert.deepEqual(result.body.bookings, { total: 0, by_status: { pending: 0, confirmed: 0, cancelled: 0, completed: 0 } });
    assert.deepEqual(result.body.revenue, { total: 0, currency: 'KES', by_month: [], by_currency: [] });
    assert.equal(statements, 2, 'the session check, then the four figures together');
  });

  it('returns 403 to an owner and a client, and 401 without a token', async () => {
    for (const user of [owners[0]!, clients[0]!]) assertError(await call(app, 'GET', '/api/admin/stats', { token: user.token }), 403, 'forbidden');
    assertError(await call(app, 'GET', '/api/admin/stats'), 401, 'unauthorized');
    assertError(await call(app, 'GET', '/api/admin/stats', { token: 'garbage' }), 401);
  });
});

describe('GET /api/spaces/stats (owners keep their own, by the same revenue rules)', () => {
  it("counts only the owner's spaces and their completed payments minus refunds", async () => {
    const response = await call(app, 'GET', '/api/spaces/stats', { token: owners[0]!.token });
    assert.equal(response.status, 200, response.raw);
    assert.deepEqual(response.body.revenue, { total: 1600, currency: 'KES', by_currency: [{ currency: 'KES', total: 1600 }] });
    assert.deepEqual(response.body.bookings_by_status, { pending: 1, confirmed: 1, cancelled: 1, completed: 2 });
    const other = await call(app, 'GET', '/api/spaces/stats', { token: owners[1]!.token });
    assert.deepEqual(other.body.revenue.by_currency, [
      { currency: 'KES', total: 2500.5 },
      { currency: 'USD', total: 50 },
    ]);
  });
});

describe('revenue_months (the trigger-kept revenue)', () => {
  /** The counters beside a fresh sum over the payments, months that net to zero left out of both. */
  async function compare() {
    const kept = await queryRows<{ currency: string; month: string; amount: string }>(
      db,
      sql`select currency, to_char(month, 'YYYY-MM') as month, amount::text from revenue_months where amount <> 0 order by 1, 2`,
    );
    const fresh = await queryRows<{ currency: string; month: string; amount: string }>(
      db,
      sql`select currency, to_char(completed_at at time zone 'Africa/Nairobi', 'YYYY-MM') as month, sum(amount - refunded_amount)::text as amount
        from payments where status in ('completed', 'refunded') group by 1, 2 having sum(amount - refunded_amount) <> 0 order by 1, 2`,
    );
    assert.deepEqual(kept, fresh);
    return kept;
  }

  it('equals a fresh sum after refunds, month changes, completions and deletes, in single and multi-row statements', async () => {
    assert.equal((await compare()).length, 4);
    const pending = (await db.select().from(payments).where(eq(payments.status, 'pending')))[0]!;
    await db
      .update(payments)
      .set({ status: 'completed', receiptNumber: 'RCP-ADMIN-LATE', completedAt: new Date('2030-03-01T00:30:00+03:00') })
      .where(eq(payments.id, pending.id));
    await compare();
    await db
      .update(payments)
      .set({ status: 'refunded', refundedAmount: sql`${payments.amount}` })
      .where(eq(payments.currency, 'USD'));
    await compare();
    await db
      .update(payments)
      .set({ completedAt: sql`${payments.completedAt} + interval '40 days'` })
      .where(sql`${payments.status} in ('completed', 'refunded')`);
    await compare();
    await db.update(payments).set({ queryAttempts: sql`${payments.queryAttempts} + 1` });
    await compare();
    await db.delete(payments).where(eq(payments.id, pending.id));
    const after = await compare();
    const stats = await call(app, 'GET', '/api/admin/stats', { token: admin.token });
    assert.deepEqual(
      stats.body.revenue.by_month,
      after.filter((row) => row.currency === 'KES').map((row) => ({ month: row.month, amount: Number(row.amount) / 100 })),
    );
    assert.deepEqual(
      stats.body.revenue.by_currency.map((entry: { currency: string }) => entry.currency),
      ['KES'],
      'a fully refunded currency earned nothing',
    );
  });
});

describe('booking_status_counts (the trigger-kept bookings by status)', () => {
  /** The counters as the admin stats read them, beside a fresh count(*) by status. */
  async function compare() {
    const fresh = await queryRows<{ status: BookingStatus; n: number }>(db, sql`select status, count(*)::int as n from bookings group by status`);
    const expected = Object.fromEntries(BOOKING_STATUSES.map((status) => [status, fresh.find((row) => row.status === status)?.n ?? 0]));
    const stats = await call(app, 'GET', '/api/admin/stats', { token: admin.token });
    assert.equal(stats.status, 200, stats.raw);
    assert.deepEqual(stats.body.bookings.by_status, expected);
    assert.equal(
      stats.body.bookings.total,
      fresh.reduce((sum, row) => sum + row.n, 0),
    );
  }

  const rows = (spaceId: number, statuses: BookingStatus[]) =>
    statuses.map((status, index) => {
      const start = new Date(Date.UTC(2025, 0, 1) + slot++ * 86_400_000);
      const end = new Date(start.getTime() + 3_600_000);
      return {
        spaceId,
        userId: clients[index % clients.length]!.id,
        startTime: start,
        endTime: end,
        blockedUntil: end,
        totalPrice: 1000,
        currency: 'KES',
        status,
      };
    });

  const status = fc.constantFrom(...BOOKING_STATUSES);
  const step = fc.oneof(
    fc.record({ kind: fc.constant('insert' as const), statuses: fc.array(status, { minLength: 1, maxLength: 5 }) }),
    fc.record({ kind: fc.constant('update' as const), pick: fc.array(fc.nat(), { minLength: 1, maxLength: 4 }), status }),
    fc.record({ kind: fc.constant('edit' as const), pick: fc.array(fc.nat(), { minLength: 1, maxLength: 4 }) }),
    fc.record({ kind: fc.constant('delete' as const), pick: fc.array(fc.nat(), { minLength: 1, maxLength: 3 }) }),
    fc.record({ kind: fc.constant('transaction' as const), statuses: fc.array(status, { minLength: 2, maxLength: 4 }) }),
    fc.record({ kind: fc.constant('concurrent' as const), statuses: fc.array(status, { minLength: 2, maxLength: 6 }) }),
    fc.record({ kind: fc.constant('truncate' as const) }),
  );

  it('always equal a fresh count(*) by status after random inserts, status changes, other edits, deletes, transactions and truncates (property)', async () => {
    await compare();
    const ids = async () => (await db.select({ id: bookings.id }).from(bookings)).map((row) => row.id);
    const picked = (all: number[], pick: number[]) => [...new Set(pick.map((n) => all[n % all.length]!))];
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 10 }), async (steps) => {
        for (const action of steps) {
          const all = await ids();
          if (action.kind === 'insert') {
            await db.insert(bookings).values(rows(spaceA.id, action.statuses));
          } else if (action.kind === 'update' && all.length > 0) {
            await db
              .update(bookings)
              .set({ status: action.status })
              .where(inArray(bookings.id, picked(all, action.pick)));
          } else if (action.kind === 'edit' && all.length > 0) {
            // No status changes: the counters must stay as they are.
            await db
              .update(bookings)
              .set({ version: sql`${bookings.version} + 1`, paymentStatus: 'paid' })
              .where(inArray(bookings.id, picked(all, action.pick)));
          } else if (action.kind === 'delete' && all.length > 0) {
            await db.delete(payments).where(inArray(payments.bookingId, picked(all, action.pick)));
            await db.delete(bookings).where(inArray(bookings.id, picked(all, action.pick)));
          } else if (action.kind === 'transaction') {
            // Several statements of one transaction, each changing statuses, then one rolled back.
            await db.transaction(async (tx) => {
              const [first] = await tx.insert(bookings).values(rows(spaceA.id, action.statuses)).returning({ id: bookings.id });
              await tx.update(bookings).set({ status: 'cancelled' }).where(eq(bookings.id, first!.id));
              await tx.delete(bookings).where(eq(bookings.id, first!.id));
            });
            await db
              .transaction(async (tx) => {
                await tx.insert(bookings).values(rows(spaceA.id, action.statuses));
                tx.rollback();
              })
              .catch(() => undefined);
          } else if (action.kind === 'concurrent') {
            // Separate transactions at once: on PostgreSQL each on its own connection and counter row.
            await Promise.all(action.statuses.map((status) => db.transaction((tx) => tx.insert(bookings).values(rows(spaceB.id, [status])))));
          } else if (action.kind === 'truncate') {
            await db.execute(sql`truncate bookings cascade`);
          }
          await compare();
        }
      }),
      { numRuns: 15 },
    );
  });

  it('spreads transactions over counter rows (by transaction id), so bookings do not queue on one', async () => {
    await db.execute(sql`truncate bookings cascade`);
    for (const status of BOOKING_STATUSES) await db.insert(bookings).values(rows(spaceA.id, [status]));
    const [spread] = await queryRows<{ n: number }>(db, sql`select count(*)::int as n from booking_status_counts`);
    // Four transactions land on one row of 64 only if their ids all meet modulo 64 (about 1 in 260,000).
    assert.ok(spread!.n > 1, `changes spread over several counter rows, not ${spread!.n}`);
    await compare();
  });
});
