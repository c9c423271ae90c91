import { execFile } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { PGlite } from '@electric-sql/pglite';
import { btree_gist } from '@electric-sql/pglite/contrib/btree_gist';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { logger, withTimeout, type Database, type DatabaseOptions, type Db } from './client.ts';
import { MIGRATIONS_FOLDER } from './migrate.ts';
import { PGLITE_INITDB_PARAMS, PGLITE_START_PARAMS } from './pglite-settings.ts';
import * as schema from './schema/index.ts';

/** The embedded database (PGlite): imported by src/db/client.ts only when no DATABASE_URL is set. */

export const PGLITE_EXTENSIONS = { btree_gist };

/** The embedded database: PostgreSQL compiled to WASM, in this process, stored in a folder (or in memory). */
export function fromPglite(client: PGlite, options: DatabaseOptions = {}): Database {
  const db = drizzlePglite({ client, schema, logger: logger(options) }) as unknown as Db;
  return {
    db,
    kind: 'embedded',
    ping: async (timeoutMs = 2000) => {
      await withTimeout(client.query('select 1'), timeoutMs);
    },
    migrate: () => migratePgliteClient(client),
    close: async () => {
      if (!client.closed) await client.close();
    },
  };
}

/** The embedded database belongs to one process, so it needs no lock. */
export async function migratePgliteClient(client: PGlite): Promise<void> {
  await migratePglite(drizzlePglite({ client }), { migrationsFolder: MIGRATIONS_FOLDER });
}

/**
 * The first start on a new DATA_DIR runs initdb, which PGlite does in a second PostgreSQL
 * instance beside the first and then copies over as a ~40 MB tar. In the server that was ~320 MB
 * on top of its peak and ~60 MB it kept for good (freed buffers glibc does not hand back). A
 * child process does it instead (~520 MB for those seconds) and gives everything back when it
 * exits; the server then opens the folder as on any later start. The child compiles PostgreSQL
 * with Liftoff only: TurboFan would spend seconds and hundreds of MB optimising code that runs once.
 */
async function createEmbeddedFolder(dir: string): Promise<void> {
  const script = fileURLToPath(new URL('./pglite-initdb.ts', import.meta.url));
  try {
    await promisify(execFile)(process.execPath, ['--liftoff-only', script, dir], { maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    const { stderr } = error as { stderr?: string };
    throw new Error(`the embedded database could not be created in ${dir}: ${stderr?.trim() || (error as Error).message}`, { cause: error });
  }
}

/** The embedded database stored in `dataDir`/pgdata, created on the first start. */
export async function openEmbedded(dataDir: string, options: DatabaseOptions = {}): Promise<Database> {
  const dir = join(dataDir, 'pgdata');
  mkdirSync(dir, { recursive: true });
  if (!existsSync(join(dir, 'PG_VERSION'))) await createEmbeddedFolder(dir);
  const client = await PGlite.create(dir, { extensions: PGLITE_EXTENSIONS, startParams: PGLITE_START_PARAMS, initDbStartParams: PGLITE_INITDB_PARAMS });
  return fromPglite(client, options);
}
