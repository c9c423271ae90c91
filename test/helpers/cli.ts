import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after } from 'node:test';
import { PGlite } from '@electric-sql/pglite';
import type { Database } from '../../src/db/client.ts';
import { fromPglite, PGLITE_EXTENSIONS } from '../../src/db/embedded.ts';
import { tempDir, TEST_SECRETS } from './app.ts';
import { createScratchPostgres, usingPostgres } from './database.ts';
import { ROOT } from './server-process.ts';

/**
 * Command-line scripts run as separate processes, exactly as `npm run …` runs them, on the
 * embedded database (a DATA_DIR) or on a scratch DATABASE_URL. The embedded database belongs to
 * one process at a time, so `withDatabase` opens it only between commands.
 * Call at a test file's top level: the scratch database is dropped when the file's tests end.
 */
export async function cliSandbox() {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', DATA_DIR: tempDir(), BCRYPT_ROUNDS: '4', ...TEST_SECRETS };
  let withDatabase: <T>(work: (database: Database) => Promise<T>) => Promise<T>;
  if (usingPostgres()) {
    const scratch = await createScratchPostgres({ migrate: false });
    after(scratch.drop);
    env.DATABASE_URL = scratch.url;
    withDatabase = (work) => work(scratch.database);
  } else {
    withDatabase = async (work) => {
      const database = fromPglite(await PGlite.create(join(env.DATA_DIR!, 'pgdata'), { extensions: PGLITE_EXTENSIONS }));
      try {
        return await work(database);
      } finally {
        await database.close();
      }
    };
  }
  const run = (script: string, args: string[], timeout = 60_000) => {
    const result = spawnSync(process.execPath, [script, ...args], { cwd: ROOT, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout });
    return { code: result.status, stdout: result.stdout, stderr: result.stderr };
  };
  return { env, dataDir: env.DATA_DIR!, withDatabase, run };
}
