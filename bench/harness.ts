import { fork, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, mkdtempSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon, { type Options, type Result } from 'autocannon';
import pg from 'pg';
import { startNodeOptions } from '../test/helpers/start-command.ts';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface Service {
  url: string;
  dataDir: string;
  child: ChildProcess;
  /** How the process ended (or, with WEB_CONCURRENCY, that a worker was replaced), when it happened before `stop()` asked. */
  exitedEarly(): string | undefined;
  /**
   * Peak resident set size of the server process so far (VmHWM), in MB. With WEB_CONCURRENCY the
   * sum of the primary's and each worker's own peak (an upper bound of their peak together).
   */
  peakRssMb(): number;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A scratch database on the PostgreSQL server for one benchmark run, dropped afterwards. */
export async function scratchDatabase(adminUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `spacer_bench_${process.pid}_${randomBytes(3).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database "${name}"`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const cleanup = new pg.Client({ connectionString: adminUrl });
      await cleanup.connect();
      await cleanup.query(`drop database if exists "${name}" with (force)`);
      await cleanup.end();
    },
  };
}

/** The processes `pid` forked (any of its threads may have), from /proc. */
export function childrenOf(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).flatMap((task) =>
    readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(/\s+/).filter(Boolean).map(Number),
  );
}

/** VmHWM of one process in MB; NaN once it is gone. */
export function peakRss(pid: number): number {
  try {
    const kb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    return Math.round(kb / 1024);
  } catch {
    return NaN;
  }
}

/**
 * Which of `workers` answers a new connection to 127.0.0.1:`port`: one GET /health, then the
 * worker holding the server side of that connection is found through /proc/net/tcp and each
 * worker's file descriptors (the API shows no pid, and the benchmark logs only warnings).
 */
async function servingWorker(port: number, workers: number[]): Promise<number | undefined> {
  const socket = connect(port, '127.0.0.1');
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.once('connect', () => socket.write(`GET /health HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`));
      socket.once('data', () => resolve());
    });
    const hex = (n: number) => n.toString(16).toUpperCase().padStart(4, '0');
    const line = readFileSync('/proc/net/tcp', 'utf8')
      .split('\n')
      .map((row) => row.trim().split(/\s+/))
      .find((fields) => fields[1]?.endsWith(`:${hex(port)}`) && fields[2]?.endsWith(`:${hex(socket.localPort!)}`));
    const inode = line?.[9];
    if (!inode) return undefined;
    return workers.find((pid) => {
      try {
        return readdirSync(`/proc/${pid}/fd`).some((fd) => readlinkSync(`/proc/${pid}/fd/${fd}`) === `socket:[${inode}]`);
      } catch {
        return false;
      }
    });
  } finally {
    socket.destroy();
  }
}

/**
 * Starts `node src/server.ts` as `npm start` would, with benchmark-friendly limits, and waits for it.
 * `root` is the tree whose server runs (bench/compare.ts: another revision's checkout).
 */
export async function startService(env: Record<string, string>, root = ROOT): Promise<Service> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'spacer-bench-'));
  // BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the server under load.
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, ...startNodeOptions(root), 'src/server.ts'], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(port),
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      JWT_SECRET_KEY: randomBytes(32).toString('hex'),
      JWT_REFRESH_SECRET_KEY: randomBytes(32).toString('hex'),
      // The load comes from one IP and hammers one account; limits would measure themselves.
      RATE_LIMIT_AUTH_PER_IP: '1000000',
      RATE_LIMIT_LOGIN_PER_EMAIL: '1000000',
      RATE_LIMIT_EMAIL_PER_HOUR: '1000000',
      ...env,
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  // Registered at once: a process that dies mid-scenario (a crash, or a signal from someone else
  // on this shared machine) must fail the run, not leave stop() waiting for an exit already past.
  let stopping = false;
  let ended: string | undefined;
  const exited = new Promise<void>((resolve) =>
    child.on('exit', (code, signal) => {
      if (!stopping) ended = signal ? `signal ${signal}` : `exit code ${code}`;
      resolve();
    }),
  );
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`service exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/health`)).ok) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error('service did not start');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  // /health answers once the first worker listens: wait until each of them has answered a connection.
  const concurrency = Number(env.WEB_CONCURRENCY ?? 1);
  let workers: number[] = [];
  if (concurrency > 1) {
    const answered = new Set<number>();
    while (answered.size < concurrency) {
      // (TypeScript keeps exitCode narrowed to null from the wait above; it can change meanwhile.)
      const code = child.exitCode as number | null;
      if (code !== null) throw new Error(`service exited with ${code}`);
      if (Date.now() > deadline) throw new Error(`only ${answered.size} of ${concurrency} workers answered`);
      workers = childrenOf(child.pid!);
      const pid = await servingWorker(port, workers);
      if (pid === undefined || answered.has(pid)) await new Promise((resolve) => setTimeout(resolve, 50));
      else answered.add(pid);
    }
    workers = [...answered].sort((a, b) => a - b);
  }
  const processes = () => [child.pid!, ...workers];
  return {
    url,
    dataDir,
    child,
    exitedEarly: () => {
      if (ended || workers.length === 0) return ended;
      let now: number[];
      try {
        now = childrenOf(child.pid!).sort((a, b) => a - b);
      } catch {
        return 'the primary ended';
      }
      return now.join() === workers.join() ? undefined : `a worker was replaced (workers ${workers.join(', ')}, now ${now.join(', ')})`;
    },
    peakRssMb: () => {
      if (child.exitCode !== null || child.signalCode !== null) return NaN;
      return processes().reduce((sum, pid) => sum + peakRss(pid), 0);
    },
    stop: async () => {
      if (workers.length > 0 && child.exitCode === null) {
        const [primary, ...rest] = processes().map(peakRss);
        console.error(`▷ peak RSS: primary ${primary} MB, workers ${rest.join(' + ')} MB`);
      }
      stopping = true;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function api(url: string, method: string, path: string, body?: unknown, token?: string): Promise<unknown> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path} → ${response.status} ${text}`);
  return text ? (JSON.parse(text) as unknown) : undefined;
}

export interface Figures {
  scenario: string;
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
  peakRssMb?: number;
  note?: string;
}

/** Runs a short unmeasured warm-up first (JIT, connection pools), then the measured run. */
export async function load(options: Options, warmupSeconds = 3): Promise<Result> {
  if (warmupSeconds > 0) await autocannon({ connections: 32, ...options, duration: warmupSeconds });
  return autocannon({ connections: 32, duration: 10, ...options });
}

export const figures = (scenario: string, result: Result, extra: Partial<Figures> = {}): Figures => ({
  scenario,
  requestsPerSecond: Math.round(result.requests.average),
  p50Ms: result.latency.p50,
  p99Ms: result.latency.p99,
  non2xx: result.non2xx,
  errors: result.errors + result.timeouts,
  ...extra,
});

/** `load` in a separate process (see probe.ts). */
export function loadInOwnProcess(options: Options): Promise<Result> {
  const child = fork(new URL('./probe.ts', import.meta.url), [JSON.stringify({ connections: 32, duration: 10, ...options })], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.on('message', (message) => resolve(message as Result));
    child.on('error', reject);
  });
}

/** One query on its own connection: for preparing data and reading invariants back, never under load. */
export async function sqlRows<T>(databaseUrl: string, text: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query(text, params)).rows as T[];
  } finally {
    await client.end();
  }
}
