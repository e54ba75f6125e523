import type { Kysely } from 'kysely';
import type { DB } from '#platform/db/types';
import type { App } from '#platform/http/types';
import { runPeriodically, type Periodic } from '#platform/jobs/periodic';
import { dispatchNotifications } from './dispatch.ts';

export interface NotifierOptions {
  db: Kysely<DB>;
  /** Pause between dispatch rounds when no work waits (setting dciNotifyIntervalMs). */
  intervalMs: number;
}

/**
 * Runs the notification dispatcher in this gateway: from app ready to close, a round every
 * `intervalMs`, and the next one at once while work waits (a full batch). Registered after the job
 * queue's hooks, so that it starts after the queue and stops before it.
 */
export function dciNotifications(app: App, { db, intervalMs }: NotifierOptions): void {
  let periodic: Periodic | undefined;
  app.addHook('onReady', async () => {
    periodic = runPeriodically(
      intervalMs,
      async () => {
        if (await dispatchNotifications({ db, jobs: app.jobs, log: app.log })) {
          periodic?.kick();
        }
      },
      (error) => app.log.error({ error: String(error) }, 'dispatching DCI notifications failed'),
    );
  });
  app.addHook('onClose', async () => periodic?.stop());
}
