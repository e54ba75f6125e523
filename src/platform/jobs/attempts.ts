/** Why a running attempt's signal was aborted. */
export type AbortCause = 'cancelled' | 'timed-out' | 'stopping' | 'taken-over';

const MESSAGES: Record<AbortCause, string> = {
  cancelled: 'the job was cancelled',
  'timed-out': 'the job ran past its time limit',
  stopping: 'the gateway stopped while the job was running',
  'taken-over': 'the job was cancelled or taken over by another attempt',
};

/** The reason carried by an attempt's aborted signal (`signal.reason`). */
export class JobAbortedError extends Error {
  override name = 'AbortError';
  constructor(readonly why: AbortCause) {
    super(MESSAGES[why]);
  }
}

export interface RunningAttempt {
  readonly jobId: string;
  readonly controller: AbortController;
}

interface Entry extends RunningAttempt {
  finished: () => void;
  done: Promise<void>;
}

/** The attempts running in this process, so that cancel() and stop() can reach their signals. */
export class RunningAttempts {
  readonly #entries = new Set<Entry>();

  begin(jobId: string): RunningAttempt {
    let finished!: () => void;
    const done = new Promise<void>((resolve) => (finished = resolve));
    const entry: Entry = { jobId, controller: new AbortController(), finished, done };
    this.#entries.add(entry);
    return entry;
  }

  end(attempt: RunningAttempt): void {
    const entry = attempt as Entry;
    this.#entries.delete(entry);
    entry.finished();
  }

  abort(jobId: string, why: AbortCause): void {
    for (const entry of this.#entries) {
      if (entry.jobId === jobId) {
        entry.controller.abort(new JobAbortedError(why));
      }
    }
  }

  abortAll(why: AbortCause): void {
    for (const entry of this.#entries) {
      entry.controller.abort(new JobAbortedError(why));
    }
  }

  /** Waits until no attempt runs, or the time is up; true when none runs. */
  async idle(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeUp = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    const all = Promise.all([...this.#entries].map((entry) => entry.done)).then(() => true as const);
    try {
      return await Promise.race([all, timeUp]);
    } finally {
      clearTimeout(timer);
    }
  }

  get size(): number {
    return this.#entries.size;
  }
}

/** Settles with `work`, or rejects with the signal's reason as soon as it aborts. */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    // A handler that ignores its signal keeps running in the background; its late result is
    // dropped here (the guarded row writes would ignore it anyway).
    void work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
