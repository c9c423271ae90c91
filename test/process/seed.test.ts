import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import { queryRows } from '../../src/db/client.ts';
import { cliSandbox } from '../helpers/cli.ts';
import { usingPostgres } from '../helpers/database.ts';

/** `npm run db:seed` as a process, on the embedded database (a DATA_DIR) or on DATABASE_URL. */
const { dataDir, withDatabase, run } = await cliSandbox();
const seed = (...args: string[]) => run('src/cli/seed.ts', args, 120_000);

const counts = () =>
  withDatabase(async ({ db }) => {
    const [row] = await queryRows<{ users: number; admins: number; owners: number; clients: number; spaces: number; cities: number; images: number; without_images: number }>(
      db,
      sql`select
        (select count(*) from users)::int as users,
        (select count(*) from users where role = 'admin')::int as admins,
        (select count(*) from users where role = 'owner')::int as owners,
        (select count(*) from users where role = 'client')::int as clients,
        (select count(*) from spaces)::int as spaces,
        (select count(distinct city) from spaces)::int as cities,
        (select count(*) from space_images)::int as images,
        (select count(*) from spaces s where not exists (select 1 from space_images i where i.space_id = s.id))::int as without_images`,
    );
    return row!;
  });

describe('npm run db:seed', () => {
  it('creates the demo catalogue, prints the logins, and stores every photo', async () => {
    const result = seed();
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /admin@spacer\.test/);
    assert.match(result.stdout, /owner3@spacer\.test/);
    assert.match(result.stdout, /client5@spacer\.test/);
    assert.match(result.stdout, /password for all: \S+/);
    const seeded = await counts();
    assert.deepEqual({ ...seeded, images: undefined }, { users: 9, admins: 1, owners: 3, clients: 5, spaces: 40, cities: 5, images: undefined, without_images: 0 });
    assert.ok(seeded.images >= 40 && seeded.images <= 160);
    if (!usingPostgres()) {
      const keys = await withDatabase(({ db }) => queryRows<{ storage_key: string }>(db, sql`select storage_key from space_images`));
      assert.ok(keys.every(({ storage_key }) => existsSync(join(dataDir, 'uploads', storage_key))), 'every image file exists');
    }
  });

  it('changes nothing when run again', async () => {
    const before = await counts();
    const result = seed();
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /already present/);
    assert.deepEqual(await counts(), before);
  });

  it('starts over with --reset', async () => {
    const result = seed('--reset');
    assert.equal(result.code, 0, result.stderr);
    const seeded = await counts();
    assert.equal(seeded.users, 9);
    assert.equal(seeded.spaces, 40);
  });

  it('generates a large catalogue in batches with --spaces', async () => {
    const result = seed('--reset', '--spaces', '2500');
    assert.equal(result.code, 0, result.stderr);
    const seeded = await counts();
    assert.equal(seeded.spaces, 2500);
    assert.equal(seeded.images, 5000);
    const [counter] = await withDatabase(({ db }) => queryRows<{ live: number }>(db, sql`select live from space_counters`));
    assert.equal(counter!.live, 2500, 'the trigger-kept counter agrees');
  });

  it('refuses a bad --spaces with one line and exit code 1', () => {
    const result = seed('--spaces', 'lots');
    assert.equal(result.code, 1);
    assert.equal(result.stderr.trim().split('\n').length, 1);
    assert.match(result.stderr, /--spaces/);
  });
});
