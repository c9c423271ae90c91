import cluster, { type Worker } from 'node:cluster';
import { hostname } from 'node:os';
import type { Config } from './config.ts';

/**
 * The primary of `WEB_CONCURRENCY` > 1. It opens no database and serves nothing: it forks the
 * workers (each runs src/server.ts as a single process would, and they share the port through
 * `node:cluster`), replaces a worker that ends, and on SIGTERM/SIGINT stops them all gracefully.
 *
 * - Start-up: a worker that ends before any worker has listened stops everything with exit code 1,
 *   as a single process that fails to start does (a bad DATABASE_URL, a taken port, a failed
 *   migration), so a deployment sees the failure instead of a restart loop.
 * - Later, a worker that ends is replaced at once; one that ends again before it has listened
 *   for STABLE_MS waits 1 s, then 2 s, 4 s … up to 30 s, so a worker that cannot start (the
 *   database refusing connections) is retried without spinning.
 * - SIGTERM/SIGINT: every worker gets SIGTERM and finishes its in-flight requests (src/server.ts);
 *   the primary exits 0 once all have exited 0, 1 if one did not.
 */

const RESTART_BASE_MS = 1000;
const RESTART_MAX_MS = 30_000;
const STABLE_MS = 10_000;
/** Each worker forces its own exit after 10 s; this only catches one that hangs past that. */
const SHUTDOWN_LIMIT_MS = 15_000;

const LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity } as const;

/** JSON lines in pino's shape, so the primary's lines sit among the workers' in one log stream. */
function primaryLogger(level: Config['LOG_LEVEL']) {
  const threshold = LEVELS[level];
  const host = hostname();
  const at =
    (value: number) =>
    (details: Record<string, unknown>, msg: string): void => {
      if (value < threshold) return;
      process.stdout.write(`${JSON.stringify({ level: value, time: Date.now(), pid: process.pid, hostname: host, role: 'primary', ...details, msg })}\n`);
    };
  return { info: at(LEVELS.info), warn: at(LEVELS.warn), error: at(LEVELS.error) };
}

interface Slot {
  readonly index: number;
  worker?: Worker;
  listeningSince?: number;
  /** Ends in a row of workers in this slot that had not listened for STABLE_MS. */
  failures: number;
  restart?: NodeJS.Timeout;
}

export function runPrimary(config: Config): void {
  const log = primaryLogger(config.LOG_LEVEL);
  const slots: Slot[] = Array.from({ length: config.WEB_CONCURRENCY }, (_, index) => ({ index, failures: 0 }));
  let anyListened = false;
  let announced = false;
  let stopping = false;
  let exitCode = 0;

  const live = () => slots.filter((slot) => slot.worker !== undefined);

  function fork(slot: Slot) {
    slot.restart = undefined;
    slot.listeningSince = undefined;
    const worker = cluster.fork();
    slot.worker = worker;
    log.info({ worker: worker.process.pid, slot: slot.index }, 'worker started');
    worker.on('listening', () => {
      slot.listeningSince = Date.now();
      anyListened = true;
      log.info({ worker: worker.process.pid, slot: slot.index }, 'worker listening');
      if (!announced && slots.every((each) => each.listeningSince !== undefined)) {
        announced = true;
        log.info({ workers: slots.map((each) => each.worker?.process.pid) }, `all ${slots.length} workers listening`);
      }
    });
    worker.on('exit', (code, signal) => ended(slot, worker, code, signal));
  }

  function ended(slot: Slot, worker: Worker, code: number | null, signal: string | null) {
    if (slot.worker !== worker) return;
    const listened = slot.listeningSince;
    slot.worker = undefined;
    slot.listeningSince = undefined;
    const details = { worker: worker.process.pid, slot: slot.index, code, signal };

    if (stopping) {
      // A worker still starting when the signal came had nothing in flight; SIGTERM ends it as it is.
      const clean = code === 0 || (signal !== null && listened === undefined);
      if (!clean) exitCode = 1;
      log.info(details, 'worker exited');
      if (live().length === 0) process.exit(exitCode);
      return;
    }
    if (!anyListened) {
      log.error(details, 'a worker failed before any worker was listening; stopping');
      stop(1);
      return;
    }
    if (listened !== undefined && Date.now() - listened >= STABLE_MS) slot.failures = 0;
    const delay = slot.failures === 0 ? 0 : Math.min(RESTART_BASE_MS * 2 ** (slot.failures - 1), RESTART_MAX_MS);
    slot.failures++;
    log.warn({ ...details, restartInMs: delay }, 'worker exited; starting a replacement');
    slot.restart = setTimeout(() => fork(slot), delay);
  }

  function stop(code: number, signal?: string) {
    if (stopping) return;
    stopping = true;
    exitCode = code;
    for (const slot of slots) clearTimeout(slot.restart);
    const running = live();
    log.info({ signal, workers: running.map((slot) => slot.worker!.process.pid) }, 'shutting down: stopping the workers');
    if (running.length === 0) process.exit(exitCode);
    for (const slot of running) slot.worker!.process.kill('SIGTERM');
    setTimeout(() => {
      const left = live();
      log.error({ workers: left.map((slot) => slot.worker!.process.pid) }, 'workers did not stop in time; killing them');
      for (const slot of left) slot.worker!.process.kill('SIGKILL');
      process.exit(1);
    }, SHUTDOWN_LIMIT_MS).unref();
  }

  process.on('SIGTERM', () => stop(0, 'SIGTERM'));
  process.on('SIGINT', () => stop(0, 'SIGINT'));

  log.info({ workers: slots.length }, 'starting workers');
  for (const slot of slots) fork(slot);
}
