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
 * The exact statements the API sends for one request: the app is built in this process on the
 * same database, the request is injected once, and drizzle's statements are recorded with their
 * parameters inlined.
 */
export async function statementsFor(databaseUrl: string, method: 'GET', path: string): Promise<string[]> {
  const statements: string[] = [];
  let recording = false;
  const database = fromPool(createPool(databaseUrl, { poolMax: 2 }), {
    onQuery: (query, params) => {
      if (!recording) return;
      statements.push(query.replace(/\$(\d+)/g, (_, index: string) => literal(params[Number(index) - 1])));
    },
  });
  const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', BACKGROUND_JOBS: 'false', DATA_DIR: mkdtempSync(join(tmpdir(), 'spacer-pgbench-')) }, { persistSecrets: true });
  const app = await buildApp(config, { database });
  await app.ready();
  recording = true;
  const response = await app.inject({ method, url: path });
  recording = false;
  await app.close();
  await database.close();
  if (response.statusCode !== 200) throw new Error(`${path} answered ${response.statusCode}: ${response.body}`);
  return statements;
}

export interface PgbenchFigures {
  tps: number;
  latencyMs: number;
}

/** Runs the statements as one pgbench transaction: what PostgreSQL alone can do for this request. */
export async function pgbench(databaseUrl: string, statements: string[], options: { clients: number; seconds: number; mode: 'extended' | 'prepared' }): Promise<PgbenchFigures> {
  const file = join(mkdtempSync(join(tmpdir(), 'spacer-pgbench-')), 'request.sql');
  writeFileSync(file, statements.map((statement) => `${statement.replace(/\s+/g, ' ').trim()};`).join('\n') + '\n');
  const { stdout } = await run('pgbench', ['-n', '-M', options.mode, '-c', String(options.clients), '-j', '2', '-T', String(options.seconds), '-f', file, databaseUrl], { maxBuffer: 10 * 1024 * 1024 });
  const tps = Number(/tps = ([\d.]+)/.exec(stdout)?.[1]);
  const latencyMs = Number(/latency average = ([\d.]+) ms/.exec(stdout)?.[1]);
  return { tps, latencyMs };
}
