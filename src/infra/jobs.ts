import type { FastifyBaseLogger } from 'fastify';

/**
 * Runs a task every `intervalMs`, never two runs of it at once, and lets callers ask for a run
 * soon (after a commit that queued work). Timers are unref'd so they never hold the process open.
 */
export interface PeriodicTask {
  start(): void;
  /** Waits for a run in progress, then stops. */
  stop(): Promise<void>;
  /** Runs as soon as possible (once more after the current run, if one is going). */
  kick(): void;
  /** One run now, awaited; used by CLIs and tests. */
  runOnce(): Promise<void>;
}

/** `task` should return early once `signal` is aborted (the process is stopping), between units of work. */
export function periodic(name: string, intervalMs: number, task: (signal: AbortSignal) => Promise<unknown>, log: FastifyBaseLogger): PeriodicTask {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let started = false;
  let stopping = new AbortController();

  const schedule = (delay: number) => {
    if (!started) return;
    clearTimeout(timer);
    timer = setTimeout(() => void tick(), delay);
    timer.unref();
  };

  async function runOnce(): Promise<void> {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      try {
        do {
          again = false;
          await task(stopping.signal);
        } while (again && !stopping.signal.aborted);
      } catch (error) {
        log.error({ err: error, job: name }, 'background job failed');
      } finally {
        running = undefined;
      }
    })();
    return running;
  }

  async function tick() {
    await runOnce();
    schedule(intervalMs);
  }

  return {
    start() {
      if (started) return;
      started = true;
      stopping = new AbortController();
      schedule(0);
    },
    async stop() {
      started = false;
      clearTimeout(timer);
      stopping.abort();
      await running;
    },
    kick() {
      if (started) schedule(0);
    },
    runOnce,
  };
}
