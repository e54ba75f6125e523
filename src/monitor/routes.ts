import { Type } from '@sinclair/typebox';
import { sql, type Kysely } from 'kysely';
import { recordAudit } from '#platform/audit/audit-log';
import type { DB } from '#platform/db/types';
import { rawResponse } from '#platform/http/openapi';
import type { App } from '#platform/http/types';
import { accessTo, principalOf, problems, StringEnum } from '#platform/http/kit';
import { Nullable } from '#registry/schemas';
import { p95Of, TRAFFIC_BOUNDS_MS, type RequestEvent, type TrafficRecorder } from './traffic.ts';

/**
 * The data flow monitor's API (`metrics:read`): requests per client and operation over the last hour
 * or day (counts, error rate, p95 latency, records returned, rate-limit refusals) with a time series
 * for charts and the recent anomaly alerts; and a live stream (server-sent events) of the requests
 * this gateway answers, as they happen.
 */

const WINDOWS = { hour: { seconds: 3600, step: 60 }, day: { seconds: 86_400, step: 900 } } as const;

const Total = Type.Object({
  client_id: Type.String(),
  client_name: Type.String(),
  action: Type.String(),
  requests: Type.Integer(),
  errors: Type.Integer(),
  error_rate: Type.Number(),
  rate_limited: Type.Integer(),
  records: Type.Integer(),
  p95_ms: Nullable(
    Type.Integer({
      description: `Upper bound of the bucket (${TRAFFIC_BOUNDS_MS.join(', ')} ms); null above`,
    }),
  ),
});
const Traffic = Type.Object({
  window: Type.String(),
  from: Type.String({ format: 'date-time' }),
  totals: Type.Array(Total),
  series: Type.Array(
    Type.Object({
      at: Type.String({ format: 'date-time' }),
      requests: Type.Integer(),
      errors: Type.Integer(),
    }),
  ),
  alerts: Type.Array(
    Type.Object({
      id: Type.String(),
      client_id: Nullable(Type.String()),
      source: Nullable(Type.String()),
      rule: Type.String(),
      severity: Type.String(),
      action: Type.String(),
      created_at: Type.String({ format: 'date-time' }),
    }),
  ),
});

const read = accessTo('metrics:read', 'traffic');

export async function monitorRoutes(
  app: App,
  { db, traffic }: { db: Kysely<DB>; traffic: TrafficRecorder },
): Promise<void> {
  // Live streams never end by themselves: closing the gateway ends them.
  const streams = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of streams) {
      end();
    }
  });

  app.get(
    '/monitor/traffic',
    {
      config: read('monitor.traffic'),
      schema: {
        tags: ['operations'],
        operationId: 'getTraffic',
        summary: 'Requests per client and operation over the last hour or day, a time series, recent alerts',
        querystring: Type.Object(
          { window: Type.Optional(StringEnum(['hour', 'day'], { default: 'hour' })) },
          { additionalProperties: false },
        ),
        response: { 200: Traffic, ...problems(400) },
      },
    },
    async (request) => {
      await traffic.flush();
      const name = request.query.window ?? 'hour';
      const { seconds, step } = WINDOWS[name];
      const from = new Date(Math.floor((Date.now() - seconds * 1000) / (step * 1000)) * step * 1000);
      const [totals, buckets, series, alerts] = await Promise.all([
        db
          .selectFrom('traffic_minutes as t')
          .innerJoin('api_clients as c', 'c.id', 't.client_id')
          .select(['t.client_id', 'c.name as client_name', 't.action'])
          .select((eb) => [
            eb.fn.sum<string>('t.requests').as('requests'),
            eb.fn.sum<string>('t.errors').as('errors'),
            eb.fn.sum<string>('t.rate_limited').as('rate_limited'),
            eb.fn.sum<string>('t.records').as('records'),
          ])
          .where('t.minute', '>=', from)
          .groupBy(['t.client_id', 'c.name', 't.action'])
          .orderBy('requests', 'desc')
          .execute(),
        sql<{ client_id: string; action: string; n: string; count: string }>`
          select t.client_id, t.action, u.n, sum(u.b) as count
          from traffic_minutes t, unnest(t.latency_buckets) with ordinality as u(b, n)
          where t.minute >= ${from} group by t.client_id, t.action, u.n`.execute(db),
        sql<{ at: Date; requests: string; errors: string }>`
          select to_timestamp(floor(extract(epoch from minute) / ${step}) * ${step}) as at,
            sum(requests) as requests, sum(errors) as errors
          from traffic_minutes where minute >= ${from} group by 1 order by 1`.execute(db),
        db
          .selectFrom('anomaly_alerts')
          .select(['id', 'client_id', 'source', 'rule', 'severity', 'action', 'created_at'])
          .where('created_at', '>=', from)
          .orderBy('created_at', 'desc')
          .limit(50)
          .execute(),
      ]);
      const histograms = new Map<string, number[]>();
      for (const row of buckets.rows) {
        const key = `${row.client_id}|${row.action}`;
        const histogram = histograms.get(key) ?? Array<number>(TRAFFIC_BOUNDS_MS.length + 1).fill(0);
        histogram[Number(row.n) - 1] = Number(row.count);
        histograms.set(key, histogram);
      }
      request.auditNote = { recordCount: totals.length };
      return {
        window: name,
        from: from.toISOString(),
        totals: totals.map((row) => ({
          client_id: row.client_id,
          client_name: row.client_name,
          action: row.action,
          requests: Number(row.requests),
          errors: Number(row.errors),
          error_rate: Number(row.requests) > 0 ? Number(row.errors) / Number(row.requests) : 0,
          rate_limited: Number(row.rate_limited),
          records: Number(row.records),
          p95_ms: p95Of(histograms.get(`${row.client_id}|${row.action}`) ?? []),
        })),
        series: series.rows.map((row) => ({
          at: new Date(row.at).toISOString(),
          requests: Number(row.requests),
          errors: Number(row.errors),
        })),
        alerts: alerts.map((alert) => ({ ...alert, created_at: alert.created_at.toISOString() })),
      };
    },
  );

  app.get(
    '/monitor/events',
    {
      config: { access: { permission: 'metrics:read', audit: false } },
      schema: {
        tags: ['operations'],
        operationId: 'streamMonitorEvents',
        summary: 'Live requests answered by this gateway (text/event-stream: one `request` event each)',
        response: {
          200: rawResponse('Server-sent events, until the client disconnects', ['text/event-stream']),
        },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      await recordAudit(db, {
        requestId: request.id,
        clientId: principal.clientId,
        clientName: principal.clientName,
        action: 'monitor.events',
        resourceType: 'traffic',
        outcome: 'success',
        statusCode: 200,
      });
      reply.hijack();
      reply.raw.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      reply.raw.write(': connected\n\n');
      const send = (event: RequestEvent) =>
        reply.raw.write(`event: request\ndata: ${JSON.stringify(event)}\n\n`);
      const keepAlive = setInterval(() => reply.raw.write(': keep-alive\n\n'), 15_000);
      traffic.live.on('request', send);
      const end = () => {
        clearInterval(keepAlive);
        traffic.live.off('request', send);
        streams.delete(end);
        reply.raw.end();
      };
      streams.add(end);
      request.raw.once('close', end);
    },
  );
}
