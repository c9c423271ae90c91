import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { createPool, fromPool, type Database, type DatabaseOptions } from '../../src/db/client.ts';
import { fromPglite, migratePgliteClient, PGLITE_EXTENSIONS } from '../../src/db/embedded.ts';
import { MIGRATIONS_FOLDER } from '../../src/db/migrate.ts';

/**
 * One database per test process, shared by every test in the file, isolated by data.
 * With TEST_DATABASE_URL: a scratch database on that server, dropped afterwards.
 * Without: an in-memory PGlite loaded from a migrated snapshot (a fresh one takes ~5 s to start,
 * a snapshot ~1 s).
 */

export const usingPostgres = () => Boolean(process.env.TEST_DATABASE_URL);

function migrationsHash(): string {
  const hash = createHash('sha256');
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else hash.update(entry.name).update(readFileSync(path));
    }
  };
  walk(MIGRATIONS_FOLDER);
  return hash.digest('hex').slice(0, 16);
}

async function migratedSnapshot(): Promise<Blob> {
  const file = join(tmpdir(), `spacer-test-pglite-${migrationsHash()}.tar.gz`);
  if (existsSync(file)) return new Blob([readFileSync(file)]);
  const client = await PGlite.create({ extensions: PGLITE_EXTENSIONS });
  await migratePgliteClient(client);
  const dump = await client.dumpDataDir('gzip');
  await client.close();
  // Written under a unique name and renamed, so concurrent test processes never read half a file.
  const partial = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(partial, Buffer.from(await dump.arrayBuffer()));
  renameSync(partial, file);
  return dump;
}

export async function createPgliteDatabase(options: DatabaseOptions = {}): Promise<Database> {
  const client = await PGlite.create({ loadDataDir: await migratedSnapshot(), extensions: PGLITE_EXTENSIONS });
  return fromPglite(client, options);
}

/** A new, empty, migrated database on the real server; `drop` removes it. */
export async function createScratchPostgres(
  options: DatabaseOptions & { migrate?: boolean } = {},
): Promise<{ database: Database; url: string; drop: () => Promise<void> }> {
  const adminUrl = process.env.TEST_DATABASE_URL!;
  const name = `spacer_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database "${name}"`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const database = fromPool(createPool(url.toString(), { poolMax: 20 }), options);
  if (options.migrate !== false) await database.migrate();
  return {
    database,
    url: url.toString(),
    drop: async () => {
      await database.close();
      const cleanup = new pg.Client({ connectionString: adminUrl });
      await cleanup.connect();
      await cleanup.query(`drop database if exists "${name}" with (force)`);
      await cleanup.end();
    },
  };
}

/**
 * A scratch database for a server process of its own: its URL, with this process's connections
 * to it closed, dropped when the calling test (or file, at its root) ends.
 */
export async function scratchPostgresUrl(): Promise<string> {
  const scratch = await createScratchPostgres();
  after(scratch.drop);
  await scratch.database.close();
  return scratch.url;
}

let shared: Promise<{ database: Database; url?: string; release: () => Promise<void> }> | undefined;

// Registered when a test file first imports this module, i.e. on the file's root: it runs once
// all of the file's tests are done. (`after` inside a hook or test would run at *its* end.)
after(async () => {
  if (shared) await (await shared).release();
});

/** The database of this test process, shared by the file's tests; closed (and dropped) at the end. */
export async function testDatabase(): Promise<Database> {
  shared ??= (async () => {
    if (usingPostgres()) {
      const scratch = await createScratchPostgres();
      return { database: scratch.database, url: scratch.url, release: scratch.drop };
    }
    const database = await createPgliteDatabase();
    return { database, release: () => database.close() };
  })();
  return (await shared).database;
}

/**
 * Another connection pool to this process's test database, as a second server process would
 * have. On the embedded database there is only one connection, so it is the same handle.
 */
export async function secondHandle(): Promise<Database> {
  const first = await testDatabase();
  if (!usingPostgres()) return first;
  const url = (await shared!).url!;
  const database = fromPool(createPool(url, { poolMax: 10 }));
  after(() => database.close());
  return database;
}
