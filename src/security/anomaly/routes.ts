import type { Kysely } from 'kysely';
import type { DB } from '#platform/db/types';
import { keyset, Keys, Page } from '#platform/http/pagination';
import { conflict, notFound } from '#platform/problem';
import type { App } from '#platform/http/types';
import { accessTo, IdParams, principalOf, problems } from '#platform/http/kit';
import { HOUR_MS, hourOf, round, share, usualHourly } from './baseline.ts';
import type { AnomalyGuard } from './guard.ts';
import { AlertQuery, AlertSchema, ClientBaselineSchema } from './schemas.ts';
import * as queries from './state/queries.ts';

/** The cursors of the alert list (newest first). */
const alerts = keyset('anomaly.alerts', Keys.seq);

const readAccess = accessTo('audit:read', 'anomaly_alert');
const actAccess = accessTo('clients:manage', 'anomaly_alert');

const iso = (date: Date | null) => date?.toISOString() ?? null;
const alertJson = (row: queries.AlertRow) => ({
  id: row.id,
  client_id: row.client_id,
  source: row.source,
  rule: row.rule,
  severity: row.severity,
  action: row.action,
  evidence: row.evidence,
  throttled_until: iso(row.throttled_until),
  created_at: row.created_at.toISOString(),
  acknowledged_at: iso(row.acknowledged_at),
  acknowledged_by: row.acknowledged_by,
  lifted_at: iso(row.lifted_at),
  lifted_by: row.lifted_by,
});

/** Alerts of the anomaly guard, what it knows of a client, and the admin's answers to it (acknowledge, lift). */
export async function anomalyRoutes(
  app: App,
  { db, guard }: { db: Kysely<DB>; guard: AnomalyGuard },
): Promise<void> {
  const alertOf = async (id: string) => {
    const row = await queries.findAlert(db, id);
    if (!row) {
      throw notFound('alert');
    }
    return row;
  };

  app.get(
    '/anomaly/alerts',
    {
      config: readAccess('anomaly.alert.list'),
      schema: {
        tags: ['security'],
        operationId: 'listAnomalyAlerts',
        summary: 'Alerts of the anomaly guard, newest first',
        querystring: AlertQuery,
        response: { 200: Page(AlertSchema), ...problems(400) },
      },
    },
    async (request) => {
      const { limit = 50, cursor, client_id, rule, status } = request.query;
      const before = alerts.after(cursor);
      const rows = await queries.listAlerts(db, {
        clientId: client_id,
        rule,
        status: status,
        beforeSeq: before === undefined ? undefined : Number(before),
        limit,
      });
      const page = alerts.page(rows, limit, (row) => String(row.seq));
      request.auditNote = { recordCount: page.items.length };
      return { ...page, items: page.items.map(alertJson) };
    },
  );

  app.get(
    '/anomaly/alerts/:id',
    {
      config: readAccess('anomaly.alert.read'),
      schema: {
        tags: ['security'],
        operationId: 'getAnomalyAlert',
        summary: 'One alert',
        params: IdParams,
        response: { 200: AlertSchema, ...problems(400, 404, 409) },
      },
    },
    async (request) => {
      request.auditNote = { resourceId: request.params.id };
      const row = await alertOf(request.params.id);
      request.auditNote.recordCount = 1;
      return alertJson(row);
    },
  );

  app.post(
    '/anomaly/alerts/:id/acknowledge',
    {
      config: actAccess('anomaly.alert.acknowledge'),
      schema: {
        tags: ['security'],
        operationId: 'acknowledgeAnomalyAlert',
        summary: 'Acknowledge an alert (it leaves the open ones; the first acknowledgement is kept)',
        params: IdParams,
        response: { 200: AlertSchema, ...problems(400, 404, 409) },
      },
    },
    async (request) => {
      request.auditNote = { resourceId: request.params.id };
      const row = await queries.acknowledgeAlert(
        db,
        request.params.id,
        principalOf(request).clientId,
        new Date(guard.now()),
      );
      if (!row) {
        throw notFound('alert');
      }
      request.auditNote.recordCount = 1;
      return alertJson(row);
    },
  );

  app.post(
    '/anomaly/alerts/:id/lift',
    {
      config: actAccess('anomaly.alert.lift'),
      schema: {
        tags: ['security'],
        operationId: 'liftAnomalyAlert',
        summary:
          'Lift what an alert did: end its throttle, or enable its suspended client again (acknowledges it)',
        params: IdParams,
        response: { 200: AlertSchema, ...problems(400, 404, 409) },
      },
    },
    async (request) => {
      request.auditNote = { resourceId: request.params.id };
      const alert = await alertOf(request.params.id);
      if (alert.action === 'alert') {
        throw conflict('this alert throttled and suspended nothing: acknowledge it instead');
      }
      const lifted = await queries.liftAlert(db, alert, principalOf(request).clientId, new Date(guard.now()));
      if (!lifted) {
        throw conflict('this alert was lifted already');
      }
      guard.lifted(lifted);
      if (lifted.action === 'suspend' && lifted.client_id) {
        app.clientChanges.changed(lifted.client_id);
      }
      request.auditNote.recordCount = 1;
      return alertJson(lifted);
    },
  );

  app.get(
    '/anomaly/clients/:id',
    {
      config: readAccess('anomaly.baseline.read', 'client'),
      schema: {
        tags: ['security'],
        operationId: 'getClientAnomalyProfile',
        summary: 'What the anomaly guard knows of a client: its baseline, this hour, and the current window',
        params: IdParams,
        response: { 200: ClientBaselineSchema, ...problems(400, 404, 409) },
      },
    },
    async (request) => {
      request.auditNote = { resourceId: request.params.id };
      if (!(await queries.clientExists(db, request.params.id))) {
        throw notFound('client');
      }
      request.auditNote.recordCount = 1;
      return describeClient(guard, request.params.id);
    },
  );
}

/** A client's baseline and current counts as the API shows them (zeros for a client not seen yet). */
function describeClient(guard: AnomalyGuard, clientId: string) {
  const now = guard.now();
  const activity = guard.detector.activityOf(clientId);
  // A client quiet since an earlier hour: that hour belongs to its baseline now.
  activity?.rollTo(hourOf(now));
  const baseline = activity?.baseline;
  const totals = baseline?.totals;
  const window = activity?.windowCounts(now);
  const hour = activity?.hour ?? hourOf(now);
  return {
    client_id: clientId,
    throttled_for_seconds: Math.ceil(guard.throttles.remaining(`client:${clientId}`, now) / 1000),
    baseline: {
      active_hours: baseline?.activeHours ?? 0,
      usual_requests_per_hour: baseline ? round(usualHourly(baseline)) : 0,
      error_share: round(share(totals?.errors ?? 0, totals?.requests ?? 0)),
      miss_share: round(share(totals?.misses ?? 0, totals?.lookups ?? 0)),
      requests_by_hour_of_day: baseline?.hourOfDay ?? Array.from({ length: 24 }, () => 0),
      since: baseline?.firstHour === undefined ? null : new Date(baseline.firstHour).toISOString(),
    },
    current_hour: {
      start: new Date(hour * HOUR_MS).toISOString(),
      ...(activity?.counts ?? { requests: 0, errors: 0, lookups: 0, misses: 0 }),
    },
    window: {
      minutes: guard.thresholds.windowMinutes,
      requests: window?.requests ?? 0,
      errors: window?.errors ?? 0,
      lookups: window?.lookups ?? 0,
      misses: window?.misses ?? 0,
      distinct_keys: window?.distinct ?? 0,
      numbered_lookups: window?.numbered ?? 0,
      walk_steps: window?.steps ?? 0,
    },
  };
}
