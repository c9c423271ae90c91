import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import { openDatabase, queryRows } from '../../src/db/client.ts';
import { uniqueEmail } from '../helpers/factories.ts';
import { postJson, serverStorage, startServer } from '../helpers/server-process.ts';

describe('npm start (src/server.ts)', () => {
  it('keeps data across a restart: a user registered before can log in after', async () => {
    const env = await serverStorage();
    const email = uniqueEmail('restart');
    const first = await startServer(env);
    const registered = await postJson(`${first.url}/api/auth/register`, { email, password: 'Secret123', first_name: 'Re', last_name: 'Start' });
    assert.equal(registered.status, 201);
    assert.deepEqual(await first.stop(), { code: 0, signal: null });

    const second = await startServer(env);
    const login = await postJson(`${second.url}/api/auth/login`, { email, password: 'Secret123' });
    assert.equal(login.status, 200);
    assert.equal(login.body.user.email, email);
    // Development secrets are kept in DATA_DIR, so tokens from before the restart still verify.
    const me = await fetch(`${second.url}/api/auth/me`, { headers: { authorization: `Bearer ${registered.body.access_token}` } });
    assert.equal(me.status, 200);
    await second.stop();
  });

  it('lets an in-flight request finish on SIGTERM, refuses new ones, and exits 0 within 10 s', async () => {
    const env = { ...(await serverStorage()), BCRYPT_ROUNDS: '13', LOG_LEVEL: 'info' };
    const server = await startServer(env);
    const email = uniqueEmail('slow');
    assert.equal((await postJson(`${server.url}/api/auth/register`, { email, password: 'Secret123', first_name: 'S', last_name: 'L' })).status, 201);

    const started = Date.now();
    const slowLogin = postJson(`${server.url}/api/auth/login`, { email, password: 'Secret123' });
    await sleep(150);
    server.child.kill('SIGTERM');
    await sleep(50);
    const late = await fetch(`${server.url}/health`).then(
      (response) => response.status,
      (error: Error) => error.name,
    );
    assert.notEqual(late, 200, 'a request arriving after SIGTERM is not served');

    const login = await slowLogin;
    assert.equal(login.status, 200, 'the in-flight login completed');
    assert.equal(typeof login.body.access_token, 'string');
    const exit = await server.exited;
    assert.deepEqual(exit, { code: 0, signal: null });
    assert.ok(Date.now() - started < 10_000);
    assert.match(server.output(), /shutting down/);
  });

  it('on SIGTERM, lets the handler of a client that hung up finish its database work before closing the pool', async () => {
    const env: Record<string, string> = { ...(await serverStorage()), BCRYPT_ROUNDS: '13' };
    const server = await startServer(env);
    const email = uniqueEmail('gone');
    assert.equal((await postJson(`${server.url}/api/auth/register`, { email, password: 'Secret123', first_name: 'G', last_name: 'One' })).status, 201);

    // The client gives up during bcrypt; its connection closes, so close() has nothing to wait for.
    const abandoned = new AbortController();
    const login = fetch(`${server.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: 'Secret123' }),
      signal: abandoned.signal,
    }).catch((error: Error) => error.name);
    await sleep(100);
    abandoned.abort();
    assert.equal(await login, 'AbortError');
    server.child.kill('SIGTERM');
    const started = Date.now();
    assert.deepEqual(await server.exited, { code: 0, signal: null });
    assert.ok(Date.now() - started < 5000, 'no waiting out the 10 s limit');
    assert.doesNotMatch(server.output(), /Cannot use a pool|unhandled error/);

    // The abandoned login still created its session: the handler ran to its end.
    const database = await openDatabase({ DATA_DIR: env.DATA_DIR!, DATABASE_URL: env.DATABASE_URL });
    after(() => database.close());
    const rows = await queryRows<{ sessions: number }>(
      database.db,
      sql`select count(*)::int as sessions from sessions join users on users.id = sessions.user_id where users.email = ${email}`,
    );
    assert.equal(rows[0]!.sessions, 2, 'one session from registering, one from the abandoned login');
  });

  it('keeps passwords, tokens and Authorization headers out of its logs', async () => {
    const server = await startServer({ ...(await serverStorage()), LOG_LEVEL: 'trace' });
    const email = uniqueEmail('logs');
    const password = 'VerySecret123';
    const registered = await postJson(`${server.url}/api/auth/register`, { email, password, first_name: 'L', last_name: 'G' });
    await fetch(`${server.url}/api/auth/me`, { headers: { authorization: `Bearer ${registered.body.access_token}` } });
    await fetch(`${server.url}/api/nothing?token=query-secret-value`);
    await fetch(`${server.url}/api/payments/mpesa/callback/path-secret-value`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    await postJson(`${server.url}/api/auth/refresh`, { refresh_token: registered.body.refresh_token });
    await server.stop();
    const logs = server.output();
    assert.match(logs, /request completed/);
    for (const secret of [password, registered.body.access_token, registered.body.refresh_token, 'query-secret-value', 'path-secret-value']) {
      assert.equal(logs.includes(secret), false, `log contains ${secret.slice(0, 12)}…`);
    }
    assert.match(logs, /token=\[REDACTED\]/);
  });
});
