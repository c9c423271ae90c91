/**
 * Work started by a request and finished after its answer has gone (so the answer's timing says
 * nothing about that work). Failures are logged; shutdown waits for what is still running.
 */
export function createBackgroundTasks(log: { warn(details: object, message: string): void }) {
  const running = new Set<Promise<void>>();
  return {
    run(name: string, task: () => Promise<void>) {
      const promise: Promise<void> = new Promise<void>((resolve) => setImmediate(resolve))
        .then(task)
        .catch((error: unknown) => log.warn({ err: error, task: name }, 'a background task failed'))
        .finally(() => running.delete(promise));
      running.add(promise);
    },
    /** Resolves once every task started so far has ended. */
    async drained() {
      while (running.size > 0) await Promise.allSettled([...running]);
    },
  };
}

export type BackgroundTasks = ReturnType<typeof createBackgroundTasks>;
