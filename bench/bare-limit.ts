/**
 * The floor for a Node.js server doing one request's database work: node:http, no framework,
 * the request's recorded statements sent in order with their recorded parameters through the
 * same driver (node-postgres), pool size and session setting as the service, each value taken as
 * the text the driver reads (no type parsing: a json column is not parsed here, as the
 * service does not parse the JSON it has PostgreSQL build), and the API's own response body
 * written back. Whatever the API does above that (routing, hooks, validation, JWT, building the
 * response) is what separates the two rates. Run by bench/run.ts in a process of its own; reports
 * its port over IPC and serves until it is killed.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import pg from 'pg';

interface Spec {
  databaseUrl: string;
  poolMax: number;
  /** `prepared`: named statements, parsed once per connection (as the service's hot paths and `pgbench -M prepared`). */
  mode: 'extended' | 'prepared';
  /** Each parameter as the text node-postgres sends for it (bench/run.ts), or null. */
  statements: { text: string; params: (string | null)[] }[];
  body: string;
  contentType: string;
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

const server = createServer((request, response) => {
  request.resume();
  void (async () => {
    try {
      let read = 0;
      for (const query of queries) {
        for (const row of (await pool.query<Record<string, string | null>>(query)).rows) for (const key in row) read += row[key]?.length ?? 0;
      }
      if (read < 0) throw new Error('unreachable: keeps the reads from being optimised away');
      response.writeHead(200, { 'content-type': spec.contentType, 'content-length': body.length });
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
