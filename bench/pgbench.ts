import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { prepareValue } from 'pg/lib/utils.js';
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

export interface RecordedCall {
  text: string;
  params: unknown[];
}

export type RecordedRequest = { method: 'GET' | 'POST'; url: string; headers?: Record<string, string>; payload?: object };

export interface Recording {
  /** For pgbench: each statement with its parameters inlined. */
  statements: string[];
  /** As drizzle sent them: text with $n and the driver's values. */
  calls: RecordedCall[];
  body: string;
  contentType: string;
}

/**
 * The app built in this process on the given database, recording the statements drizzle sends
 * (with their parameters) for the requests it is asked to record, and their answers.
 */
export async function recordingApp(databaseUrl: string, env: Record<string, string> = {}) {
  let calls: RecordedCall[] = [];
  let recording = false;
  const database = fromPool(createPool(databaseUrl, { poolMax: 2 }), {
    onQuery: (text, params) => {
      if (recording) calls.push({ text, params: [...params] });
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
    /** One request, which must answer `expected`: its statements and its response. */
    async recordRequest(request: RecordedRequest, expected = 200): Promise<Recording> {
      calls = [];
      recording = true;
      const response = await app.inject(request);
      recording = false;
      if (response.statusCode !== expected) throw new Error(`${request.method} ${request.url} answered ${response.statusCode}: ${response.body}`);
      return {
        statements: calls.map((call) => call.text.replace(/\$(\d+)/g, (_, index: string) => literal(call.params[Number(index) - 1]))),
        calls,
        body: response.body,
        contentType: String(response.headers['content-type']),
      };
    },
    /** The statements of one request, which must answer `expected`, with their parameters inlined. */
    async record(request: RecordedRequest, expected = 200): Promise<string[]> {
      return (await this.recordRequest(request, expected)).statements;
    },
    async close() {
      await app.close();
      await database.close();
    },
  };
}

/**
 * The exact statements the API sends for one request, and its answer: the app is built in this
 * process on the same database, the request is injected once, and drizzle's statements are
 * recorded. With `as`, the request carries a token of that account, from a login to this app
 * (it signs its own tokens, so one from the server under test would not do).
 */
export async function recordingOf(databaseUrl: string, request: RecordedRequest, as?: { email: string; password: string }, expected = 200): Promise<Recording> {
  const recorder = await recordingApp(databaseUrl);
  try {
    if (!as) return await recorder.recordRequest(request, expected);
    const login = await recorder.app.inject({ method: 'POST', url: '/api/auth/login', payload: as });
    if (login.statusCode !== 200) throw new Error(`the login of ${as.email} answered ${login.statusCode}: ${login.body}`);
    const token = login.json<{ access_token: string }>().access_token;
    return await recorder.recordRequest({ ...request, headers: { ...request.headers, authorization: `Bearer ${token}` } }, expected);
  } finally {
    await recorder.close();
  }
}

/**
 * The text node-postgres sends for a parameter's value (bytes as bytea's hex text), or null: what
 * a replay of a recorded statement binds, through pgbench or the bare server.
 */
export function parameterText(param: unknown): string | null {
  const value = prepareValue(param);
  return Buffer.isBuffer(value) ? `\\x${value.toString('hex')}` : value;
}

/**
 * The recorded statements for pgbench with their parameters bound as the API binds them, not
 * inlined: `$n` becomes a pgbench variable (sent as a parameter in the extended and prepared
 * modes) holding the text node-postgres sends for that value. So PostgreSQL plans them as it
 * plans the API's: a named statement with parameters is planned anew for each execution while
 * its custom plan wins, where one with constants is planned once. A null or an empty string,
 * which pgbench variables cannot hold, stays inline.
 */
export function boundStatements(calls: RecordedCall[]): { statements: string[]; variables: Record<string, string> } {
  const variables: Record<string, string> = {};
  const statements = calls.map((call, statement) =>
    call.text.replace(/\$(\d+)/g, (_, index: string) => {
      const value = parameterText(call.params[Number(index) - 1]);
      if (value === null) return 'null';
      // pgbench refuses an empty -D value.
      if (value === '') return "''";
      const name = `s${statement}p${index}`;
      variables[name] = value;
      return `:${name}`;
    }),
  );
  return { statements, variables };
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
  // A statement ending in `\gset prefix` keeps its row in variables instead of ending with a semicolon.
  const commands = statements.map((statement) => {
    const line = statement.replace(/\s+/g, ' ').trim();
    return /\\gset( \w+)?$/.test(line) ? line : `${line};`;
  });
  const lines = [...(options.meta ?? []), ...commands, ...(options.after ?? [])];
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
