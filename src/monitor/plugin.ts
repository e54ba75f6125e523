import fp from 'fastify-plugin';
import type { Kysely } from 'kysely';
import type { DB } from '#platform/db/types';
import { API_PREFIX } from '#platform/http/openapi';
import type { App } from '#platform/http/types';
import type { Periodic } from '#platform/jobs/periodic';
import { monitorRoutes } from './routes.ts';
import type { TrafficRecorder } from './traffic.ts';

export interface MonitorPluginOptions {
  db: Kysely<DB>;
  /** The counts of every request (its hook is installed with the platform, before any route). */
  traffic: TrafficRecorder;
}

/** Traffic per client and operation: its routes, and its counts written every 5 s and on close. */
async function monitor(app: App, { db, traffic }: MonitorPluginOptions): Promise<void> {
  let writing: Periodic | undefined;
  app.addHook('onReady', async () => {
    writing = traffic.start(5000, (error) =>
      app.log.error({ error: String(error) }, 'purging traffic counts failed'),
    );
  });
  app.addHook('onClose', async () => {
    await writing?.stop();
    await traffic.flush();
  });
  await app.register(monitorRoutes, { prefix: API_PREFIX, db, traffic });
}

export const monitorPlugin = fp(monitor, { name: 'monitor' });
