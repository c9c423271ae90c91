/**
 * Undo steps for what a benchmark leaves behind (servers, scratch databases, a git worktree),
 * run newest first at the end, after a failure or on Ctrl-C alike.
 */
export class Cleanup {
  #steps: (() => Promise<void>)[] = [];
  #running: Promise<void> | undefined;
  #finished = false;
  readonly #report: (message: string) => void;

  constructor(report: (message: string) => void = (message) => console.error(message)) {
    this.#report = report;
  }

  /**
   * Registers `step`; the returned function runs it at once (and only once) for a resource whose
   * life ends before the whole run does. A failing step is reported and does not stop the others.
   */
  add(label: string, step: () => Promise<void> | void): () => Promise<void> {
    let done: Promise<void> | undefined;
    const once = () =>
      (done ??= (async () => {
        try {
          await step();
        } catch (error) {
          this.#report(`cleanup: ${label} failed: ${error instanceof Error ? error.message : String(error)}`);
        }
      })());
    // Registered after the cleanup already ran (a start that was under way on Ctrl-C): undone at once.
    if (this.#finished) void once();
    else this.#steps.push(once);
    return async () => {
      this.#steps = this.#steps.filter((other) => other !== once);
      await once();
    };
  }

  /** Runs every step still registered, newest first; later calls wait for the same run. */
  run(): Promise<void> {
    this.#running ??= (async () => {
      // Steps added while earlier ones run are picked up too.
      for (let step = this.#steps.pop(); step; step = this.#steps.pop()) await step();
      this.#finished = true;
    })();
    return this.#running;
  }
}
