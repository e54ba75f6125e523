import { Type } from '@sinclair/typebox';
import type { Kysely } from 'kysely';
import type { DB } from '#platform/db/types';
import type { App } from '#platform/http/types';
import { problems, StringEnum } from '#platform/http/kit';
import { listSubscriptions } from '../subscriptions/queries.ts';

/**
 * Admin view of DCI subscriptions (mounted under /api/v1): who subscribed to what, and how their
 * notifications went. Filters are left out: they may hold identifier values.
 */

const nullableDate = Type.Union([Type.String({ format: 'date-time' }), Type.Null()]);
const count = (description: string) => Type.Integer({ description });

const Subscription = Type.Object({
  code: Type.String(),
  client_id: Type.String({ format: 'uuid' }),
  client_name: Type.String(),
  registry: StringEnum(['social', 'ibr']),
  status: StringEnum(['active', 'unsubscribed']),
  reg_event_type: Type.String(),
  notify_record_type: Type.String(),
  filter_type: Type.String(),
  starts_at: nullableDate,
  ends_at: nullableDate,
  created_at: Type.String({ format: 'date-time' }),
  ended_at: nullableDate,
  notifications: Type.Object({
    pending: count('not sent yet'),
    retrying: count('failed, will be retried'),
    delivered: count('delivered'),
    refused: count('the target failed the callback policy'),
    dead: count('no retries left (dead letters)'),
    cancelled: count('dropped unsent (ended subscription, record or access gone)'),
  }),
});

const Query = Type.Object(
  {
    client_id: Type.Optional(Type.String({ format: 'uuid' })),
    status: Type.Optional(StringEnum(['active', 'unsubscribed'])),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
  },
  { additionalProperties: false },
);

export async function dciSubscriptionAdminRoutes(app: App, { db }: { db: Kysely<DB> }): Promise<void> {
  app.get(
    '/dci/subscriptions',
    {
      config: {
        access: {
          permission: 'clients:manage',
          audit: { action: 'dci.subscription.list', resourceType: 'dci_subscription' },
        },
      },
      schema: {
        tags: ['dci admin'],
        operationId: 'listDciSubscriptions',
        summary: 'DCI subscriptions, newest first, with their notifications counted by delivery status',
        querystring: Query,
        response: { 200: Type.Object({ items: Type.Array(Subscription) }), ...problems(400) },
      },
    },
    async (request) => {
      const rows = await listSubscriptions(db, {
        clientId: request.query.client_id,
        status: request.query.status,
        limit: request.query.limit ?? 100,
      });
      request.auditNote = { recordCount: rows.length };
      const iso = (d: Date | null) => d?.toISOString() ?? null;
      return {
        items: rows.map((row) => ({
          code: row.code,
          client_id: row.client_id,
          client_name: row.client_name,
          registry: row.registry,
          status: row.status,
          reg_event_type: row.reg_event_type,
          notify_record_type: row.notify_record_type,
          filter_type: row.filter_type,
          starts_at: iso(row.starts_at),
          ends_at: iso(row.ends_at),
          created_at: row.created_at.toISOString(),
          ended_at: iso(row.ended_at),
          notifications: {
            pending: row.pending,
            retrying: row.retrying,
            delivered: row.delivered,
            refused: row.refused,
            dead: row.dead,
            cancelled: row.cancelled,
          },
        })),
      };
    },
  );
}
