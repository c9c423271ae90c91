import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { buildApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { createPool, fromPool } from '../src/db/client.ts';

const run = promisify(execFile);

/** A SQL literal for pgbench, which cannot take the driver's parameters. */
function literal(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (value instanceof Date) return `'${value.toISOString()}'`;
  if (Array.isArray(value)) return `'{${value.map((item) => `"${String(item).replace(/"/g, '\\"')}"`).join(',')}}'`;
  // pg itself sends any other object (a json value) as its JSON text.
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return `'${text.replace(/'/g, "''")}'`;
}

/**
 * The app built in this process on the given database, recording the statements drizzle sends
 * for the requests it is asked to `record`, with their parameters inlined.
 */
export async function recordingApp(databaseUrl: string, env: Record<string, string> = {}) {
  const statements: string[] = [];
  let recording = false;
  const database = fromPool(createPool(databaseUrl, { poolMax: 2 }), {
    onQuery: (query, params) => {
      if (!recording) return;
      statements.push(query.replace(/\$(\d+)/g, (_, index: string) => literal(params[Number(index) - 1])));
    },
  });
  const config = loadConfig(
    { NODE_ENV: 'test', LOG_LEVEL: 'silent', BACKGROUND_JOBS: 'false', BCRYPT_ROUNDS: '4', DATA_DIR: mkdtempSync(join(tmpdir(), 'spacer-pgbench-')), ...env },
    { persistSecrets: true },
  );
  const app = await buildApp(config, { database });
  await app.ready();
  return {
    app,
    /** The statements of one request, which must answer `expected`. */
    async record(request: { method: 'GET' | 'POST'; url: string; headers?: Record<string, string>; payload?: object }, expected = 200): Promise<string[]> {
      statements.length = 0;
      recording = true;
      const response = await app.inject(request);
      recording = false;
      if (response.statusCode !== expected) throw new Error(`${request.method} ${request.url} answered ${response.statusCode}: ${response.body}`);
      return [...statements];
    },
    async close() {
      await app.close();
      await database.close();
    },
  };
}

/**
 * The exact statements the API sends for one request: the app is built in this process on the
 * same database, the request is injected once, and drizzle's statements are recorded.
 */
export async function statementsFor(databaseUrl: string, method: 'GET', path: string): Promise<string[]> {
  const recorder = await recordingApp(databaseUrl);
  try {
    return await recorder.record({ method, url: path });
  } finally {
    await recorder.close();
  }
}

export interface PgbenchFigures {
  tps: number;
  latencyMs: number;
  transactions: number;
}

export interface PgbenchOptions {
  clients: number;
  seconds: number;
  mode: 'extended' | 'prepared';
  /**
   * pgbench meta-commands run before the statements of every transaction, such as
   * `\set b :first + :client_id`, so that each transaction can work on rows of its own.
   */
  meta?: string[];
  /** Meta-commands after the statements (advancing a client's counter). */
  after?: string[];
  /** Initial values of pgbench variables (-D); a client's own copy persists across its transactions. */
  variables?: Record<string, string | number>;
}

/** Runs the statements as one pgbench transaction: what PostgreSQL alone can do for this request. */
export async function pgbench(databaseUrl: string, statements: string[], options: PgbenchOptions): Promise<PgbenchFigures> {
  const file = join(mkdtempSync(join(tmpdir(), 'spacer-pgbench-')), 'request.sql');
  const lines = [...(options.meta ?? []), ...statements.map((statement) => `${statement.replace(/\s+/g, ' ').trim()};`), ...(options.after ?? [])];
  writeFileSync(file, lines.join('\n') + '\n');
  const defines = Object.entries(options.variables ?? {}).flatMap(([name, value]) => ['-D', `${name}=${value}`]);
  const threads = String(Math.min(2, options.clients));
  const { stdout } = await run(
    'pgbench',
    ['-n', '-M', options.mode, '-c', String(options.clients), '-j', threads, '-T', String(options.seconds), ...defines, '-f', file, databaseUrl],
    {
      maxBuffer: 10 * 1024 * 1024,
      // The server's sessions run without JIT (src/db/client.ts); the same statements must too.
      env: { ...process.env, PGOPTIONS: [process.env.PGOPTIONS, '-c jit=off'].filter(Boolean).join(' ') },
    },
  );
  const tps = Number(/tps = ([\d.]+)/.exec(stdout)?.[1]);
  const latencyMs = Number(/latency average = ([\d.]+) ms/.exec(stdout)?.[1]);
  const transactions = Number(/number of transactions actually processed: (\d+)/.exec(stdout)?.[1]);
  return { tps, latencyMs, transactions };
}
