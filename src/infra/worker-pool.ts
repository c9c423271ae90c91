import { Worker } from 'node:worker_threads';

/** Messages between a pool and its workers: one request at a time per worker, answered by id. */
export interface PoolRequest<In> {
  id: number;
  input: In;
}
export type PoolReply<Out> = { id: number; output: Out; error?: undefined } | { id: number; error: string; output?: undefined };

export interface WorkerPool<In, Out> {
  run(input: In): Promise<Out>;
  /** Rejects queued and running jobs, terminates the workers; later `run`s reject. */
  close(): Promise<void>;
}

export interface WorkerPoolOptions {
  /** Worker threads at most; they start when work arrives, so an idle process pays nothing. */
  threads?: number;
  /** Names the pool in errors. */
  name?: string;
}

interface Job<In, Out> {
  id: number;
  input: In;
  resolve: (output: Out) => void;
  reject: (error: Error) => void;
}

interface Slot<In, Out> {
  worker: Worker;
  job?: Job<In, Out>;
  /** Set by the worker's `error` event, which comes before its `exit`. */
  failure?: Error;
}

/**
 * A fixed-size pool of worker threads running `script`, with a FIFO queue. CPU-bound work (PDF
 * layout) goes here so the event loop keeps answering other requests. A worker that dies (an
 * uncaught exception, `process.exit`, out of memory) fails only the job it held; the next job
 * starts a fresh one. An idle worker is unref'd, so the pool never keeps a process alive; a busy
 * one is ref'd, since otherwise a CLI awaiting a render would exit with the job unfinished.
 */
export function createWorkerPool<In, Out>(script: URL, options: WorkerPoolOptions = {}): WorkerPool<In, Out> {
  const threads = options.threads ?? 1;
  if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`worker pool: threads must be a positive integer, got ${threads}`);
  const name = options.name ?? 'worker pool';
  const slots = new Set<Slot<In, Out>>();
  const queue: Job<In, Out>[] = [];
  let nextId = 1;
  let closed = false;

  function spawn(): Slot<In, Out> {
    const slot: Slot<In, Out> = { worker: new Worker(script, { name }) };
    slot.worker.on('message', (reply: PoolReply<Out>) => {
      const job = slot.job;
      if (!job || reply.id !== job.id) return;
      slot.job = undefined;
      slot.worker.unref();
      if (reply.error !== undefined) job.reject(new Error(`${name}: ${reply.error}`));
      else job.resolve(reply.output);
      dispatch();
    });
    slot.worker.on('messageerror', (error) => {
      const job = slot.job;
      slot.job = undefined;
      slot.worker.unref();
      job?.reject(new Error(`${name}: the reply could not be read`, { cause: error }));
      dispatch();
    });
    slot.worker.on('error', (error: Error) => {
      slot.failure = error;
    });
    slot.worker.on('exit', (code) => {
      slots.delete(slot);
      const job = slot.job;
      slot.job = undefined;
      if (job) job.reject(new Error(`${name}: the worker ${closed ? 'was closed' : `died (exit code ${code})`} while on this job`, { cause: slot.failure }));
      if (!closed) dispatch();
    });
    // After the listeners: attaching a 'message' listener refs the worker's port again.
    slot.worker.unref();
    slots.add(slot);
    return slot;
  }

  function dispatch() {
    while (queue.length > 0) {
      let idle: Slot<In, Out> | undefined;
      for (const slot of slots) if (!slot.job) idle = slot;
      if (!idle && slots.size < threads) idle = spawn();
      if (!idle) return;
      const job = queue.shift()!;
      idle.job = job;
      idle.worker.ref();
      idle.worker.postMessage({ id: job.id, input: job.input } satisfies PoolRequest<In>);
    }
  }

  return {
    run(input) {
      if (closed) return Promise.reject(new Error(`${name} is closed`));
      return new Promise<Out>((resolve, reject) => {
        queue.push({ id: nextId++, input, resolve, reject });
        dispatch();
      });
    },
    async close() {
      closed = true;
      for (const job of queue.splice(0)) job.reject(new Error(`${name} closed before this job ran`));
      await Promise.all([...slots].map((slot) => slot.worker.terminate()));
    },
  };
}
