import { Type } from '@sinclair/typebox';
import { sql, type Kysely } from 'kysely';
import type { Registry } from 'prom-client';
import type { DB } from '#platform/db/types';
import { rawResponse } from './openapi.ts';
import { unavailable } from '#platform/problem';
import type { App } from './types.ts';
import { problems } from '#platform/http/kit';

const Health = Type.Object({ status: Type.String(), version: Type.String() });
const Ready = Type.Object({ status: Type.String(), database: Type.String() });

/** Liveness, readiness and Prometheus metrics. */
export function operationsRoutes(
  app: App,
  deps: { db: Kysely<DB>; metrics: Registry; version: string; engine: string; isClosing: () => boolean },
): void {
  app.get(
    '/health',
    {
      config: { access: { public: true } },
      schema: {
        tags: ['operations'],
        operationId: 'getHealth',
        summary: 'Liveness: the process answers',
        response: { 200: Health },
      },
    },
    async () => ({ status: 'ok', version: deps.version }),
  );

  app.get(
    '/ready',
    {
      config: { access: { public: true } },
      schema: {
        tags: ['operations'],
        operationId: 'getReadiness',
        summary: 'Readiness: the database answers and the gateway is not shutting down',
        response: { 200: Ready, ...problems(503) },
      },
    },
    async () => {
      if (deps.isClosing()) {
        throw unavailable('the gateway is shutting down');
      }
      try {
        await sql`select 1`.execute(deps.db);
      } catch {
        throw unavailable('the database does not answer');
      }
      return { status: 'ready', database: deps.engine };
    },
  );

  app.get(
    '/metrics',
    {
      config: { access: { permission: 'metrics:read', audit: false } },
      schema: {
        tags: ['operations'],
        operationId: 'getMetrics',
        summary: 'Prometheus metrics (text exposition format)',
        response: { 200: rawResponse('The metrics, as Prometheus scrapes them', ['text/plain']) },
      },
    },
    async (_request, reply) => reply.type(deps.metrics.contentType).send(await deps.metrics.metrics()),
  );
}
