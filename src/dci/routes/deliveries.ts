import { Type, type Static } from '@sinclair/typebox';
import type { Kysely } from 'kysely';
import type { DB } from '#platform/db/types';
import { keyset, Keys, Page, PageQuery } from '#platform/http/pagination';
import { notFound } from '#platform/problem';
import type { App } from '#platform/http/types';
import { accessTo, IdParams, problems, StringEnum } from '#platform/http/kit';
import type { JobQueue } from '#platform/jobs/queue';
import type { DeliveryRow } from '../exchange/deliveries.ts';
import { replayDelivery, type ReplayJobs } from '../exchange/replay.ts';

/** The cursors of the delivery list. */
const deliveries = keyset('dci.deliveries', Keys.timeAndId);

/**
 * Admin routes over outgoing DCI callbacks (mounted under /api/v1): the dead-letter list, one
 * delivery with every attempt, and replay. No personal data: ids, actions, origins, statuses.
 */

const STATUSES = ['pending', 'retrying', 'delivered', 'refused', 'dead', 'cancelled'] as const;
const nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) =>
  Type.Union([schema, Type.Null()]);

const Delivery = Type.Object({
  id: Type.String({ format: 'uuid' }),
  exchange_id: Type.String({ format: 'uuid' }),
  client_id: Type.String({ format: 'uuid' }),
  action: Type.String({ description: 'The callback, e.g. on-search' }),
  message_id: Type.String({ description: 'The same on every attempt and replay' }),
  callback_uri: Type.String(),
  status: Type.String({ enum: [...STATUSES], description: 'dead: no retries left (the dead-letter state)' }),
  attempts: Type.Integer(),
  last_status_code: nullable(Type.Integer()),
  last_error: nullable(Type.String()),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
  delivered_at: nullable(Type.String({ format: 'date-time' })),
  not_before: nullable(
    Type.String({
      format: 'date-time',
      description: 'A notification of a subscription with a cron frequency is not sent before this time',
    }),
  ),
});

const Attempt = Type.Object({
  at: Type.String({ format: 'date-time' }),
  attempt: Type.Integer(),
  outcome: StringEnum(['delivered', 'failed', 'refused']),
  status_code: nullable(Type.Integer()),
  duration_ms: Type.Integer(),
  error: nullable(Type.String()),
});

const manage = accessTo('clients:manage', 'dci_delivery');

const json = (d: DeliveryRow): Static<typeof Delivery> => ({
  id: d.id,
  exchange_id: d.exchange_id,
  client_id: d.client_id,
  action: d.action,
  message_id: d.message_id,
  callback_uri: d.callback_uri,
  status: d.status,
  attempts: d.attempts,
  last_status_code: d.last_status_code,
  last_error: d.last_error,
  created_at: d.created_at.toISOString(),
  updated_at: d.updated_at.toISOString(),
  delivered_at: d.delivered_at?.toISOString() ?? null,
  not_before: d.not_before?.toISOString() ?? null,
});

export interface DeliveryRouteOptions {
  db: Kysely<DB>;
  jobs: JobQueue;
  replayJobs: ReplayJobs;
}

export async function dciDeliveryRoutes(
  app: App,
  { db, jobs, replayJobs }: DeliveryRouteOptions,
): Promise<void> {
  app.get(
    '/dci/deliveries',
    {
      config: manage('dci.delivery.list'),
      schema: {
        tags: ['dci admin'],
        operationId: 'listDciDeliveries',
        summary: 'Outgoing DCI callbacks, newest first; status=dead lists the dead letters',
        querystring: Type.Object(
          {
            ...PageQuery,
            status: Type.Optional(StringEnum(STATUSES)),
            client_id: Type.Optional(Type.String({ format: 'uuid' })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Page(Delivery), ...problems(400) },
      },
    },
    async (request) => {
      const { status, client_id, cursor } = request.query;
      const limit = request.query.limit ?? 50;
      const after = deliveries.after(cursor);
      let query = db.selectFrom('dci_deliveries').selectAll();
      if (status) {
        query = query.where('status', '=', status);
      }
      if (client_id) {
        query = query.where('client_id', '=', client_id);
      }
      if (after) {
        query = query.where((eb) =>
          eb.or([
            eb('created_at', '<', after.at),
            eb.and([eb('created_at', '=', after.at), eb('id', '<', after.id)]),
          ]),
        );
      }
      const rows = await query
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(limit + 1)
        .execute();
      const page = deliveries.page(rows, limit, (d) => ({ at: d.created_at, id: d.id }));
      request.auditNote = { recordCount: page.items.length };
      return { ...page, items: page.items.map(json) };
    },
  );

  app.get(
    '/dci/deliveries/:id',
    {
      config: manage('dci.delivery.read'),
      schema: {
        tags: ['dci admin'],
        operationId: 'getDciDelivery',
        summary: 'One outgoing DCI callback with every attempt',
        params: IdParams,
        response: {
          200: Type.Intersect([Delivery, Type.Object({ log: Type.Array(Attempt) })]),
          ...problems(400, 404),
        },
      },
    },
    async (request) => {
      request.auditNote = { resourceId: request.params.id };
      const delivery = await db
        .selectFrom('dci_deliveries')
        .selectAll()
        .where('id', '=', request.params.id)
        .executeTakeFirst();
      if (!delivery) {
        throw notFound('delivery');
      }
      const log = await db
        .selectFrom('dci_exchange_log')
        .select(['at', 'attempt', 'outcome', 'status_code', 'duration_ms', 'error'])
        .where('delivery_id', '=', delivery.id)
        .orderBy('at')
        .orderBy('id')
        .execute();
      request.auditNote.recordCount = 1;
      return { ...json(delivery), log: log.map((entry) => ({ ...entry, at: entry.at.toISOString() })) };
    },
  );

  app.post(
    '/dci/deliveries/:id/replay',
    {
      config: manage('dci.delivery.replay'),
      schema: {
        tags: ['dci admin'],
        operationId: 'replayDciDelivery',
        summary: 'Send a dead or refused callback again (same message id), with a fresh round of retries',
        params: IdParams,
        response: {
          202: Delivery,
          ...problems(400, 404, 409, 410),
        },
      },
    },
    async (request, reply) => {
      request.auditNote = { resourceId: request.params.id };
      const delivery = await replayDelivery(db, jobs, replayJobs, {
        deliveryId: request.params.id,
        requestId: request.id,
        by: request.principal?.clientId,
      });
      request.auditNote.recordCount = 1;
      return reply.code(202).send(json(delivery));
    },
  );
}
