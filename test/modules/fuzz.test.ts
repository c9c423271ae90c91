import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import { queryRows } from '../../src/db/client.ts';
import { fuzzApp, FUZZ_CALLBACK_TOKEN } from '../fuzz/app.ts';
import { formatSummary, runFuzz } from '../fuzz/fuzzer.ts';
import { installWriteLog } from '../fuzz/write-log.ts';

/** The short, seeded run of the OpenAPI fuzzer; `npm run fuzz -- --requests N --seed S` runs long ones. */

const app = await fuzzApp();
const db = app.services.database.db;

describe('the OpenAPI fuzzer', () => {
  it('finds no 5xx, no off-contract answer and no write by a refused request in 2,000 seeded requests', async () => {
    const summary = await runFuzz(app, { requests: 2000, seed: 20_260_601, callbackToken: FUZZ_CALLBACK_TOKEN });
    assert.deepEqual(summary.violations, [], formatSummary(summary));
    assert.ok(Object.keys(summary.byOperation).length >= 55, `every operation is reached: ${Object.keys(summary.byOperation).length}`);
    for (const status of [200, 201, 400, 401, 403, 404, 409, 413, 415]) assert.ok(summary.byStatus[status]! > 0, `some ${status}: ${formatSummary(summary)}`);
  });

  it('reports every refused request that wrote a row, and no write after a success', async () => {
    // Plays routes that write and then refuse: after every answer a user's last name changes, as if
    // the route had done it. The writes after a 2xx are allowed; each one after a 4xx must be
    // reported, the refusals the contract lets write (a spent refresh token) included, since
    // `users` is not a table they may change.
    const summary = await runFuzz(app, {
      requests: 150,
      seed: 99,
      callbackToken: FUZZ_CALLBACK_TOKEN,
      afterAnswer: async () => {
        await db.execute(
          sql`update users set last_name = case when last_name like '%.' then rtrim(last_name, '.') else last_name || '.' end where id = (select min(id) from users)`,
        );
      },
    });
    const refusals = Object.entries(summary.byStatus)
      .filter(([status]) => Number(status) >= 400 && Number(status) < 500)
      .reduce((sum, [, count]) => sum + count, 0);
    assert.ok(refusals > 20 && refusals < summary.requests, formatSummary(summary));
    assert.equal(summary.violations.length, refusals, formatSummary(summary));
    for (const violation of summary.violations) {
      assert.equal(violation.rule, 'a refused request changes nothing');
      assert.match(violation.detail, /^changed: users;/);
    }
  });

  it('logs inserts, deletes, truncates and real updates in every table, and neither an update to the same values nor a rollback', async () => {
    const log = await installWriteLog(db);
    for (const table of ['users', 'sessions', 'space_counters', 'mail_outbox']) assert.ok(log.tables.includes(table), log.tables.join(', '));
    await log.clear();
    assert.deepEqual(await log.take(), []);

    await db.execute(sql`update users set last_name = last_name, email = email || '' where id = (select min(id) from users)`);
    assert.deepEqual(await log.take(), [], 'an update to the same values changes nothing');
    await db.execute(sql`update users set bio = coalesce(bio, '') || '!' where id = (select min(id) from users)`);
    assert.deepEqual(await log.take(), ['users']);
    assert.deepEqual(await log.take(), [], 'a take forgets what it reported');

    // A trigger of the app's own keeps space_counters: its write is logged as well.
    await db.execute(sql`update spaces set is_available = not is_available where id = (select min(id) from spaces where archived_at is null)`);
    assert.deepEqual(await log.take(), ['space_counters', 'spaces']);

    const [user] = await queryRows<{ id: number }>(db, sql`select min(id)::int as id from users`);
    await db.execute(sql`insert into testimonials (user_id, content, rating) values (${user!.id}, 'a row the log must see', 5)`);
    assert.deepEqual(await log.take(), ['testimonials']);
    await db.execute(sql`delete from testimonials where content = 'a row the log must see'`);
    assert.deepEqual(await log.take(), ['testimonials']);

    await assert.rejects(
      db.transaction(async (tx) => {
        await tx.execute(sql`delete from sessions`);
        throw new Error('rolled back');
      }),
      /rolled back/,
    );
    assert.deepEqual(await log.take(), [], 'a write rolled back changes nothing');

    await db.execute(sql`truncate mail_outbox`);
    assert.deepEqual(await log.take(), ['mail_outbox']);
    await log.verify();
  });
});
