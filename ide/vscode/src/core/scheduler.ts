/**
 * Debounce and cancel: a run for a key starts `delayMs` after the last request for it; a newer run aborts the one
 * still going (its AbortSignal fires, and the CLI child process it started is killed). A limiter keeps at most
 * `concurrency` runs going at once, so estimating a large workspace does not start a process per file at once.
 */

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export type Job = (signal: AbortSignal) => Promise<void>;

export class Scheduler {
  private readonly pending = new Map<string, unknown>();
  private readonly running = new Map<string, AbortController>();

  constructor(
    private delayMs: number,
    private readonly timers: Timers = realTimers,
  ) {}

  setDelay(ms: number): void {
    this.delayMs = ms;
  }

  /** Run `job` for `key` after the delay, unless another request for `key` comes first. */
  schedule(key: string, job: Job): void {
    const waiting = this.pending.get(key);
    if (waiting !== undefined) this.timers.clearTimeout(waiting);
    this.pending.set(
      key,
      this.timers.setTimeout(() => {
        this.pending.delete(key);
        void this.run(key, job);
      }, this.delayMs),
    );
  }

  /** Run `job` for `key` now, aborting a run of `key` still going. */
  async run(key: string, job: Job): Promise<void> {
    this.running.get(key)?.abort();
    const controller = new AbortController();
    this.running.set(key, controller);
    try {
      await job(controller.signal);
    } finally {
      if (this.running.get(key) === controller) this.running.delete(key);
    }
  }

  isPending(key: string): boolean {
    return this.pending.has(key);
  }

  isRunning(key: string): boolean {
    return this.running.has(key);
  }

  cancel(key: string): void {
    const waiting = this.pending.get(key);
    if (waiting !== undefined) this.timers.clearTimeout(waiting);
    this.pending.delete(key);
    this.running.get(key)?.abort();
    this.running.delete(key);
  }

  dispose(): void {
    for (const key of [...this.pending.keys(), ...this.running.keys()]) this.cancel(key);
  }
}

/** At most `concurrency` tasks at once; the rest wait in order. An aborted task that has not started never starts. */
export class Limiter {
  private active = 0;
  private readonly queue: (() => void)[] = [];

  constructor(private readonly concurrency: number) {}

  async run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (this.active >= this.concurrency) {
      await new Promise<void>((resolve) => this.queue.push(resolve));
    }
    this.active++;
    try {
      if (signal?.aborted) throw abortError();
      return await task();
    } finally {
      this.active--;
      this.queue.shift()?.();
    }
  }

  get activeCount(): number {
    return this.active;
  }
}

export function abortError(): Error {
  const error = new Error("cancelled: a newer estimate started");
  error.name = "AbortError";
  return error;
}

export function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === "AbortError" || (error as { code?: string }).code === "ABORT_ERR");
}
