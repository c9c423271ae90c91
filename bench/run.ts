/**
 * Load scenarios against a real server process.
 *
 *   npm run bench -- <scenario…|all> [--db postgres|embedded] [--connections 32] [--duration 10] [--repeat 1] [--rounds 12]
 *
 * `--db postgres` (the default) runs on a scratch database on BENCH_DATABASE_URL
 * (postgres://postgres@127.0.0.1:5432/postgres), dropped afterwards.
 */
import { execFileSync, fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { api, figures, load, loadInOwnProcess, peakRss, ROOT, scratchDatabase, sqlRows, startService, type Figures, type Service } from './harness.ts';
import { startDaraja, type DarajaProcess } from './daraja.ts';
import { darajaPassword, darajaTimestamp, mpesaCallbackPath } from '../src/infra/payments/mpesa.ts';
import {
  checkPayments,
  describeCheck,
  paymentVariation,
  recordPaymentStatements,
  sampleLockWaits,
  seedPendingPayments,
  seedUnpaidBookings,
  settled,
  stkCallback,
  userIds,
  type PaymentStatements,
} from './payments.ts';
import { startNodeOptions } from '../test/helpers/start-command.ts';
import { boundStatements, parameterText, pgbench, recordingApp, recordingOf, type PgbenchFigures, type Recording } from './pgbench.ts';
import type { ProviderCall } from './bare-limit.ts';
import { consecutiveListings, creationPositions, creationScript, type Variation } from './creation-floor.ts';
import { adminStatsRecording, adminToken, reviewedSpaces, seedTestimonials, topUpReviews } from './reviews.ts';

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

export interface Context {
  service: Service;
  /** Set on `--db postgres`. */
  databaseUrl?: string;
  /** Set for scenarios that ask for it: the Daraja fake the server's M-Pesa goes to. */
  daraja?: DarajaProcess;
  /** The API rows alone, without the pgbench runs beside them (bench/compare.ts: only the server differs). */
  apiOnly?: boolean;
}

export interface Scenario {
  description: string;
  /** Listings (and bookings) to generate with `npm run db:seed -- --spaces N --bookings M` before the run. */
  spaces?: number;
  bookings?: number;
  /** With bookings: `--payments P --reviews R` of the same seed. */
  payments?: number;
  reviews?: number;
  /** Data the seed does not write, added once after it (before any repeated run). */
  prepare?(context: Context): Promise<void>;
  /** Start the loopback Daraja (its own process) and point the server's M-Pesa at it. */
  daraja?: boolean;
  /** Server settings of this scenario; the environment's DB_POOL_MAX, BACKGROUND_JOBS and WEB_CONCURRENCY still win. */
  env?: Record<string, string>;
  /** Its data is written in SQL beside the server, which the embedded database does not allow. */
  postgresOnly?: boolean;
  run(context: Context): Promise<Figures[]>;
}

/** Seconds of warm-up `load` runs before measuring. */
const WARMUP_SECONDS = 3;

/**
 * The API against the limits for the same work: the same path through autocannon; the exact
 * statements the API sends for it through pgbench (PostgreSQL alone); and the same statements
 * and response body from a bare node:http server (bench/bare-limit.ts: the least a Node.js
 * server must do for it), so the overhead of everything above the database shows.
 */
async function againstPgbench(
  context: Context,
  label: string,
  paths: string[],
  mode: 'extended' | 'prepared',
  options: { headers?: Record<string, string>; recording?: (databaseUrl: string) => Promise<Recording>; note?: (api: Figures) => string } = {},
): Promise<Figures[]> {
  const { service, databaseUrl } = context;
  const requests = paths.map((path) => ({ method: 'GET', path, ...(options.headers ? { headers: options.headers } : {}) }));
  const result = await load({ url: service.url, connections, duration, requests });
  const api = figures(label, result, { peakRssMb: service.peakRssMb() });
  const extra = options.note?.(api);
  if (!databaseUrl || context.apiOnly) return [{ ...api, note: extra }];
  const recording = await (options.recording ?? ((url: string) => recordingOf(url, { method: 'GET', url: paths[0]! })))(databaseUrl);
  const bound = boundStatements(recording.calls);
  const raw = await pgbench(databaseUrl, bound.statements, { clients: connections, seconds: duration, mode, variables: bound.variables });
  const bare = await bareLimit(databaseUrl, recording, mode, requests);
  api.note = [percentOf(api, raw), `${Math.round((api.requestsPerSecond / bare.requestsPerSecond) * 100)} % of bare Node.js`, extra].filter(Boolean).join('; ');
  const counted = recording.statements.length === 1 ? '1 statement' : `${recording.statements.length} statements`;
  return [api, pgbenchRow(`  pgbench: its ${counted} (${mode})`, raw, ''), { ...bare, note: [percentOf(bare, raw), bare.note].filter(Boolean).join('; ') }];
}

/**
 * A bare node:http server (bench/bare-limit.ts, its own process) answering `requests` with the
 * recorded statements and body, under the same load: what any Node.js server would reach.
 */
async function bareLimit(
  databaseUrl: string,
  recording: Recording,
  mode: 'extended' | 'prepared',
  requests: { method: string; path: string }[],
  write?: { vary: Variation; status: number; provider?: ProviderCall },
  env: Record<string, string> = {},
): Promise<Figures & { sent: number; answered: number }> {
  const folder = mkdtempSync(join(tmpdir(), 'spacer-bare-'));
  const spec = join(folder, 'spec.json');
  // Each value as the text node-postgres would send for it (JSON alone would turn a Date into
  // another format, and a Buffer into an object).
  const statements = recording.calls.map((call) => ({ text: call.text, params: call.params.map(parameterText) }));
  writeFileSync(
    spec,
    JSON.stringify({
      databaseUrl,
      poolMax: Number(process.env.DB_POOL_MAX ?? 10),
      mode,
      statements,
      body: recording.body,
      contentType: recording.contentType,
      ...write,
    }),
  );
  // With npm start's own V8 flags: the floor is then one of memory too, not only of speed.
  const child = fork(new URL('./bare-limit.ts', import.meta.url), [spec], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, ...env },
    execArgv: startNodeOptions(ROOT),
  });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.once('message', (message) => resolve(Number(message)));
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`bench/bare-limit.ts exited with ${code}`)));
    });
    // A write is measured as the API's is (bookingLoad), without a warm-up.
    const result = await load({ url: `http://127.0.0.1:${port}`, connections, duration, requests }, write ? 0 : WARMUP_SECONDS);
    const failed = result.non2xx + result.errors + result.timeouts;
    if (failed > 0) throw new Error(`the bare server failed ${failed} requests`);
    const processes = Number(process.env.WEB_CONCURRENCY ?? 1);
    const row = figures('  bare Node.js: the same statements and body', result, {
      peakRssMb: peakRss(child.pid!),
      ...(processes > 1 ? { note: `one process, against the API's ${processes}` } : {}),
    });
    return { ...row, sent: result.requests.sent, answered: result.requests.total };
  } finally {
    // A child that never started (spawn failed) has no pid and sends no 'exit'.
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill();
      await exited;
    }
    // The spec holds the database URL.
    rmSync(folder, { recursive: true, force: true });
  }
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

/**
 * Server settings of the payment scenarios. The STK query sweep is for callbacks that never come;
 * here each one is either sent by the bench or deliberately not, so the sweep would only add load
 * of its own. Background jobs are off by default: each completed payment queues a receipt mail
 * whose PDF the mail worker renders, which would take a core from the callbacks (and from pgbench
 * running beside the idle server); `receipt-pdf` measures that rendering on its own, and
 * `BACKGROUND_JOBS=true npm run bench -- payments-callback` measures them together.
 */
const PAYMENT_ENV = { MPESA_QUERY_AFTER_S: '86400', BACKGROUND_JOBS: 'false' };

/** Rows for a run at up to `perSecond`, warm-up included: more than the request rate can use up. */
const planned = (perSecond: number) => Math.ceil(perSecond * (duration + WARMUP_SECONDS));

/** Client accounts registered through the API (real tokens), by user id. */
async function payers(url: string, databaseUrl: string, label: string, count = 8) {
  const users = await Promise.all(Array.from({ length: count }, (_, index) => registerUser(url, `${label}${index}`)));
  const ids = await userIds(
    databaseUrl,
    users.map((user) => user.email),
  );
  return { ids, tokens: new Map(ids.map((id, index) => [id, users[index]!.token])) };
}

// Recorded once per database: the statements do not change between repeated runs.
const recordedStatements = new Map<string, PaymentStatements>();
async function paymentStatements(databaseUrl: string, daraja: DarajaProcess): Promise<PaymentStatements> {
  let statements = recordedStatements.get(databaseUrl);
  if (!statements) {
    const recorder = await recordingApp(databaseUrl, daraja.mpesaEnv);
    try {
      statements = await recordPaymentStatements(databaseUrl, recorder, daraja.callbackToken);
    } finally {
      await recorder.close();
    }
    recordedStatements.set(databaseUrl, statements);
  }
  return statements;
}

/**
 * One statement through pgbench, every transaction on a row of its own: client c takes ids
 * first + c, first + c + clients, … (pgbench keeps each client's variables across its
 * transactions). `done` counts afterwards the rows the statement changed, which must equal the
 * transactions pgbench reports; if pgbench ran past the prepared rows, the extra transactions
 * changed nothing and the figure is void.
 */
async function rowPerTransaction(databaseUrl: string, statement: string, variable: string, ids: number[], clients: number, done: () => Promise<number>) {
  const first = ids[0]!;
  if (ids[ids.length - 1]! - first + 1 !== ids.length) throw new Error('pgbench needs contiguous ids');
  const before = await done();
  const locks = await sampleLockWaits(databaseUrl);
  const raw = await pgbench(databaseUrl, [statement], {
    clients,
    seconds: duration,
    mode: 'prepared',
    meta: [`\\set ${variable} :first + :client_id + :clients * :i`],
    after: ['\\set i :i + 1'],
    variables: { first, clients, i: 0 },
  });
  const waiting = await locks.stop();
  const changed = (await done()) - before;
  const ranOut = raw.transactions > ids.length;
  const rows = ranOut
    ? `VOID: ran past the ${ids.length} prepared rows`
    : `${changed} rows changed for ${raw.transactions} transactions${changed === raw.transactions ? '' : ' (MISMATCH)'}`;
  return { raw, note: `${rows}; ${Math.round(waiting * 100)} % of busy backends waiting for a lock` };
}

const pgbenchRow = (scenario: string, raw: PgbenchFigures, note: string): Figures => ({
  scenario,
  requestsPerSecond: Math.round(raw.tps),
  p50Ms: raw.latencyMs,
  p99Ms: NaN,
  non2xx: 0,
  errors: 0,
  note: ['latency column: average', note].filter(Boolean).join('; '),
});

const percentOf = (api: Figures, raw: PgbenchFigures) => `${Math.round((api.requestsPerSecond / raw.tps) * 100)} % of pgbench`;

const countRows = (databaseUrl: string, text: string, params: unknown[]) => async () => (await sqlRows<{ n: number }>(databaseUrl, text, params))[0]!.n;

/** The data set of the review, testimonial and admin-stats scenarios (the issue's volumes). */
const REVIEW_DATA = {
  spaces: 10_000,
  bookings: 100_000,
  payments: 50_000,
  // As many as the seed can always write at these volumes; prepare tops them up to REVIEWS.
  reviews: 30_000,
  postgresOnly: true,
  prepare: async ({ databaseUrl }: Context) => {
    await topUpReviews(databaseUrl!, REVIEWS);
    await seedTestimonials(databaseUrl!, TESTIMONIALS);
  },
} as const;
const REVIEWS = 50_000;
/** A few hundred: the site shows testimonials, it does not collect them at scale. */
const TESTIMONIALS = 300;
/** The target of the two review lists (testimonials, a space's reviews), in the note of each run. */
const atLeast = (target: number) => (api: Figures) => `${api.requestsPerSecond >= target ? 'at least' : 'BELOW'} ${target.toLocaleString('en')} req/s`;

// State carried between repeated runs on one database (--repeat).
let repeatRun = 0;
let slotsUsed = 0;

export const scenarios: Record<string, Scenario> = {
  health: {
    description: 'GET /health',
    run: async ({ service }) => [
      figures('GET /health', await load({ url: `${service.url}/health`, connections, duration }), { peakRssMb: service.peakRssMb() }),
    ],
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
        load(
          { url: `${service.url}/api/auth/login`, connections, duration: loginSeconds, method: 'POST', headers: { 'content-type': 'application/json' }, body },
          0,
        ),
        // A steady trickle of health checks while bcrypt saturates the cores: the event loop must stay
        // free. Measured from another process, as a load balancer's probe would be.
        loadInOwnProcess({ url: `${service.url}/health`, connections: 2, duration: loginSeconds, overallRate: 50 }),
      ]);
      const loginRate = login['2xx'] / loginSeconds;
      return [
        {
          scenario: `bcrypt limit (cost ${rounds}, all cores)`,
          requestsPerSecond: Math.round(limit * 10) / 10,
          p50Ms: 0,
          p99Ms: 0,
          non2xx: 0,
          errors: 0,
          note: 'comparisons/s in a bare process',
        },
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
      againstPgbench(
        context,
        'GET /api/spaces?city&min_price&max_price&q',
        ['/api/spaces?city=nairobi&min_price=1000&max_price=6000&q=studio&per_page=20'],
        'prepared',
      ),
  },
  'spaces-near': {
    description: 'listings within 5 km of central Nairobi, nearest first',
    spaces: 10_000,
    run: (context) =>
      againstPgbench(
        context,
        'GET /api/spaces?near&radius_km=5&sort=distance',
        ['/api/spaces?near=-1.2864,36.8172&radius_km=5&sort=distance&per_page=20'],
        'prepared',
      ),
  },
  'space-by-id': {
    description: 'GET /api/spaces/:id over 100 different listings',
    spaces: 10_000,
    run: (context) =>
      againstPgbench(
        context,
        'GET /api/spaces/:id',
        Array.from({ length: 100 }, (_, index) => `/api/spaces/${1 + ((index * 97) % 10_000)}`),
        'prepared',
      ),
  },
  'bookings-create': {
    description:
      'POST /api/bookings, each request a different free slot of a different listing (no conflicts); and its statements through the bare server and pgbench, each request booking a slot of its own',
    spaces: 10_000,
    // Every booking queues the owner's mail, and so does every replayed one: the idle server's mail
    // worker would send tens of thousands while the limits are measured, on the same two cores.
    // The scenario measures the request; sending mail is a background job of its own.
    env: { BACKGROUND_JOBS: 'false' },
    run: async (context) => {
      const { service, databaseUrl } = context;
      const open = await openListings(databaseUrl!);
      const bookers = await Promise.all(Array.from({ length: 8 }, (_, index) => registerUser(service.url, `booker${index}`)));
      // Repeated runs go on to later days, so every request stays a free slot.
      const slotFor = (n: number) => ({
        spaceId: open[n % open.length]!,
        start: daysAhead(3 + Math.floor(n / open.length), 9),
      });
      const { result, next } = await bookingLoad(
        service.url,
        bookers.map((booker) => booker.token),
        slotFor,
        slotsUsed,
      );
      slotsUsed = next;
      const api = figures('POST /api/bookings (no conflicts)', result, { peakRssMb: service.peakRssMb() });
      const limits = context.apiOnly ? [] : await creationLimits(databaseUrl!, open, slotFor, bookers[0]!, api);
      api.note = [api.note, `${await overlapCount(databaseUrl!)} overlapping live bookings afterwards`].filter(Boolean).join('; ');
      return [api, ...limits];
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
      const slots = open.flatMap((spaceId) => Array.from({ length: 5 }, (_, slot) => ({ spaceId, start: daysAhead(18, 8 + slot * 2) })));
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
        const start = daysAhead(1 + (index % 20), 10);
        return `/api/bookings/check-availability?space_id=${1 + ((index * 97) % 10_000)}&start_time=${start.toISOString()}&end_time=${new Date(start.getTime() + 7_200_000).toISOString()}`;
      });
      const result = await load({ url: context.service.url, connections, duration, requests: paths.map((path) => ({ method: 'GET', path })) });
      return [figures('GET /api/bookings/check-availability', result, { peakRssMb: context.service.peakRssMb() })];
    },
  },
  'bookings-list': {
    description: "GET /api/bookings?per_page=10 with a client's token (the client has 25 bookings; 100,000 in all), and its SQL through pgbench",
    spaces: 10_000,
    bookings: 100_000,
    run: async (context) => {
      const { service, databaseUrl } = context;
      const run = repeatRun++;
      const client = await registerUser(service.url, `lister${run}`);
      // Each repeated run books its own listings.
      const open = (await openListings(databaseUrl!)).slice(run * 25);
      for (let index = 0; index < 25; index++) {
        const start = daysAhead(13 + index, 8);
        await api(
          service.url,
          'POST',
          '/api/bookings',
          { space_id: open[index]!, start_time: start.toISOString(), end_time: new Date(start.getTime() + 7_200_000).toISOString() },
          client.token,
        );
      }
      return againstPgbench(context, 'GET /api/bookings (client, 10 per page)', ['/api/bookings?per_page=10'], 'prepared', {
        headers: { authorization: `Bearer ${client.token}` },
        recording: (url) => recordingOf(url, { method: 'GET', url: '/api/bookings?per_page=10' }, client),
      });
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
      return againstPgbench(
        context,
        'GET /api/spaces?available_from&available_to',
        [`/api/spaces?available_from=${from.toISOString()}&available_to=${to.toISOString()}&per_page=20`],
        'prepared',
      );
    },
  },
  'spaces-available-free': {
    description:
      'GET /api/spaces?available_from&available_to for a 2-hour window most listings are free and open for (~7,000 of 10,000), and its SQL through pgbench',
    spaces: 10_000,
    bookings: 100_000,
    run: (context) => {
      // The seed books every listing from 10:00 to 12:00 UTC on its days; 13:00–15:00 is 16:00–18:00 in Nairobi.
      const from = new Date(Date.now() + 2 * 86_400_000);
      from.setUTCHours(13, 0, 0, 0);
      const to = new Date(from.getTime() + 2 * 3_600_000);
      return againstPgbench(
        context,
        'GET /api/spaces?available_from&available_to (free window)',
        [`/api/spaces?available_from=${from.toISOString()}&available_to=${to.toISOString()}&per_page=20`],
        'prepared',
      );
    },
  },
  'payments-create': {
    description:
      'POST /api/payments (M-Pesa) for confirmed bookings of 8 clients, each request a different booking, Daraja the loopback fake behind TLS; and the statement that reads the booking and writes the pending payment through pgbench',
    spaces: 10_000,
    daraja: true,
    postgresOnly: true,
    env: PAYMENT_ENV,
    run: async ({ service, databaseUrl, daraja }) => {
      const url = databaseUrl!;
      const { ids, tokens } = await payers(service.url, url, 'payer');
      const bookings = await seedUnpaidBookings(url, ids, planned(2_500));
      let next = 0;
      const result = await load({
        url: service.url,
        connections,
        duration,
        requests: [
          {
            method: 'POST',
            path: '/api/payments',
            setupRequest: (request) => {
              const booking = bookings[next++ % bookings.length]!;
              return {
                ...request,
                headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens.get(booking.userId)}` },
                body: JSON.stringify({ booking_id: booking.id, payment_method: 'mpesa', phone_number: '0712345678' }),
              };
            },
          },
        ],
      });
      await settled(url);
      const check = await checkPayments(url, { apiUserIds: ids });
      const [created] = await sqlRows<{ n: number }>(url, 'select count(*)::int as n from payments where user_id = any($1::int[])', [ids]);
      const api = figures('POST /api/payments (M-Pesa, Daraja fake over TLS)', result, {
        peakRssMb: service.peakRssMb(),
        note: `${created!.n} payments created, ${describeCheck(check)}${next > bookings.length ? `; RAN OUT of the ${bookings.length} bookings` : ''}`,
      });

      const statements = await paymentStatements(url, daraja!);
      const rows = await seedUnpaidBookings(url, [statements.userId], 16_000 * duration);
      const bookingIds = rows.map((row) => row.id);
      const pg = await rowPerTransaction(
        url,
        statements.startPending,
        'b',
        bookingIds,
        connections,
        countRows(url, 'select count(*)::int as n from payments where booking_id between $1 and $2', [bookingIds[0], bookingIds[bookingIds.length - 1]]),
      );
      const bare = await paymentCreationFloor(url, daraja!, statements, 3_000 * duration);
      api.note = `${percentOf(api, pg.raw)}; ${Math.round((api.requestsPerSecond / bare.requestsPerSecond) * 100)} % of bare Node.js; ${api.note}`;
      return [api, pgbenchRow('  pgbench: the booking read and pending payment (one statement, prepared)', pg.raw, pg.note), bare];
    },
  },
  'payments-callback': {
    description:
      "Daraja's STK callback (success) for pending M-Pesa payments, each request a different payment; the completion statement through pgbench at the same and at 1 client",
    spaces: 10_000,
    daraja: true,
    postgresOnly: true,
    env: PAYMENT_ENV,
    run: async ({ service, databaseUrl, daraja }) => {
      const url = databaseUrl!;
      const run = repeatRun++;
      const { ids } = await payers(service.url, url, `callback${run}-`);
      const pending = await seedPendingPayments(url, ids, planned(5_000), `ws_CO_BENCH${run}_`);
      let next = 0;
      const answered: string[] = [];
      const result = await load({
        url: service.url,
        connections,
        duration,
        requests: [
          {
            method: 'POST',
            path: `/api/payments/mpesa/callback/${daraja!.callbackToken}`,
            setupRequest: (request, context) => {
              const n = next++;
              const payment = pending[n % pending.length]!;
              context.checkout = payment.checkoutRequestId;
              return { ...request, headers: { 'content-type': 'application/json' }, body: JSON.stringify(stkCallback(payment, n)) };
            },
            onResponse: (status, _body, context) => {
              if (status === 200) answered.push(context.checkout as string);
            },
          },
        ],
      });
      await settled(url);
      const check = await checkPayments(url, { answered, apiUserIds: ids });
      const api = figures('POST /api/payments/mpesa/callback/:token', result, {
        peakRssMb: service.peakRssMb(),
        note: `${answered.length} callbacks answered, ${check.answeredNotCompleted} of them not completed, ${describeCheck(check)}${next > pending.length ? `; RAN OUT of the ${pending.length} payments` : ''}`,
      });

      const statements = await paymentStatements(url, daraja!);
      const completions = (first: number, last: number) =>
        countRows(url, "select count(*)::int as n from payments where id between $1 and $2 and status = 'completed'", [first, last]);
      const many = (await seedPendingPayments(url, [statements.userId], 4_000 * duration, `ws_CO_PGBENCH${run}_`)).map((row) => row.id);
      const wide = await rowPerTransaction(url, statements.complete, 'p', many, connections, completions(many[0]!, many[many.length - 1]!));
      const one = (await seedPendingPayments(url, [statements.userId], 4_000 * duration, `ws_CO_PGBENCH1${run}_`)).map((row) => row.id);
      const single = await rowPerTransaction(url, statements.complete, 'p', one, 1, completions(one[0]!, one[one.length - 1]!));
      const after = await checkPayments(url, { answered, apiUserIds: ids });
      api.note = `${percentOf(api, wide.raw)}; ${api.note}; after pgbench too: ${describeCheck(after)}`;
      return [
        api,
        pgbenchRow(`  pgbench: the completion statement (prepared), ${connections} clients`, wide.raw, wide.note),
        pgbenchRow('  pgbench: the same, 1 client', single.raw, `${single.note}; every completion takes the row lock of the year's receipt counter`),
      ];
    },
  },
  'receipt-pdf': {
    description:
      'GET /api/payments/:id/receipt?format=pdf over 100 payments paid through the API, while a separate process sends 50 GET /health/s and records their latency',
    spaces: 10_000,
    daraja: true,
    postgresOnly: true,
    env: PAYMENT_ENV,
    run: async ({ service, databaseUrl, daraja }) => {
      const url = databaseUrl!;
      const run = repeatRun++;
      const { ids, tokens } = await payers(service.url, url, `receipt${run}-`);
      const bookings = await seedUnpaidBookings(url, ids, 100);
      // Paid the way a guest pays: the STK push through the API, then Daraja's callback.
      for (const booking of bookings)
        await api(
          service.url,
          'POST',
          '/api/payments',
          { booking_id: booking.id, payment_method: 'mpesa', phone_number: '0712345678' },
          tokens.get(booking.userId),
        );
      const payments = await sqlRows<{ id: number; user_id: number; amount: string; checkout_request_id: string }>(
        url,
        'select id, user_id, amount, checkout_request_id from payments where booking_id = any($1::int[]) order by id',
        [bookings.map((booking) => booking.id)],
      );
      for (const [n, payment] of payments.entries()) {
        await api(
          service.url,
          'POST',
          `/api/payments/mpesa/callback/${daraja!.callbackToken}`,
          stkCallback({ checkoutRequestId: payment.checkout_request_id, amount: Number(payment.amount) }, n),
        );
      }
      const requests = payments.map((payment) => ({
        method: 'GET',
        path: `/api/payments/${payment.id}/receipt?format=pdf`,
        headers: { authorization: `Bearer ${tokens.get(payment.user_id)}` },
      }));
      const sample = await fetch(`${service.url}${requests[0]!.path}`, { headers: requests[0]!.headers });
      const bytes = Buffer.from(await sample.arrayBuffer());
      if (!sample.ok || sample.headers.get('content-type') !== 'application/pdf' || bytes.subarray(0, 5).toString() !== '%PDF-') {
        throw new Error(`the receipt is not a PDF: ${sample.status} ${sample.headers.get('content-type')}`);
      }
      // Both warmed up together, so the measured /health figures show contention, not compilation.
      await Promise.all([
        load({ url: service.url, connections, duration: WARMUP_SECONDS, requests }, 0),
        load({ url: `${service.url}/health`, connections: 2, duration: WARMUP_SECONDS }, 0),
      ]);
      const [pdf, health] = await Promise.all([
        load({ url: service.url, connections, duration, requests }, 0),
        loadInOwnProcess({ url: `${service.url}/health`, connections: 2, duration, overallRate: 50 }),
      ]);
      const check = await checkPayments(url, { answered: payments.map((payment) => payment.checkout_request_id), apiUserIds: ids });
      return [
        figures('GET /api/payments/:id/receipt?format=pdf', pdf, {
          peakRssMb: service.peakRssMb(),
          note: `${(bytes.length / 1024).toFixed(1)} KB each; ${check.answeredNotCompleted} of the 100 not completed, ${describeCheck(check)}`,
        }),
        figures('GET /health during the PDF load', health, { note: '50 requests/s alongside' }),
      ];
    },
  },
  testimonials: {
    description: `GET /api/testimonials (newest first, 10 per page) over ${TESTIMONIALS} testimonials, beside the full data set, and its SQL through pgbench`,
    ...REVIEW_DATA,
    run: (context) => againstPgbench(context, 'GET /api/testimonials', ['/api/testimonials'], 'prepared', { note: atLeast(3_000) }),
  },
  'space-reviews': {
    description:
      'GET /api/spaces/:id/reviews (newest first, 10 per page) rotating over 100 reviewed listings among 50,000 reviews, and its SQL through pgbench',
    ...REVIEW_DATA,
    run: async (context) => {
      const { ids, reviews, reviewed } = await reviewedSpaces(context.databaseUrl!, 100);
      const rows = await againstPgbench(
        context,
        'GET /api/spaces/:id/reviews',
        ids.map((id) => `/api/spaces/${id}/reviews`),
        'prepared',
        { note: atLeast(3_000) },
      );
      rows[0]!.note = `${rows[0]!.note}; ${reviews} reviews over ${reviewed} listings`;
      return rows;
    },
  },
  'spaces-rating': {
    description: 'GET /api/spaces?sort=rating (best rated first, 20 per page) over 10,000 listings rated by 50,000 reviews, and its SQL through pgbench',
    ...REVIEW_DATA,
    run: (context) => againstPgbench(context, 'GET /api/spaces?sort=rating', ['/api/spaces?sort=rating&page=1&per_page=20'], 'prepared'),
  },
  'admin-stats': {
    description:
      "GET /api/admin/stats with the seeded admin's token over 10,000 listings, 100,000 bookings, 50,000 payments and 50,000 reviews, and its SQL through pgbench",
    ...REVIEW_DATA,
    run: async (context) => {
      const token = await adminToken(context.service.url);
      return againstPgbench(context, 'GET /api/admin/stats', ['/api/admin/stats'], 'prepared', {
        headers: { authorization: `Bearer ${token}` },
        recording: adminStatsRecording,
        note: (api) => `p99 ${api.p99Ms < 50 ? 'under' : 'NOT under'} 50 ms`,
      });
    },
  },
};

/**
 * The bare server paying `count` fresh bookings of the recorded payer, one per request: the
 * recorded session check, the statement that reads the booking and writes the pending payment,
 * the STK push to the same Daraja fake over the same TLS front (a fixed body with a valid
 * password, the OAuth token fetched once), and the statement that notes the CheckoutRequestID.
 * The run fails if it wrote fewer payments with their reference than it answered.
 */
async function paymentCreationFloor(databaseUrl: string, daraja: DarajaProcess, statements: PaymentStatements, count: number): Promise<Figures> {
  const rows = await seedUnpaidBookings(databaseUrl, [statements.userId], count);
  const bookingIds = rows.map((row) => row.id);
  const { vary, checkoutAt } = await paymentVariation(databaseUrl, statements.creation, bookingIds);
  const { MPESA_CONSUMER_KEY: key, MPESA_CONSUMER_SECRET: secret, MPESA_BUSINESS_SHORTCODE: shortcode, MPESA_PASSKEY: passkey } = daraja.mpesaEnv;
  const oauth = await fetch(`${daraja.plainUrl}/oauth/v1/generate?grant_type=client_credentials`, {
    headers: { authorization: `Basic ${Buffer.from(`${key}:${secret}`).toString('base64')}` },
  });
  const { access_token: token } = (await oauth.json()) as { access_token: string };
  const timestamp = darajaTimestamp(new Date());
  const push = {
    BusinessShortCode: shortcode,
    Password: darajaPassword(shortcode!, passkey!, timestamp),
    Timestamp: timestamp,
    TransactionType: 'CustomerPayBillOnline',
    Amount: Math.round(rows[0]!.amount / 100),
    PartyA: '254712345678',
    PartyB: shortcode,
    PhoneNumber: '254712345678',
    CallBackURL: `https://spacer.invalid${mpesaCallbackPath(daraja.callbackToken)}`,
    AccountReference: `Booking${rows[0]!.id}`.slice(0, 12),
    TransactionDesc: 'Spacer pay',
  };
  const written = countRows(databaseUrl, 'select count(*)::int as n from payments where booking_id between $1 and $2 and checkout_request_id is not null', [
    bookingIds[0],
    bookingIds[bookingIds.length - 1],
  ]);
  const before = await written();
  const bare = await bareLimit(
    databaseUrl,
    statements.creation.recording,
    'prepared',
    [{ method: 'POST', path: '/api/payments' }],
    {
      status: 201,
      vary,
      provider: {
        url: `${daraja.serverEnv.MPESA_BASE_URL}/mpesa/stkpush/v1/processrequest`,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(push),
        timeoutMs: 10_000,
        answerField: 'CheckoutRequestID',
        answerAt: checkoutAt,
      },
    },
    { NODE_EXTRA_CA_CERTS: daraja.serverEnv.NODE_EXTRA_CA_CERTS! },
  );
  const paid = (await written()) - before;
  const wrote = `${paid} payments written for ${bare.answered} answered requests`;
  if (paid < bare.answered) throw new Error(`the bare server did not write what it answered: ${wrote}`);
  if (bare.sent > bookingIds.length) throw new Error(`the bare server ran past its ${bookingIds.length} bookings`);
  const { sent: _sent, answered: _answered, ...row } = bare;
  return { ...row, scenario: '  bare Node.js: the same statements, STK push and body, a booking each', note: [row.note, wrote].filter(Boolean).join('; ') };
}

/**
 * One booking recorded from an app built in this process (the next free slot), then replayed as
 * the bare server and as pgbench, each request booking a slot of its own (bench/creation-floor.ts).
 * Each row's note says how many bookings it wrote for how many requests, and a replay that wrote
 * fewer fails the run: a statement that wrote nothing would have been cheaper than the API's work.
 */
async function creationLimits(
  databaseUrl: string,
  open: number[],
  slotFor: (n: number) => { spaceId: number; start: Date },
  booker: { email: string; password: string },
  api: Figures,
): Promise<Figures[]> {
  const recorded = slotsUsed++;
  const slot = slotFor(recorded);
  const payload = { space_id: slot.spaceId, start_time: slot.start.toISOString(), end_time: new Date(slot.start.getTime() + 7_200_000).toISOString() };
  const recording = await recordingOf(databaseUrl, { method: 'POST', url: '/api/bookings', payload }, booker, 201);
  const body = JSON.parse(recording.body) as { id: number; space_id: number } & Record<string, unknown>;
  if (Object.entries(body).some(([key, value]) => key !== 'space_id' && key !== 'id' && (value === body.space_id || value === body.id))) {
    throw new Error('the recorded booking holds its listing or booking id in another field too: a replay could not tell them apart');
  }
  const positions = await creationPositions(databaseUrl, recording.calls, { spaceId: slot.spaceId, start: slot.start, bookingId: body.id });
  const bookings = countRows(databaseUrl, 'select count(*)::int as n from bookings', []);

  let before = await bookings();
  const bare = await bareLimit(databaseUrl, recording, 'prepared', [{ method: 'POST', path: '/api/bookings' }], {
    status: 201,
    vary: { ...positions, first: slotsUsed, recorded, rowIds: open, stepMs: 86_400_000 },
  });
  const bareBooked = (await bookings()) - before;
  // Request numbers are taken on arrival, and a request cut off by the end of the run may still
  // have booked its slot: every request sent may have used one.
  slotsUsed += bare.sent;
  const bareWrote = `${bareBooked} bookings written for ${bare.answered} answered requests`;
  if (bareBooked < bare.answered) throw new Error(`the bare server did not write what it answered: ${bareWrote}`);

  const script = creationScript(recording.calls, positions, boundStatements(recording.calls));
  before = await bookings();
  const raw = await pgbench(databaseUrl, script.statements, {
    clients: connections,
    seconds: duration,
    mode: 'prepared',
    meta: script.meta,
    after: script.after,
    variables: {
      ...script.variables,
      first_listing: await consecutiveListings(databaseUrl, connections),
      first_day: PGBENCH_FIRST_DAY + pgbenchDaysUsed,
      i: 0,
    },
  });
  const pgbenchBooked = (await bookings()) - before;
  // Each client moves on by a day per transaction; a repeated run starts after the furthest.
  pgbenchDaysUsed += raw.transactions + 1;
  const wrote = `${pgbenchBooked} bookings written for ${raw.transactions} transactions`;
  if (pgbenchBooked !== raw.transactions) throw new Error(`pgbench did not write what it ran: ${wrote}`);
  api.note = `${Math.round((api.requestsPerSecond / raw.tps) * 100)} % of pgbench; ${Math.round((api.requestsPerSecond / bare.requestsPerSecond) * 100)} % of bare Node.js`;
  const counted = `its ${recording.calls.length} statements`;
  const { sent: _sent, answered: _answered, ...bareRow } = bare;
  return [
    pgbenchRow(`  pgbench: ${counted} (prepared), a slot each`, raw, wrote),
    {
      ...bareRow,
      scenario: '  bare Node.js: the same statements and body, a slot each',
      note: [percentOf(bare, raw), bare.note, bareWrote].filter(Boolean).join('; '),
    },
  ];
}

/** pgbench books its listings this many days after the recorded slot: far past the API's and the bare server's days. */
const PGBENCH_FIRST_DAY = 1_000;
let pgbenchDaysUsed = 0;

/**
 * `hourUtc` o'clock UTC, `days` after the day the bench started (fixed at start, so a run across
 * midnight keeps its slots apart): the booking scenarios' slots stay ahead of the day they run.
 */
function daysAhead(days: number, hourUtc: number): Date {
  return new Date(Date.UTC(STARTED.getUTCFullYear(), STARTED.getUTCMonth(), STARTED.getUTCDate() + days, hourUtc));
}
const STARTED = new Date();

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

/** Fills the scenario's database through the seed command, as an operator would. */
function seed(env: Record<string, string>, scenario: Scenario) {
  const flags = (['spaces', 'bookings', 'payments', 'reviews'] as const).flatMap((name) => (scenario[name] ? [`--${name}`, String(scenario[name])] : []));
  execFileSync(process.execPath, ['src/cli/seed.ts', ...flags], {
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
  // A scenario that fails still leaves the figures of those before it.
  try {
    for (const name of names) {
      const scenario = scenarios[name]!;
      if (scenario.postgresOnly && values.db !== 'postgres') {
        console.error(`▷ ${name}: skipped, it needs --db postgres`);
        continue;
      }
      const database =
        values.db === 'postgres' ? await scratchDatabase(process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres') : undefined;
      const daraja = scenario.daraja ? await startDaraja() : undefined;
      const service = await startService({
        BCRYPT_ROUNDS: rounds,
        ...daraja?.serverEnv,
        ...scenario.env,
        ...passThrough('DB_POOL_MAX', 'BACKGROUND_JOBS', 'WEB_CONCURRENCY', 'MALLOC_ARENA_MAX'),
        ...(database ? { DATABASE_URL: database.url } : {}),
      });
      try {
        // The embedded database belongs to the running server, so only PostgreSQL can be seeded beside it.
        if (scenario.spaces && database) seed({ DATABASE_URL: database.url, DATA_DIR: service.dataDir }, scenario);
        await scenario.prepare?.({ service, databaseUrl: database?.url, daraja });
        console.error(`▶ ${name}: ${scenarios[name]!.description} (${values.db}, ${connections} connections, ${duration} s, ${repeat}×)`);
        const runs: Figures[][] = [];
        try {
          for (let i = 0; i < repeat; i++) runs.push(await scenario.run({ service, databaseUrl: database?.url, daraja }));
        } catch (error) {
          // A refused connection says little; that the server had gone, and how, says what happened.
          const ended = service.exitedEarly();
          throw ended ? new Error(`the server ended during ${name} (${ended})`, { cause: error }) : error;
        }
        const ended = service.exitedEarly();
        if (ended) throw new Error(`the server ended during ${name} (${ended})`);
        // This machine is shared and noisy: report the median run of each row, by requests/s.
        for (let row = 0; row < runs[0]!.length; row++) {
          const sorted = runs.map((run) => run[row]!).sort((a, b) => a.requestsPerSecond - b.requestsPerSecond);
          const median = sorted[Math.floor(sorted.length / 2)]!;
          results.push(
            repeat > 1
              ? {
                  ...median,
                  note: [median.note, `median of ${repeat} (${sorted.map((r) => r.requestsPerSecond).join(', ')} req/s)`].filter(Boolean).join('; '),
                }
              : median,
          );
        }
      } finally {
        await service.stop();
        await daraja?.stop();
        await database?.drop();
      }
    }
  } finally {
    console.log(`\n| scenario | requests/s | p50 ms | p99 ms | non-2xx | errors | server peak RSS MB | note |`);
    console.log(`|---|---:|---:|---:|---:|---:|---:|---|`);
    for (const row of results) {
      const p99 = Number.isNaN(row.p99Ms) ? '–' : row.p99Ms;
      console.log(
        `| ${row.scenario} | ${row.requestsPerSecond} | ${row.p50Ms} | ${p99} | ${row.non2xx} | ${row.errors} | ${row.peakRssMb ?? ''} | ${row.note ?? ''} |`,
      );
    }
  }
}

// bench/compare.ts imports the scenarios without running them.
if (import.meta.main) await main();
