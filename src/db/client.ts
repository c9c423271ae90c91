import type { ExtractTablesWithRelations, SQL } from 'drizzle-orm';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from 'drizzle-orm/pg-core';
import pg from 'pg';
import { isConnectionError } from '../shared/db-errors.ts';
import { migratePool } from './migrate.ts';
import * as schema from './schema/index.ts';

export type Schema = typeof schema;
export type Db = PgDatabase<PgQueryResultHKT, Schema>;
export type Tx = PgTransaction<PgQueryResultHKT, Schema, ExtractTablesWithRelations<Schema>>;
/** Repositories take either, so a service decides where the transaction boundary is. */
export type DbOrTx = Db | Tx;

export interface Database {
  readonly db: Db;
  readonly kind: 'embedded' | 'postgres';
  /** Resolves when the database answers a trivial query within the time limit. */
  ping(timeoutMs?: number): Promise<void>;
  /** Applies pending migrations (safe to call from several processes at once). */
  migrate(): Promise<void>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** Called for every SQL statement drizzle sends (query counting in tests, debug logging). */
  onQuery?: (sql: string, params: unknown[]) => void;
  /** Where the pool reports errors of idle connections (which would otherwise crash the process). */
  onPoolError?: (error: Error) => void;
  poolMax?: number;
}

export const logger = (options: DatabaseOptions) =>
  options.onQuery ? { logQuery: (query: string, params: unknown[]) => options.onQuery!(query, params) } : undefined;

export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`database did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function fromPool(pool: pg.Pool, options: DatabaseOptions = {}): Database {
  const db = drizzlePg({ client: pool, schema, logger: logger(options) }) as unknown as Db;
  let closed = false;
  return {
    db,
    kind: 'postgres',
    ping: async (timeoutMs = 2000) => {
      await withTimeout(pool.query('select 1'), timeoutMs);
    },
    migrate: () => migratePool(pool),
    close: async () => {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}

/**
 * pg's Pool.query() discards the connection whenever a statement fails, so every refused
 * booking (23P01) or taken email (23505) would cost a new PostgreSQL backend; under contention
 * that turned 409s into one-second reconnect storms. A failed statement leaves a healthy
 * connection ready for the next one; one whose error says the connection is lost is dropped.
 */
class KeepingPool extends pg.Pool {
  override connect(): Promise<pg.PoolClient>;
  override connect(callback: (err: Error | undefined, client: pg.PoolClient | undefined, done: (release?: unknown) => void) => void): void;
  override connect(callback?: (err: Error | undefined, client: pg.PoolClient | undefined, done: (release?: unknown) => void) => void) {
    if (callback) return super.connect(callback);
    return super.connect().then(givenBackWhenLost);
  }

  override async query(config: unknown, values?: unknown): Promise<never> {
    const client = await this.connect();
    let broken: Error | undefined;
    // A checked-out client that loses its connection also emits 'error'; the query rejects with
    // it, so it is noted here rather than left unhandled (which would end the process).
    const onError = (error: Error) => {
      broken = error;
    };
    client.on('error', onError);
    // A statement that fails for a lost connection has already given the client back (givenBackWhenLost).
    try {
      return (await client.query(config as pg.QueryConfig, values as unknown[])) as never;
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }
}

/**
 * drizzle sends a transaction's BEGIN before its try/finally, so a connection lost just then
 * (a server restart, pg_terminate_backend) was never released: the pool stayed one short for
 * good and `end()` waited for it forever. On a client from `connect()`, a statement sent as a
 * promise that fails because the connection is lost now gives the client back at once (the pool
 * drops it); the holder's own release after that is a no-op, and anything else it sends fails as
 * not queryable. A holder that releases twice without that still gets pg-pool's error.
 */
function givenBackWhenLost(client: pg.PoolClient): pg.PoolClient {
  const giveBack = client.release.bind(client);
  let givenBack = false;
  client.release = (error?: Error | boolean) => {
    if (!givenBack) giveBack(error);
  };
  // Each checkout sets its own (an own property from the first on, so the client keeps its shape).
  client.query = ((...args: Parameters<pg.Client['query']>) => {
    const sent: unknown = pg.Client.prototype.query.apply(client, args);
    if (sent instanceof Promise)
      sent.catch((error: unknown) => {
        if (givenBack || !isConnectionError(error)) return;
        givenBack = true;
        giveBack(error as Error);
      });
    return sent;
  }) as typeof client.query;
  return client;
}

export function createPool(url: string, options: DatabaseOptions = {}): pg.Pool {
  const pool = new KeepingPool({
    connectionString: url,
    max: options.poolMax ?? 10,
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30_000,
    // A runaway query or a forgotten transaction must not hold locks (and booking slots) forever.
    statement_timeout: 30_000,
    idle_in_transaction_session_timeout: 60_000,
    application_name: 'spacer-api',
    // PostgreSQL's JIT compiles a statement whose estimated cost passes jit_above_cost, and the
    // window search's estimate does (its hashed subplans): ~150 ms of compiling for ~13 ms of
    // work, on every execution of a custom plan. No statement of this service gains from it. A
    // SET rather than a startup option: it keeps a DATABASE_URL's own `options` and PGOPTIONS, and
    // passes through PgBouncer. The pool awaits it before handing the connection out, so no statement
    // is sent while it runs (pg 9 drops queueing on one client). A connection lost meanwhile is
    // dropped; a server or proxy that refuses the setting still serves, as it did before it.
    // eslint-disable-next-line @typescript-eslint/no-misused-promises -- pg-pool awaits the hook; @types/pg declares it void
    onConnect: async (client) => {
      try {
        await client.query('set jit = off');
      } catch (error) {
        if (isConnectionError(error)) throw error;
      }
    },
  });
  pool.on('error', (error) => options.onPoolError?.(error));
  // A connection lost while checked out (drizzle's transactions hold one outside query() above)
  // emits 'error' on its client, which nothing else hears then and which would end the process.
  // The statement in flight rejects with the same error and pg drops the dead client on release.
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}

export async function openDatabase(
  config: { DATABASE_URL?: string | undefined; DATA_DIR: string; DB_POOL_MAX?: number },
  options: DatabaseOptions = {},
): Promise<Database> {
  if (config.DATABASE_URL) return fromPool(createPool(config.DATABASE_URL, { poolMax: config.DB_POOL_MAX, ...options }), options);
  // Loaded only here: a process on PostgreSQL never holds PGlite's code (~0.5 MB of module source).
  const { openEmbedded } = await import('./embedded.ts');
  return openEmbedded(config.DATA_DIR, options);
}

/** Rows of a raw SQL statement; both drivers answer `{ rows }`, which drizzle's shared type hides. */
export async function queryRows<T>(db: DbOrTx, query: SQL): Promise<T[]> {
  const result = (await db.execute(query)) as { rows: T[] };
  return result.rows;
}
