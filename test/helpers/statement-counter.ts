import type { TestContext } from 'node:test';
import { buildApp } from '../../src/app.ts';
import type { Database } from '../../src/db/client.ts';
import { testConfig } from './app.ts';
import { createPgliteDatabase, createScratchPostgres, usingPostgres } from './database.ts';

/**
 * An app on a database of its own whose SQL statements are counted, for tests of how many a
 * request sends. Closed with the test.
 */
export async function countingApp(t: TestContext) {
  let statements = 0;
  const onQuery = () => {
    statements += 1;
  };
  let database: Database;
  let release: () => Promise<void>;
  if (usingPostgres()) {
    const scratch = await createScratchPostgres({ onQuery });
    database = scratch.database;
    release = scratch.drop;
  } else {
    const embedded = await createPgliteDatabase({ onQuery });
    database = embedded;
    release = () => embedded.close();
  }
  const app = await buildApp(testConfig(), { database });
  t.after(async () => {
    await app.close();
    await release();
  });
  await app.ready();
  return {
    app,
    database,
    /** What `work` returns, and how many statements it sent. */
    counting: async <T>(work: () => Promise<T>): Promise<{ result: T; statements: number }> => {
      statements = 0;
      const result = await work();
      return { result, statements };
    },
  };
}
