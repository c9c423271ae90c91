import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import { queryRows, type Db } from '../../src/db/client.ts';
import { tempDir } from '../helpers/app.ts';
import { startFakeDaraja, type FakeDaraja } from '../helpers/daraja.ts';
import { createScratchPostgres, usingPostgres } from '../helpers/database.ts';
import { uniqueEmail } from '../helpers/factories.ts';
import { assertInvariants } from '../helpers/invariants.ts';
import { CALLBACK_TOKEN, callbackPath, DAY, HOUR } from '../helpers/payments.ts';
import { freePort, startServer, type ServerProcess } from '../helpers/server-process.ts';
import { spaceInput } from '../helpers/spaces.ts';
import { startTcpProxy, viaProxy } from '../helpers/tcp-proxy.ts';

/**
 * Faults on the real PostgreSQL, against `node src/server.ts`: the process killed with SIGKILL in
 * the middle of booking and payment writes, and PostgreSQL going away under load and coming back.
 */

const skip = usingPostgres() ? false : 'needs TEST_DATABASE_URL (a real PostgreSQL server, and a process to kill)';

interface Answer {
  status: number;
  body: any;
}

/** A request that may be cut by a kill or an outage: a network error is status 0, never a throw. */
async function send(
  base: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Answer> {
  try {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: {
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        ...options.headers,
      },
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      signal: AbortSignal.timeout(20_000),
    });
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON (a cut connection's partial answer)
    }
    return { status: response.status, body };
  } catch {
    return { status: 0, body: undefined };
  }
}

function darajaEnv(daraja: FakeDaraja): Record<string, string> {
  return {
    MPESA_CONSUMER_KEY: daraja.account.consumerKey,
    MPESA_CONSUMER_SECRET: daraja.account.consumerSecret,
    MPESA_BUSINESS_SHORTCODE: daraja.account.shortcode,
    MPESA_PASSKEY: daraja.account.passkey,
    MPESA_BASE_URL: daraja.url,
    MPESA_CALLBACK_TOKEN: CALLBACK_TOKEN,
  };
}

const generousLimits = {
  RATE_LIMIT_AUTH_PER_IP: '100000',
  RATE_LIMIT_LOGIN_PER_EMAIL: '100000',
  RATE_LIMIT_LOGIN_PER_EMAIL_CEILING: '100000',
  RATE_LIMIT_EMAIL_PER_HOUR: '100000',
};

async function register(base: string, role: 'owner' | 'client') {
  const answer = await send(base, 'POST', '/api/auth/register', {
    body: { email: uniqueEmail(role), password: 'Secret123', first_name: 'Fault', last_name: role === 'owner' ? 'Host' : 'Guest', role },
  });
  assert.equal(answer.status, 201, JSON.stringify(answer.body));
  return { id: answer.body.user.id as number, token: answer.body.access_token as string };
}

/** The start of a whole hour, `days` from now: slots never fall inside the minimum notice. */
const slot = (days: number, hour: number, hours = 1) => {
  const start = new Date(Math.ceil((Date.now() + days * DAY) / DAY) * DAY + hour * HOUR);
  return { start_time: start.toISOString(), end_time: new Date(start.getTime() + hours * HOUR).toISOString() };
};

async function scalar(db: Db, query: ReturnType<typeof sql>): Promise<number> {
  const [row] = await queryRows<{ n: number }>(db, query);
  return Number(row!.n);
}

describe('a server process killed with SIGKILL mid-write', { skip }, () => {
  it('leaves nothing half-written: every invariant holds, every 2xx is still there, and a restarted process carries on', async () => {
    const scratch = await createScratchPostgres();
    after(scratch.drop);
    const daraja = await startFakeDaraja();
    after(() => daraja.close());
    const port = await freePort();
    const env = {
      DATA_DIR: tempDir(),
      DATABASE_URL: scratch.url,
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      PAYMENT_PROVIDER_TIMEOUT_MS: '2000',
      PAYMENT_SWEEP_INTERVAL_MS: '500',
      MPESA_QUERY_AFTER_S: '5',
      ...generousLimits,
      ...darajaEnv(daraja),
    };
    let server: ServerProcess = await startServer(env, { port });
    const base = server.url;

    // The world before the storm: hosts with spaces, guests with confirmed bookings, some with payments pending.
    const owners = await Promise.all(Array.from({ length: 2 }, () => register(base, 'owner')));
    const guests = await Promise.all(Array.from({ length: 8 }, () => register(base, 'client')));
    const spaces: number[] = [];
    for (const [index, owner] of owners.entries()) {
      for (let i = 0; i < 3; i++) {
        const created = await send(base, 'POST', '/api/spaces', {
          token: owner.token,
          body: spaceInput({ name: `Fault room ${index}-${i}`, price_per_hour: 1000 }),
        });
        assert.equal(created.status, 201, JSON.stringify(created.body));
        spaces.push(created.body.id);
      }
    }
    const ownerOf = (spaceIndex: number) => owners[Math.floor(spaceIndex / 3)]!;
    const confirmed: { id: number; guest: (typeof guests)[number] }[] = [];
    for (let i = 0; i < 24; i++) {
      const guest = guests[i % guests.length]!;
      const spaceIndex = i % spaces.length;
      const booked = await send(base, 'POST', '/api/bookings', {
        token: guest.token,
        body: { space_id: spaces[spaceIndex], ...slot(3, 6 + Math.floor(i / spaces.length)) },
      });
      assert.equal(booked.status, 201, JSON.stringify(booked.body));
      const approved = await send(base, 'PUT', `/api/bookings/${booked.body.id}/approve`, { token: ownerOf(spaceIndex).token });
      assert.equal(approved.status, 200, JSON.stringify(approved.body));
      confirmed.push({ id: booked.body.id, guest });
    }
    const preparedPayments: { id: number; checkout: string }[] = [];
    for (const booking of confirmed.slice(0, 8)) {
      const paid = await send(base, 'POST', '/api/payments', {
        token: booking.guest.token,
        body: { booking_id: booking.id, payment_method: 'mpesa', phone_number: '0712345678' },
      });
      assert.equal(paid.status, 201, JSON.stringify(paid.body));
      preparedPayments.push({ id: paid.body.id, checkout: paid.body.checkout_request_id });
    }

    // Some STK pushes get no answer: the kill then lands while their payments wait on Daraja.
    daraja.fail('stk_push', { hang: true }, 4);
    // The storm: overlapping booking requests, approvals, payments and callbacks, all at once.
    const acknowledged = { bookings: [] as number[], approvals: [] as number[], payments: [] as number[], callbacks: [] as number[] };
    const keyed: { guest: (typeof guests)[number]; path: string; body: unknown; key: string }[] = [];
    const work: Promise<void>[] = [];
    for (let i = 0; i < 48; i++) {
      const guest = guests[i % guests.length]!;
      const spaceIndex = i % spaces.length;
      // Two requests for each slot: at most one may hold it.
      const body = { space_id: spaces[spaceIndex], ...slot(5, 6 + (Math.floor(i / spaces.length) % 4)) };
      const key = randomUUID();
      if (i % 2 === 0) keyed.push({ guest, path: '/api/bookings', body, key });
      work.push(
        send(base, 'POST', '/api/bookings', { token: guest.token, body, headers: i % 2 === 0 ? { 'idempotency-key': key } : {} }).then(async (answer) => {
          if (answer.status !== 201) return;
          acknowledged.bookings.push(answer.body.id);
          const approved = await send(base, 'PUT', `/api/bookings/${answer.body.id}/approve`, { token: ownerOf(spaceIndex).token });
          if (approved.status === 200) acknowledged.approvals.push(answer.body.id);
        }),
      );
    }
    for (const [i, booking] of confirmed.slice(8).entries()) {
      const body = { booking_id: booking.id, payment_method: 'mpesa', phone_number: '0712345678' };
      const key = randomUUID();
      if (i % 2 === 0) keyed.push({ guest: booking.guest, path: '/api/payments', body, key });
      work.push(
        send(base, 'POST', '/api/payments', { token: booking.guest.token, body, headers: i % 2 === 0 ? { 'idempotency-key': key } : {} }).then((answer) => {
          if (answer.status === 201) acknowledged.payments.push(answer.body.id);
        }),
      );
    }
    for (const payment of preparedPayments) {
      daraja.settle(payment.checkout, { resultCode: 0 });
      const callback = daraja.stkCallbackBody(payment.checkout);
      work.push(
        send(base, 'POST', callbackPath(), { body: callback }).then((answer) => {
          if (answer.status === 200) acknowledged.callbacks.push(payment.id);
        }),
      );
    }
    // Killed once each kind of write has been answered at least once while others are still being
    // written, and while payments are waiting on Daraja (their pending rows committed, their keys claimed).
    const answered = () => acknowledged.bookings.length + acknowledged.payments.length + acknowledged.callbacks.length;
    const deadline = Date.now() + 10_000;
    const pushes = () => daraja.requestsFor('stk_push').length - preparedPayments.length;
    while (
      !(acknowledged.bookings.length > 0 && acknowledged.payments.length > 0 && acknowledged.callbacks.length > 0 && pushes() >= 6) &&
      Date.now() < deadline
    )
      await sleep(2);
    server.child.kill('SIGKILL');
    assert.deepEqual(await server.exited, { code: null, signal: 'SIGKILL' });
    await Promise.all(work);
    const total = 48 + confirmed.length - 8 + preparedPayments.length;
    assert.ok(answered() < total, 'the kill came while requests were still in flight');

    const db = scratch.database.db;
    // A transaction the kill interrupted is rolled back by PostgreSQL once it sees the socket close.
    for (
      let i = 0;
      i < 50 && (await scalar(db, sql`select count(*) as n from pg_stat_activity where datname = current_database() and application_name = 'spacer-api'`)) > 0;
      i++
    )
      await sleep(100);
    await assertInvariants(db, { unansweredKeyGraceMs: 60_000 });

    const idsIn = async (table: 'bookings' | 'payments', ids: number[]) =>
      ids.length === 0
        ? []
        : queryRows<{ id: number; status: string; payment_status?: string }>(
            db,
            sql`select * from ${sql.identifier(table)} where id in ${sql.raw(`(${ids.join(',')})`)}`,
          );
    assert.equal((await idsIn('bookings', acknowledged.bookings)).length, acknowledged.bookings.length, 'every booking answered 201 exists');
    assert.ok(
      (await idsIn('bookings', acknowledged.approvals)).every((row) => row.status === 'confirmed'),
      'every approval answered 200 stuck',
    );
    assert.equal((await idsIn('payments', acknowledged.payments)).length, acknowledged.payments.length, 'every payment answered 201 exists');
    assert.ok(
      (await idsIn('payments', acknowledged.callbacks)).every((row) => row.status === 'completed'),
      'every callback answered 200 completed its payment',
    );

    // The same database, a new process: it answers at once, and its sweeps and workers start clean.
    server = await startServer(env, { port });
    assert.equal((await send(server.url, 'GET', '/ready')).status, 200);
    // Payments the kill caught waiting on Daraja never got their CheckoutRequestID, so no callback or
    // query can settle them: once no process can still be starting them, the sweep fails them and
    // gives their Idempotency-Keys back, and their bookings can be paid again.
    const leftovers = sql`select (select count(*) from payments where status = 'pending' and checkout_request_id is null)
      + (select count(*) from idempotency_keys where status_code is null) as n`;
    for (let i = 0; i < 450 && (await scalar(db, leftovers)) > 0; i++) await sleep(100);
    assert.equal(
      await scalar(db, leftovers),
      0,
      `payments left without a provider reference are failed, their keys released: ${JSON.stringify(
        await queryRows(
          db,
          sql`select id, status, created_at, next_query_at, query_attempts, now() as now from payments where status = 'pending' and checkout_request_id is null union all select null, scope, created_at, null, null, now() from idempotency_keys where status_code is null`,
        ),
      )}\n${server.output().slice(-3000)}`,
    );
    // Retrying with its key, a request the kill interrupted gets a final answer, never "still in progress".
    for (const request of keyed) {
      const retry = await send(server.url, 'POST', request.path, {
        token: request.guest.token,
        body: request.body,
        headers: { 'idempotency-key': request.key },
      });
      assert.ok([200, 201, 409].includes(retry.status), `${request.path} retry: ${retry.status} ${JSON.stringify(retry.body)}`);
      if (retry.status === 409) assert.notEqual(retry.body.code, 'idempotency_key_reused', `${request.path} retry: ${JSON.stringify(retry.body)}`);
    }
    // Callbacks the kill lost: Daraja's STK query settles the rest; a repeated callback changes nothing.
    for (const payment of preparedPayments)
      assert.equal((await send(server.url, 'POST', callbackPath(), { body: daraja.stkCallbackBody(payment.checkout) })).status, 200);
    await assertInvariants(db);
    assert.equal(
      await scalar(db, sql`select count(*) as n from payments where status = 'completed'`),
      preparedPayments.length,
      'each prepared payment completed exactly once',
    );
    assert.deepEqual(await server.stop(), { code: 0, signal: null });
  });
});

describe('PostgreSQL restarted under load', { skip }, () => {
  it('answers 503 service_unavailable while it is down, recovers without a restart of the service, and loses no 2xx', async () => {
    const scratch = await createScratchPostgres();
    after(scratch.drop);
    const target = new URL(scratch.url);
    const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    const server = await startServer({ DATA_DIR: tempDir(), DATABASE_URL: viaProxy(scratch.url, proxy.port()), ...generousLimits });
    const base = server.url;
    const owner = await register(base, 'owner');
    const guest = await register(base, 'client');
    const created = await send(base, 'POST', '/api/spaces', { token: owner.token, body: spaceInput({ name: 'Outage room' }) });
    assert.equal(created.status, 201);

    // Load: guests registering and booking one-hour slots, each request at most once.
    const answers: { kind: 'register' | 'booking'; status: number; code?: string; id?: number; email?: string; took: number }[] = [];
    let stop = false;
    let hour = 0;
    const giveUpAt = Date.now() + 40_000;
    const worker = async () => {
      while (!stop && Date.now() < giveUpAt) {
        const started = Date.now();
        if (hour % 2 === 0) {
          const email = uniqueEmail('outage');
          const answer = await send(base, 'POST', '/api/auth/register', { body: { email, password: 'Secret123', first_name: 'Out', last_name: 'Age' } });
          answers.push({ kind: 'register', status: answer.status, code: answer.body?.code, email, took: Date.now() - started });
        } else {
          const answer = await send(base, 'POST', '/api/bookings', {
            token: guest.token,
            body: { space_id: created.body.id, ...slot(4 + Math.floor(hour / 24), hour % 24) },
          });
          answers.push({ kind: 'booking', status: answer.status, code: answer.body?.code, id: answer.body?.id, took: Date.now() - started });
        }
        hour++;
      }
    };
    const load = Promise.all(Array.from({ length: 4 }, worker));
    await sleep(500);

    await proxy.cut();
    const cutAt = answers.length;
    await sleep(1500);
    const ready = await send(base, 'GET', '/ready');
    assert.equal(ready.status, 503, server.output().slice(-1500));
    assert.equal(ready.body.code, 'service_unavailable');
    assert.equal((await send(base, 'GET', '/health')).status, 200, 'the process itself is alive');
    await sleep(4000);
    const restoredAt = answers.length;
    await proxy.restore();
    for (let i = 0; i < 100 && (await send(base, 'GET', '/ready')).status !== 200; i++) await sleep(100);
    await sleep(1500);
    stop = true;
    await load;

    const during = answers.slice(cutAt + 8, restoredAt);
    assert.ok(during.length > 0, 'requests were made while PostgreSQL was down');
    for (const answer of during) {
      assert.equal(answer.status, 503, JSON.stringify(answer));
      assert.equal(answer.code, 'service_unavailable');
      // The pool gives up on a connection after 5 s; nothing waits longer than that (and a little).
      assert.ok(answer.took < 7000, `answered after ${answer.took} ms`);
    }
    assert.deepEqual(
      answers.filter((answer) => answer.status >= 500 && answer.status !== 503),
      [],
      `never a 500: ${server
        .output()
        .split('\n')
        .filter((line) => line.includes('"level":50'))
        .slice(0, 3)
        .join('\n')}`,
    );
    assert.ok(
      answers.slice(restoredAt + 8).some((answer) => answer.status === 201),
      'the same process serves again',
    );
    assert.ok(proxy.accepted() > 1, 'it reconnected');
    assert.ok(server.child.exitCode === null, 'the service was not restarted');

    const db = scratch.database.db;
    const emails = answers.filter((answer) => answer.kind === 'register' && answer.status === 201).map((answer) => answer.email!);
    const bookingIds = answers.filter((answer) => answer.kind === 'booking' && answer.status === 201).map((answer) => answer.id!);
    const [stored] = await queryRows<{ users: number; bookings: number }>(
      db,
      sql`select (select count(*)::int from users where email in ${sql.raw(`(${emails.map((email) => `'${email}'`).join(',') || "''"})`)}) as users,
                 (select count(*)::int from bookings where id in ${sql.raw(`(${bookingIds.join(',') || '0'})`)}) as bookings`,
    );
    assert.equal(stored!.users, emails.length, 'every 201 registration is stored');
    assert.equal(stored!.bookings, bookingIds.length, 'every 201 booking is stored');
    await assertInvariants(db);
    await server.stop();
  });
});
