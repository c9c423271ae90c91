import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { TEST_SECRETS, tempDir } from '../helpers/app.ts';
import { scratchPostgresUrl, usingPostgres } from '../helpers/database.ts';
import { uniqueEmail } from '../helpers/factories.ts';
import { freePort, ROOT, serverStorage, startServer, type ServerProcess } from '../helpers/server-process.ts';

/**
 * WEB_CONCURRENCY against `node src/server.ts`: a primary and its workers as real processes,
 * found through /proc and told apart by the pid on their log lines (the API shows no pid).
 */

const skip = usingPostgres() ? false : 'needs TEST_DATABASE_URL: several workers need PostgreSQL (the embedded database refuses them, tested below)';

interface LogLine {
  msg: string;
  pid: number;
  time: number;
  role?: string;
  worker?: number;
  slot?: number;
  code?: number | null;
  signal?: string | null;
  restartInMs?: number;
  request_id?: string;
}

const logLines = (server: { output: () => string }): LogLine[] =>
  server
    .output()
    .split('\n')
    .flatMap((line) => {
      if (!line.startsWith('{')) return [];
      try {
        return [JSON.parse(line) as LogLine];
      } catch {
        return [];
      }
    });

const primaryLines = (server: ServerProcess, msg: string) => logLines(server).filter((line) => line.role === 'primary' && line.msg === msg);

async function until<T>(what: string, check: () => T | undefined | false, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** The processes `pid` forked (any of its threads may have), from /proc. */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    const listed = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
    if (listed) children.push(...listed.split(/\s+/).map(Number));
  }
  return children.sort((a, b) => a - b);
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** One GET on a connection of its own (round robin hands out connections, not requests). */
function get(url: string, path: string, requestId: string, timeoutMs = 10_000): Promise<number> {
  return new Promise((resolve) => {
    const sent = request(`${url}${path}`, { agent: false, headers: { 'x-request-id': requestId }, timeout: timeoutMs }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    });
    sent.on('timeout', () => sent.destroy());
    sent.on('error', () => resolve(0));
    sent.end();
  });
}

/** A JSON POST on a connection of its own. */
function post(url: string, path: string, body: unknown): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const sent = request(`${url}${path}`, { method: 'POST', agent: false, headers: { 'content-type': 'application/json' }, timeout: 30_000 }, (response) => {
      let text = '';
      response.on('data', (chunk: Buffer) => (text += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) }));
    });
    sent.on('timeout', () => sent.destroy(new Error('timed out')));
    sent.on('error', reject);
    sent.end(JSON.stringify(body));
  });
}

let sequence = 0;

/** Sends `count` requests one after another and returns the pid that logged each. */
async function servedBy(server: ServerProcess, count: number): Promise<number[]> {
  const ids = Array.from({ length: count }, () => `cluster-${process.pid}-${++sequence}`);
  for (const id of ids) assert.equal(await get(server.url, '/health', id), 200);
  return until('the request log lines', () => {
    const completed = new Map(logLines(server).flatMap((line) => (line.msg === 'request completed' && line.request_id ? [[line.request_id, line.pid]] : [])));
    const pids = ids.map((id) => completed.get(id));
    return pids.every((pid) => pid !== undefined) && pids;
  });
}

/** Stops the primary and expects exit 0; on anything else, says what each worker logged as it went. */
async function stopsCleanly(server: ServerProcess) {
  const exit = await server.stop();
  const told = logLines(server)
    .filter((line) => String(line.msg).startsWith('worker exited') || String(line.msg).includes('shutdown') || ((line as { level?: number }).level ?? 0) >= 40)
    .map((line) => JSON.stringify(line));
  const unlogged = server
    .output()
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('{'));
  assert.deepEqual(exit, { code: 0, signal: null }, [...told, ...unlogged].join('\n'));
}

/** A cluster of `workers` on a scratch PostgreSQL database, up once every worker listens. */
async function startCluster(workers: number, env: Record<string, string> = {}) {
  const databaseUrl = await scratchPostgresUrl();
  const server = await startServer({ DATA_DIR: tempDir(), DATABASE_URL: databaseUrl, LOG_LEVEL: 'info', WEB_CONCURRENCY: String(workers), ...env });
  const primary = server.child.pid!;
  after(() => {
    // Workers leave when their primary goes; these are the ones a failed test might strand.
    for (const line of logLines(server)) if (line.msg === 'worker started' && line.worker && alive(line.worker)) process.kill(line.worker, 'SIGKILL');
  });
  const ready = await until('every worker to listen', () => primaryLines(server, `all ${workers} workers listening`)[0]);
  return { server, primary, databaseUrl, initial: (ready as unknown as { workers: number[] }).workers };
}

const pgAdmin = async (statement: string) => {
  const client = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
};

describe('WEB_CONCURRENCY: several workers under one primary (node:cluster)', () => {
  it('refuses more than one process on the embedded database, before starting any worker', async () => {
    const dataDir = tempDir();
    const child = spawn(process.execPath, ['src/server.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', ...TEST_SECRETS, DATA_DIR: dataDir, PORT: String(await freePort()), WEB_CONCURRENCY: '3' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 1);
    assert.equal(
      output.trim(),
      'Invalid configuration: WEB_CONCURRENCY must be 1 with the embedded database (it belongs to one process); set DATABASE_URL to run 3 workers',
    );
    assert.equal(existsSync(join(dataDir, 'pgdata')), false, 'no database was opened');
  });

  it('with WEB_CONCURRENCY=1 runs as the single process it always was: no primary, no workers', async () => {
    const server = await startServer({ ...(await serverStorage()), LOG_LEVEL: 'info', WEB_CONCURRENCY: '1' });
    assert.deepEqual(childrenOf(server.child.pid!), []);
    const [ready] = logLines(server).filter((line) => line.msg === 'Spacer API ready');
    assert.equal(ready?.pid, server.child.pid);
    assert.deepEqual(await servedBy(server, 3), [server.child.pid, server.child.pid, server.child.pid]);
    assert.equal(
      logLines(server).some((line) => line.role === 'primary'),
      false,
    );
    assert.deepEqual(await server.stop(), { code: 0, signal: null });
  });

  it('exits 1 when a worker fails before any worker is listening, without restarting it', async () => {
    // Nothing listens on a port just found free: the workers' first connection is refused.
    const unreachable = `postgres://postgres@127.0.0.1:${await freePort()}/spacer`;
    const child = spawn(process.execPath, ['src/server.ts'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'test',
        ...TEST_SECRETS,
        DATA_DIR: tempDir(),
        DATABASE_URL: unreachable,
        PORT: String(await freePort()),
        WEB_CONCURRENCY: '2',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    after(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    const exit = await new Promise<{ code: number | null; signal: string | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    assert.deepEqual(exit, { code: 1, signal: null });
    const lines = logLines({ output: () => output });
    assert.equal(lines.filter((line) => line.msg === 'worker started').length, 2, 'no worker was started again');
    assert.equal(lines.filter((line) => line.msg === 'a worker failed before any worker was listening; stopping').length, 1);
    assert.match(output, /Start-up failed: .*ECONNREFUSED/);
    for (const line of lines) if (line.msg === 'worker started') assert.equal(alive(line.worker!), false, `worker ${line.worker} is gone`);
  });

  describe('on PostgreSQL', { skip }, () => {
    it('serves requests from two worker processes sharing the port', async () => {
      const { server, primary, initial } = await startCluster(2);
      const workers = childrenOf(primary);
      assert.equal(workers.length, 2);
      assert.deepEqual(
        [...initial].sort((a, b) => a - b),
        workers,
      );
      const pids = await servedBy(server, 10);
      assert.deepEqual(
        [...new Set(pids)].sort((a, b) => a - b),
        workers,
        'both workers answered, and nothing else did',
      );
      await stopsCleanly(server);
    });

    it('replaces a worker killed with SIGKILL, and requests keep succeeding', async () => {
      const { server, primary } = await startCluster(2);
      const [victim, survivor] = childrenOf(primary) as [number, number];

      // A steady stream of requests, one at a time, from before the kill until the replacement
      // listens and at least 10 have been sent since the primary saw the worker go.
      const answers: { sentAt: number; doneAt: number; status: number }[] = [];
      const seen: { exited?: LogLine; replacement?: LogLine } = {};
      const stream = (async () => {
        const since = () => answers.filter((answer) => seen.exited && answer.sentAt > seen.exited.time).length;
        const deadline = Date.now() + 90_000;
        while (!(seen.replacement && since() >= 10) && Date.now() < deadline) {
          const sentAt = Date.now();
          const status = await get(server.url, '/health', `stream-${process.pid}-${++sequence}`, 2000);
          answers.push({ sentAt, doneAt: Date.now(), status });
          await sleep(20);
        }
      })();
      await sleep(300);
      const killedAt = Date.now();
      process.kill(victim, 'SIGKILL');
      const exited = await until('the primary to see the kill', () => primaryLines(server, 'worker exited; starting a replacement')[0]);
      assert.equal(exited.worker, victim);
      assert.equal(exited.signal, 'SIGKILL');
      assert.equal(exited.restartInMs, 0, 'a worker that was running fine is replaced at once');
      seen.exited = exited;
      const replacement = await until('the replacement to listen', () =>
        primaryLines(server, 'worker listening').find((line) => line.worker !== victim && line.worker !== survivor),
      );
      seen.replacement = replacement;
      assert.deepEqual(
        childrenOf(primary),
        [survivor, replacement.worker!].sort((a, b) => a - b),
      );
      await stream;

      const answered = (list: typeof answers) => list.map((answer) => answer.status);
      const before = answers.filter((answer) => answer.doneAt < killedAt);
      assert.ok(before.length > 0);
      assert.deepEqual(
        answered(before),
        before.map(() => 200),
      );
      // A request in flight on the worker as it died is lost with it; so can be a new connection the
      // primary handed to it then (in round-robin mode node:cluster neither serves nor closes that
      // one, and the client's timeout ends it). Once the primary knows, every request is answered.
      const since = answers.filter((answer) => answer.sentAt > exited.time);
      assert.ok(since.length >= 10);
      assert.deepEqual(
        answered(since),
        since.map(() => 200),
        'after the primary saw the exit',
      );
      const pids = await servedBy(server, 10);
      assert.deepEqual(
        [...new Set(pids)].sort((a, b) => a - b),
        [survivor, replacement.worker!].sort((a, b) => a - b),
      );
      await stopsCleanly(server);
    });

    it('on SIGTERM to the primary, every worker finishes its in-flight request and all exit 0', async () => {
      const { server, primary } = await startCluster(2, { BCRYPT_ROUNDS: '13' });
      const workers = childrenOf(primary);
      const email = uniqueEmail('cluster-stop');
      assert.equal((await post(server.url, '/api/auth/register', { email, password: 'Secret123', first_name: 'C', last_name: 'S' })).status, 201);

      // Two slow logins in flight, on connections of their own.
      const logins = [0, 1].map(() => post(server.url, '/api/auth/login', { email, password: 'Secret123' }));
      await sleep(150);
      server.child.kill('SIGTERM');
      for (const login of await Promise.all(logins)) {
        assert.equal(login.status, 200, 'the in-flight login completed');
        assert.equal(typeof login.body.access_token, 'string');
      }
      assert.deepEqual(await server.exited, { code: 0, signal: null });
      const exits = primaryLines(server, 'worker exited');
      assert.deepEqual(exits.map((line) => [line.worker, line.code, line.signal]).sort(), workers.map((pid) => [pid, 0, null]).sort());
      const shutdowns = logLines(server).filter((line) => line.msg === 'shutting down: finishing in-flight requests');
      assert.deepEqual(shutdowns.map((line) => line.pid).sort(), [...workers].sort(), 'each worker shut down gracefully');
      for (const pid of workers) assert.equal(alive(pid), false);
    });

    it('retries a worker that cannot start with growing delays, and serves with it once it can', async () => {
      const { server, primary, databaseUrl } = await startCluster(2);
      const [victim, survivor] = childrenOf(primary) as [number, number];
      const name = new URL(databaseUrl).pathname.slice(1);
      // The database refuses new connections, and those open are cut, so that a pooler between
      // (bench/pgbouncer.sh) has none left to hand out either. (The scratch database is dropped
      // afterwards all the same: DROP DATABASE needs no connection to it.)
      await pgAdmin(`alter database "${name}" allow_connections false`);
      await pgAdmin(`select pg_terminate_backend(pid) from pg_stat_activity where datname = '${name}'`);
      process.kill(victim, 'SIGKILL');

      const exits = await until('two failed restarts', () => {
        const lines = primaryLines(server, 'worker exited; starting a replacement');
        return lines.length >= 3 && lines;
      });
      assert.deepEqual(
        exits.slice(0, 3).map((line) => line.restartInMs),
        [0, 1000, 2000],
      );
      assert.equal(exits[0]!.worker, victim);
      for (const line of exits.slice(1, 3)) assert.deepEqual([line.code, line.signal], [1, null]);
      // PostgreSQL's refusal, or PgBouncer's own once it has seen one (bench/pgbouncer.sh).
      assert.match(server.output(), /Start-up failed: .*(not currently accepting connections|server login has been failing)/);
      // Each replacement was started no sooner than its delay after the exit before it.
      const starts = primaryLines(server, 'worker started').filter((line) => line.slot === exits[0]!.slot);
      for (const [index, exit] of exits.slice(1, 3).entries()) {
        const next = starts.find((line) => line.time >= exit.time);
        if (next) assert.ok(next.time - exit.time >= exit.restartInMs! - 20, `restart ${index + 2} waited ${next.time - exit.time} ms`);
      }
      // The other worker keeps answering meanwhile (its pool reconnects once it can).
      assert.deepEqual(new Set(await servedBy(server, 4)), new Set([survivor]));

      await pgAdmin(`alter database "${name}" allow_connections true`);
      const back = await until(
        'a replacement to listen',
        () => primaryLines(server, 'worker listening').find((line) => line.worker !== victim && line.worker !== survivor),
        90_000,
      );
      assert.equal(childrenOf(primary).length, 2);
      const pids = await servedBy(server, 10);
      assert.deepEqual(
        [...new Set(pids)].sort((a, b) => a - b),
        [survivor, back.worker!].sort((a, b) => a - b),
      );
      await stopsCleanly(server);
    });
  });
});
