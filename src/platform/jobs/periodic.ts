import type { App } from '#platform/http/types';

/**
 * Housekeeping that runs every so often inside a gateway (retention purges, outbox polling). Runs
 * never overlap: the next one is scheduled when the last one ends. A failed run is reported and the
 * schedule goes on. The timer does not keep the process alive; stop() waits for a run in progress.
 */
export interface Periodic {
  /** Runs the task now (after a run in progress), e.g. when new work is known to wait. */
  kick(): void;
  stop(): Promise<void>;
}

export function runPeriodically(
  intervalMs: number,
  task: () => Promise<unknown>,
  onError: (error: unknown) => void,
): Periodic {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;
  let again = false;

  const schedule = (delay: number) => {
    if (!stopped) {
      timer = setTimeout(run, delay);
      timer.unref();
    }
  };
  function run(): void {
    timer = undefined;
    again = false;
    running = task()
      .then(
        () => undefined,
        (error: unknown) => onError(error),
      )
      .finally(() => {
        running = undefined;
        schedule(again ? 0 : intervalMs);
      });
  }

  schedule(0);
  return {
    kick() {
      if (running) {
        again = true;
      } else if (timer) {
        clearTimeout(timer);
        schedule(0);
      }
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}

/** Periodic work that runs while the app is up: started once it is ready, stopped when it closes. */
export function runWhileUp(app: App, start: () => Periodic): void {
  let periodic: Periodic | undefined;
  app.addHook('onReady', async () => {
    periodic = start();
  });
  app.addHook('onClose', async () => {
    await periodic?.stop();
  });
}
