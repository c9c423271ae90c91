/**
 * Load scenarios against a real server process.
 *
 *   npm run bench -- <scenario…|all> [--db postgres|embedded] [--connections 32] [--duration 10] [--repeat 1] [--rounds 12]
 *
 * `--db postgres` (the default) runs on a scratch database on BENCH_DATABASE_URL
 * (postgres://postgres@127.0.0.1:5432/postgres), dropped afterwards.
 */
import { execFileSync, fork } from 'node:child_process';
import { parseArgs } from 'node:util';
import { api, figures, load, loadInOwnProcess, ROOT, scratchDatabase, startService, type Figures, type Service } from './harness.ts';
import pg from 'pg';
import { pgbench, statementsFor } from './pgbench.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    db: { type: 'string', default: 'postgres' },
    connections: { type: 'string', default: '32' },
    duration: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '12' },
    repeat: { type: 'string', default: '1' },
  },
});
const connections = Number(values.connections);
const duration = Number(values.duration);
const rounds = values.rounds;
const repeat = Math.max(1, Number(values.repeat));

interface Context {
  service: Service;
  /** Set on `--db postgres`. */
  databaseUrl?: string;
}

interface Scenario {
  description: string;
  /** Listings (and bookings) to generate with `npm run db:seed -- --spaces N --bookings M` before the run. */
  spaces?: number;
  bookings?: number;
  run(context: Context): Promise<Figures[]>;
}

/**
 * The API against PostgreSQL alone: the same path through autocannon, and the exact statements
 * the API sends for it through pgbench, so the overhead of everything above the database shows.
 */
async function againstPgbench(context: Context, label: string, paths: string[], mode: 'extended' | 'prepared'): Promise<Figures[]> {
  const { service, databaseUrl } = context;
  const result = await load({ url: service.url, connections, duration, requests: paths.map((path) => ({ method: 'GET', path })) });
  const api = figures(label, result, { peakRssMb: service.peakRssMb() });
  if (!databaseUrl) return [api];
  const statements = await statementsFor(databaseUrl, 'GET', paths[0]!);
  const raw = await pgbench(databaseUrl, statements, { clients: connections, seconds: duration, mode });
  api.note = `${Math.round((api.requestsPerSecond / raw.tps) * 100)} % of pgbench`;
  return [api, { scenario: `  pgbench: its ${statements.length} statements (${mode})`, requestsPerSecond: Math.round(raw.tps), p50Ms: raw.latencyMs, p99Ms: NaN, non2xx: 0, errors: 0, note: 'latency column: average' }];
}

async function registerUser(url: string, label: string) {
  const email = `${label}-${Date.now()}-${Math.random().toString(36).slice(2)}@bench.test`;
  const password = 'Bench12345';
  const body = (await api(url, 'POST', '/api/auth/register', { email, password, first_name: 'Bench', last_name: 'User' })) as { access_token: string };
  return { email, password, token: body.access_token };
}

/** How many bcrypt comparisons per second this machine's cores allow at the given cost. */
async function bcryptLimit(cost: string): Promise<number> {
  const child = fork(new URL('./bcrypt-limit.ts', import.meta.url), [cost, String(duration)], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.on('message', (message) => resolve(Number(message)));
    child.on('error', reject);
  });
}

/** POST /api/bookings under load: request n books the 2-hour slot `slotFor(n)`, with the tokens in turn. */
async function bookingLoad(url: string, tokens: string[], slotFor: (n: number) => { spaceId: number; start: Date }, first = 0) {
  let next = first;
  const result = await load(
    {
      url,
      connections,
      duration,
      requests: [
        {
          method: 'POST',
          path: '/api/bookings',
          setupRequest: (request: Record<string, unknown>) => {
            const n = next++;
            const { spaceId, start } = slotFor(n);
            return {
              ...request,
              headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens[n % tokens.length]}` },
              body: JSON.stringify({ space_id: spaceId, start_time: start.toISOString(), end_time: new Date(start.getTime() + 2 * 3_600_000).toISOString() }),
            };
          },
        },
      ],
    },
    0,
  );
  return { result, next };
}

// State carried between repeated runs on one database (--repeat).
let repeatRun = 0;
let slotsUsed = 0;

const scenarios: Record<string, Scenario> = {
  health: {
    description: 'GET /health',
    run: async ({ service }) => [figures('GET /health', await load({ url: `${service.url}/health`, connections, duration }), { peakRssMb: service.peakRssMb() })],
  },
  me: {
    description: 'GET /api/auth/me with a token (JWT check + session and user from the database)',
    run: async ({ service }) => {
      const user = await registerUser(service.url, 'me');
      const result = await load({ url: `${service.url}/api/auth/me`, connections, duration, headers: { authorization: `Bearer ${user.token}` } });
      return [figures('GET /api/auth/me', result, { peakRssMb: service.peakRssMb() })];
    },
  },
  login: {
    description: `POST /api/auth/login at bcrypt cost ${rounds}, compared with the bcrypt limit of these cores; /health latency measured at the same time`,
    run: async ({ service }) => {
      const user = await registerUser(service.url, 'login');
      const limit = await bcryptLimit(rounds);
      const body = JSON.stringify({ email: user.email, password: user.password });
      // No login warm-up: a slow endpoint's warm-up leaves a queue behind that would eat into the
      // measured run. /health is warmed up alone, so its figures show contention, not compilation.
      await load({ url: `${service.url}/health`, connections: 2, duration: 3 }, 0);
      const loginSeconds = Math.max(duration, 20);
      const [login, health] = await Promise.all([
        load({ url: `${service.url}/api/auth/login`, connections, duration: loginSeconds, method: 'POST', headers: { 'content-type': 'application/json' }, body }, 0),
        // A steady trickle of health checks while bcrypt saturates the cores: the event loop must stay
        // free. Measured from another process, as a load balancer's probe would be.
        loadInOwnProcess({ url: `${service.url}/health`, connections: 2, duration: loginSeconds, overallRate: 50 }),
      ]);
      const loginRate = login['2xx'] / loginSeconds;
      return [
        { scenario: `bcrypt limit (cost ${rounds}, all cores)`, requestsPerSecond: Math.round(limit * 10) / 10, p50Ms: 0, p99Ms: 0, non2xx: 0, errors: 0, note: 'comparisons/s in a bare process' },
        figures('POST /api/auth/login', login, {
          requestsPerSecond: Math.round(loginRate * 10) / 10,
          peakRssMb: service.peakRssMb(),
          note: `${Math.round((loginRate / limit) * 100)} % of the bcrypt limit`,
        }),
        figures('GET /health during the login load', health, { note: '50 requests/s alongside' }),
      ];
    },
  },
  'spaces-list': {
    description: 'GET /api/spaces?page=1&per_page=20 over 10,000 listings, and its SQL through pgbench',
    spaces: 10_000,
    run: (context) => againstPgbench(context, 'GET /api/spaces (page 1, 20 per page)', ['/api/spaces?page=1&per_page=20'], 'prepared'),
  },
  'spaces-filtered': {
    description: 'the list with city, price range and full-text filters',
    spaces: 10_000,
    run: (context) =>
      againstPgbench(context, 'GET /api/spaces?city&min_price&max_price&q', ['/api/spaces?city=nairobi&min_price=1000&max_price=6000&q=studio&per_page=20'], 'prepared'),
  },
  'spaces-near': {
    description: 'listings within 5 km of central Nairobi, nearest first',
    spaces: 10_000,
    run: (context) => againstPgbench(context, 'GET /api/spaces?near&radius_km=5&sort=distance', ['/api/spaces?near=-1.2864,36.8172&radius_km=5&sort=distance&per_page=20'], 'prepared'),
  },
  'space-by-id': {
    description: 'GET /api/spaces/:id over 100 different listings',
    spaces: 10_000,
    run: (context) =>
      againstPgbench(context, 'GET /api/spaces/:id', Array.from({ length: 100 }, (_, index) => `/api/spaces/${1 + ((index * 97) % 10_000)}`), 'prepared'),
  },
  'bookings-create': {
    description: 'POST /api/bookings, each request a different free slot of a different listing (no conflicts)',
    spaces: 10_000,
    run: async ({ service, databaseUrl }) => {
      const open = await openListings(databaseUrl!);
      const tokens = await Promise.all(Array.from({ length: 8 }, (_, index) => registerUser(service.url, `booker${index}`).then((user) => user.token)));
      // Repeated runs go on to later days, so every request stays a free slot.
      const { result, next } = await bookingLoad(
        service.url,
        tokens,
        (n) => ({ spaceId: open[n % open.length]!, start: new Date(Date.UTC(2026, 11, 1, 9) + (3 + Math.floor(n / open.length)) * 86_400_000) }),
        slotsUsed,
      );
      slotsUsed = next;
      const overlapping = await overlapCount(databaseUrl!);
      return [figures('POST /api/bookings (no conflicts)', result, { peakRssMb: service.peakRssMb(), note: `${overlapping} overlapping live bookings afterwards` })];
    },
  },
  'bookings-race': {
    description: 'POST /api/bookings with 32 connections racing for 10 slots of 2 listings',
    spaces: 10_000,
    run: async ({ service, databaseUrl }) => {
      // Each repeated run races for slots of two listings of its own.
      const run = repeatRun++;
      const open = (await openListings(databaseUrl!)).slice(run * 2, run * 2 + 2);
      const tokens = await Promise.all(Array.from({ length: 16 }, (_, index) => registerUser(service.url, `racer${index}`).then((user) => user.token)));
      const slots = open.flatMap((spaceId) => Array.from({ length: 5 }, (_, slot) => ({ spaceId, start: new Date(Date.UTC(2026, 11, 20, 8 + slot * 2)) })));
      const { result } = await bookingLoad(service.url, tokens, (n) => slots[(n * 7) % slots.length]!);
      const overlapping = await overlapCount(databaseUrl!);
      const [accepted] = await sqlRows<{ n: number }>(databaseUrl!, `select count(*)::int as n from bookings where space_id in (${open.join(',')})`);
      return [
        figures('POST /api/bookings (racing for 10 slots)', result, {
          peakRssMb: service.peakRssMb(),
          note: `${accepted!.n} accepted, ${result.non2xx} refused (409), ${overlapping} overlapping live bookings afterwards`,
        }),
      ];
    },
  },
  'check-availability': {
    description: 'GET /api/bookings/check-availability over listings with 100,000 bookings',
    spaces: 10_000,
    bookings: 100_000,
    run: async (context) => {
      const paths = Array.from({ length: 100 }, (_, index) => {
        const start = new Date(Date.UTC(2026, 11, 1 + (index % 20), 10));
        return `/api/bookings/check-availability?space_id=${1 + ((index * 97) % 10_000)}&start_time=${start.toISOString()}&end_time=${new Date(start.getTime() + 7_200_000).toISOString()}`;
      });
      const result = await load({ url: context.service.url, connections, duration, requests: paths.map((path) => ({ method: 'GET', path })) });
      return [figures('GET /api/bookings/check-availability', result, { peakRssMb: context.service.peakRssMb() })];
    },
  },
  'bookings-list': {
    description: "GET /api/bookings?per_page=10 with a client's token (the client has 25 bookings; 100,000 in all)",
    spaces: 10_000,
    bookings: 100_000,
    run: async ({ service, databaseUrl }) => {
      const run = repeatRun++;
      const client = await registerUser(service.url, `lister${run}`);
      // Each repeated run books its own listings.
      const open = (await openListings(databaseUrl!)).slice(run * 25);
      for (let index = 0; index < 25; index++) {
        const start = new Date(Date.UTC(2026, 11, 15, 8) + index * 86_400_000);
        await api(service.url, 'POST', '/api/bookings', { space_id: open[index]!, start_time: start.toISOString(), end_time: new Date(start.getTime() + 7_200_000).toISOString() }, client.token);
      }
      const result = await load({ url: `${service.url}/api/bookings?per_page=10`, connections, duration, headers: { authorization: `Bearer ${client.token}` } });
      return [figures('GET /api/bookings (client, 10 per page)', result, { peakRssMb: service.peakRssMb() })];
    },
  },
  'spaces-available': {
    description: 'GET /api/spaces?available_from&available_to over 10,000 listings and 100,000 bookings, and its SQL through pgbench',
    spaces: 10_000,
    bookings: 100_000,
    run: (context) => {
      const from = new Date(Date.now() + 2 * 86_400_000);
      from.setUTCHours(10, 0, 0, 0);
      const to = new Date(from.getTime() + 2 * 3_600_000);
      return againstPgbench(context, 'GET /api/spaces?available_from&available_to', [`/api/spaces?available_from=${from.toISOString()}&available_to=${to.toISOString()}&per_page=20`], 'prepared');
    },
  },
};

/** Listings always open, available and fine with a 2-hour booking: targets that refuse nothing. */
async function openListings(databaseUrl: string): Promise<number[]> {
  const rows = await sqlRows<{ id: number }>(
    databaseUrl,
    'select id from spaces where operating_hours is null and is_available and min_booking_hours <= 2 and max_booking_hours >= 3 and min_notice_hours = 0 and archived_at is null order by id',
  );
  return rows.map((row) => row.id);
}

async function overlapCount(databaseUrl: string): Promise<number> {
  const [row] = await sqlRows<{ n: number }>(
    databaseUrl,
    `select count(*)::int as n from bookings a join bookings b on a.space_id = b.space_id and a.id < b.id
      where a.status in ('pending', 'confirmed') and b.status in ('pending', 'confirmed')
        and tstzrange(a.start_time, a.blocked_until, '[)') && tstzrange(b.start_time, b.blocked_until, '[)')`,
  );
  return row!.n;
}

async function sqlRows<T>(databaseUrl: string, text: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query(text)).rows as T[];
  } finally {
    await client.end();
  }
}

/** Fills the scenario's database through the seed command, as an operator would. */
function seed(env: Record<string, string>, count: number, bookings?: number) {
  execFileSync(process.execPath, ['src/cli/seed.ts', '--spaces', String(count), ...(bookings ? ['--bookings', String(bookings)] : [])], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', BCRYPT_ROUNDS: '4', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

async function main() {
  const names = positionals.length === 0 || positionals.includes('all') ? Object.keys(scenarios) : positionals;
  const unknown = names.filter((name) => !scenarios[name]);
  if (unknown.length > 0) throw new Error(`unknown scenario ${unknown.join(', ')}; known: ${Object.keys(scenarios).join(', ')}`);

  const results: Figures[] = [];
  // Server settings to compare (DB_POOL_MAX=4 npm run bench -- …) are handed on when given.
  const passThrough = (...names: string[]) => Object.fromEntries(names.flatMap((key) => (process.env[key] ? [[key, process.env[key]]] : [])));
  for (const name of names) {
    const database = values.db === 'postgres' ? await scratchDatabase(process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres') : undefined;
    const service = await startService({ BCRYPT_ROUNDS: rounds, ...passThrough('DB_POOL_MAX', 'BACKGROUND_JOBS'), ...(database ? { DATABASE_URL: database.url } : {}) });
    try {
      const wanted = scenarios[name]!.spaces;
      // The embedded database belongs to the running server, so only PostgreSQL can be seeded beside it.
      if (wanted && database) seed({ DATABASE_URL: database.url, DATA_DIR: service.dataDir }, wanted, scenarios[name]!.bookings);
      console.error(`▶ ${name}: ${scenarios[name]!.description} (${values.db}, ${connections} connections, ${duration} s, ${repeat}×)`);
      const runs: Figures[][] = [];
      for (let i = 0; i < repeat; i++) runs.push(await scenarios[name]!.run({ service, databaseUrl: database?.url }));
      const ended = service.exitedEarly();
      if (ended) throw new Error(`the server ended during ${name} (${ended})`);
      // This machine is shared and noisy: report the median run of each row, by requests/s.
      for (let row = 0; row < runs[0]!.length; row++) {
        const sorted = runs.map((run) => run[row]!).sort((a, b) => a.requestsPerSecond - b.requestsPerSecond);
        const median = sorted[Math.floor(sorted.length / 2)]!;
        results.push(repeat > 1 ? { ...median, note: [median.note, `median of ${repeat} (${sorted.map((r) => r.requestsPerSecond).join(', ')} req/s)`].filter(Boolean).join('; ') } : median);
      }
    } finally {
      await service.stop();
      await database?.drop();
    }
  }

  console.log(`\n| scenario | requests/s | p50 ms | p99 ms | non-2xx | errors | server peak RSS MB | note |`);
  console.log(`|---|---:|---:|---:|---:|---:|---:|---|`);
  for (const row of results) {
    const p99 = Number.isNaN(row.p99Ms) ? '–' : row.p99Ms;
    console.log(`| ${row.scenario} | ${row.requestsPerSecond} | ${row.p50Ms} | ${p99} | ${row.non2xx} | ${row.errors} | ${row.peakRssMb ?? ''} | ${row.note ?? ''} |`);
  }
}

await main();
