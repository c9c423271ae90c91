/**
 * The floor for a Node.js server doing one request's database work: node:http, no framework,
 * the request's recorded statements sent in order with their recorded parameters through the
 * same driver (node-postgres), pool size and session setting as the service, each value taken as
 * the text the driver reads (no type parsing: a json column is not parsed here, as the
 * service does not parse the JSON it has PostgreSQL build), and the API's own response body
 * written back. A payment's floor also makes the provider's call where the API makes it, through
 * the service's own provider HTTP client (src/infra/payments/http.ts: the same agent and
 * timeout), with a fixed request body, and binds the provider's reference from its answer.
 * Whatever the API does above that (routing, hooks, validation, JWT, building the response and
 * the provider's request) is what separates the two rates. Run by bench/run.ts in a process of its own; reports
 * its port over IPC and serves until it is killed.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import pg from 'pg';
import { providerAgent, providerRequest } from '../src/infra/payments/http.ts';
import type { Position, Variation } from './creation-floor.ts';

/** One provider call per request, made before the statement that takes its answer: the answer's `answerField`, bound at `answerAt`. */
export interface ProviderCall {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  answerField: string;
  answerAt: Position;
}

interface Spec {
  databaseUrl: string;
  poolMax: number;
  /** `prepared`: named statements, parsed once per connection (as the service's hot paths and `pgbench -M prepared`). */
  mode: 'extended' | 'prepared';
  /** Each parameter as the text node-postgres sends for it (bench/run.ts), or null. */
  statements: { text: string; params: (string | null)[] }[];
  body: string;
  contentType: string;
  /** The API's status for the request (200 unless given). */
  status?: number;
  /** For a write: what changes from request to request, so that no request repeats another's. */
  vary?: Variation;
  provider?: ProviderCall;
}

const spec = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as Spec;
// node-postgres's own pool with the service's session setting (src/db/client.ts), not createPool:
// that module brings drizzle and the schema, which would make this floor's memory the app's.
// eslint-disable-next-line @typescript-eslint/no-misused-promises -- pg-pool awaits the hook; @types/pg declares it void
const pool = new pg.Pool({ connectionString: spec.databaseUrl, max: spec.poolMax, onConnect: (client) => client.query('set jit = off') });
// An idle connection's error would otherwise end the process; the requests it fails count as errors.
pool.on('error', (error) => console.error(`bench/bare-limit.ts: ${error.message}`));
const asText = { getTypeParser: () => (value: string) => value };
const queries = spec.statements.map((statement, index) => ({
  ...(spec.mode === 'prepared' ? { name: `bare_${index}` } : {}),
  text: statement.text,
  values: statement.params,
  types: asText,
}));
const body = Buffer.from(spec.body);
const vary = spec.vary;
let nextRequest = vary?.first ?? 0;
const provider = spec.provider;
const providerUrl = provider && new URL(provider.url);
const agent = providerUrl && providerAgent(providerUrl);

/** The provider's call: its answer's reference, or an error for anything but a 200 that names one. */
async function callProvider(call: ProviderCall): Promise<string> {
  const answer = await providerRequest(agent!, providerUrl!, {
    method: 'POST',
    headers: call.headers,
    body: call.body,
    timeoutMs: call.timeoutMs,
    idempotent: false,
  });
  const reference = answer.status === 200 ? (JSON.parse(answer.text) as Record<string, unknown>)[call.answerField] : undefined;
  if (typeof reference !== 'string') throw new Error(`the provider answered ${answer.status}: ${answer.text.slice(0, 200)}`);
  return reference;
}

/** The parameters of request n: the recorded ones, with the variation's positions replaced. */
function valuesFor(n: number): (string | null)[][] {
  if (!vary) return queries.map((query) => query.values);
  const values = queries.map((query) => [...query.values]);
  const round = Math.floor(n / vary.rowIds.length) - Math.floor(vary.recorded / vary.rowIds.length);
  for (const [statement, index] of vary.rowAt) values[statement]![index] = String(vary.rowIds[n % vary.rowIds.length]);
  for (const [statement, index] of vary.timesAt) {
    values[statement]![index] = new Date(Date.parse(values[statement]![index]!) + round * vary.stepMs).toISOString();
  }
  return values;
}

const server = createServer((request, response) => {
  request.resume();
  void (async () => {
    try {
      let read = 0;
      const values = valuesFor(nextRequest++);
      const answers: (string | null)[][] = [];
      for (const [statement, query] of queries.entries()) {
        for (const { at, from } of vary?.readAt ?? []) if (at[0] === statement) values[statement]![at[1]] = answers[from[0]]?.[from[1]] ?? null;
        if (provider?.answerAt[0] === statement) values[provider.answerAt[0]]![provider.answerAt[1]] = await callProvider(provider);
        const { rows } = await pool.query<(string | null)[]>({ ...query, values: values[statement], rowMode: 'array' });
        // A write that wrote nothing (a conflict, a listing gone) did not do the API's work.
        if (vary && rows.length === 0) throw new Error(`statement ${statement} answered no row`);
        answers.push(rows[0] ?? []);
        for (const row of rows) for (const value of row) read += value?.length ?? 0;
      }
      if (read < 0) throw new Error('unreachable: keeps the reads from being optimised away');
      response.writeHead(spec.status ?? 200, { 'content-type': spec.contentType, 'content-length': body.length });
      response.end(body);
    } catch (error) {
      response.writeHead(500).end(String(error));
    }
  })();
});
server.keepAliveTimeout = 72_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.send?.(typeof address === 'object' && address ? address.port : 0);
});
