import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import { buildApp } from '../../src/app.ts';
import { createPool, fromPool, queryRows } from '../../src/db/client.ts';
import { migratePool } from '../../src/db/migrate.ts';
import { isConnectionError } from '../../src/shared/db-errors.ts';
import { call, testConfig } from '../helpers/app.ts';
import { createScratchPostgres, usingPostgres } from '../helpers/database.ts';
import { uniqueEmail } from '../helpers/factories.ts';
import { startTcpProxy, viaProxy } from '../helpers/tcp-proxy.ts';

/** A scratch database reached through a relay the test can cut, and a pool of `poolMax` to it. */
async function poolBehindRelay(poolMax: number) {
  const scratch = await createScratchPostgres();
  after(scratch.drop);
  const target = new URL(scratch.url);
  const relay = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
  const pool = createPool(viaProxy(scratch.url, relay.port()), { poolMax });
  return { relay, pool, database: fromPool(pool) };
}

const skip = usingPostgres() ? false : 'needs TEST_DATABASE_URL (a real PostgreSQL server to lose and regain)';

describe('when PostgreSQL becomes unreachable', { skip }, () => {
  it('answers /ready with 503 and requests with 503 service_unavailable, then recovers without a restart', async () => {
    const { relay, database } = await poolBehindRelay(4);
    const app = await buildApp(testConfig(), { database });
    after(async () => {
      await app.close();
      await database.close();
    });

    assert.equal((await call(app, 'GET', '/ready')).status, 200);
    await relay.cut();

    const down = await call(app, 'GET', '/ready');
    assert.equal(down.status, 503);
    assert.equal(down.body.code, 'service_unavailable');
    assert.ok(Number(down.headers['retry-after']) >= 1);
    const login = await call(app, 'POST', '/api/auth/login', { body: { email: uniqueEmail(), password: 'Secret123' } });
    assert.equal(login.status, 503);
    assert.equal(login.body.code, 'service_unavailable');
    assert.equal((await call(app, 'GET', '/health')).status, 200, 'liveness does not depend on the database');

    await relay.restore();
    let ready = 0;
    for (let attempt = 0; attempt < 20 && ready !== 200; attempt++) ready = (await call(app, 'GET', '/ready')).status;
    assert.equal(ready, 200);
    const registered = await call(app, 'POST', '/api/auth/register', {
      body: { email: uniqueEmail('back'), password: 'Secret123', first_name: 'Back', last_name: 'Again' },
    });
    assert.equal(registered.status, 201);
  });
});

describe('migrations', { skip }, () => {
  it('can run from several processes at once: they take turns and the schema is applied once', async () => {
    const scratch = await createScratchPostgres({ migrate: false });
    after(scratch.drop);
    const pools = Array.from({ length: 3 }, () => createPool(scratch.url, { poolMax: 2 }));
    after(() => Promise.all(pools.map((pool) => pool.end())));
    await Promise.all(pools.map((pool) => migratePool(pool)));
    const [applied] = await queryRows<{ n: number }>(scratch.database.db, sql`select count(*)::int as n from drizzle.__drizzle_migrations`);
    const { readMigrationFiles } = await import('drizzle-orm/migrator');
    const { MIGRATIONS_FOLDER } = await import('../../src/db/migrate.ts');
    assert.equal(applied!.n, readMigrationFiles({ migrationsFolder: MIGRATIONS_FOLDER }).length);
    const [tables] = await queryRows<{ n: number }>(
      scratch.database.db,
      sql`select count(*)::int as n from information_schema.tables where table_name = 'users'`,
    );
    assert.equal(tables!.n, 1);
  });
});

describe('the connection pool', { skip }, () => {
  it('keeps a connection whose statement failed, and still drops one that broke', async () => {
    const pool = createPool(process.env.TEST_DATABASE_URL!, { poolMax: 1 });
    after(() => pool.end());
    const backend = async () => (await pool.query('select pg_backend_pid() as pid')).rows[0].pid as number;
    const first = await backend();

    await assert.rejects(pool.query('select 1 / 0'), { code: '22012' });
    await assert.rejects(pool.query('select * from no_such_table'), { code: '42P01' });
    assert.equal(await backend(), first, 'the same backend serves on: no reconnect after a failed statement');

    // A connection the server ends is not handed out again.
    await assert.rejects(pool.query('select pg_terminate_backend(pg_backend_pid())'));
    const next = await backend();
    assert.notEqual(next, first);
    assert.equal(pool.totalCount, 1);
  });
  it('gives back a connection lost as a transaction begins: the pool stays whole and closes at once', async () => {
    // drizzle sends BEGIN before its try/finally, so a BEGIN that fails was never released.
    const { relay, pool, database } = await poolBehindRelay(1);
    after(() => database.close());
    await database.ping();

    relay.dropWhenSent('begin');
    await assert.rejects(
      database.db.transaction((tx) => queryRows(tx, sql`select 1`)),
      (error) => isConnectionError(error),
    );
    assert.equal(pool.totalCount, 0, 'the lost connection left the pool');

    // With the pool's only connection still out, this would wait for connectionTimeoutMillis and fail.
    const [row] = await database.db.transaction((tx) => queryRows<{ one: number }>(tx, sql`select 1 as one`));
    assert.equal(row!.one, 1);
    const closing = database.close();
    assert.equal(await Promise.race([closing.then(() => 'closed'), sleep(2000).then(() => 'still waiting')]), 'closed');
  });

  it('gives back a connection lost inside a transaction, whose ROLLBACK cannot be sent either', async () => {
    // drizzle's own finally releases this one; kept so that the early release never breaks it.
    const { relay, pool, database } = await poolBehindRelay(1);
    after(() => database.close());

    relay.dropWhenSent('lost_here');
    await assert.rejects(
      database.db.transaction((tx) => queryRows(tx, sql`select 1 as lost_here`)),
      (error) => isConnectionError(error),
    );
    assert.equal(pool.totalCount, 0);
    const [row] = await queryRows<{ one: number }>(database.db, sql`select 1 as one`);
    assert.equal(row!.one, 1);
  });
});
