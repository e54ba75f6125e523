import { sql, type Kysely, type Selectable } from 'kysely';
import type { AnomalyAlertTable, DB } from '#platform/db/types';
import { emptyBaseline, foldHours, HOUR_MS, hourOf, type Baseline } from '../baseline.ts';
import type { HourlyDelta } from '../detector.ts';
import { ruleDefinitions, type Action, type RuleName, type Severity } from '../rules.ts';
import type { ThrottleRow } from '../throttles.ts';

/** The anomaly guard's queries: hourly counts (baselines), alerts, and the client suspension. */

export type AlertRow = Selectable<AnomalyAlertTable>;

const hourDate = (hour: number) => new Date(hour * HOUR_MS);

/** Adds counts to their hours (every gateway adds its own) and answers the totals now stored. */
export async function addHourlyCounts(
  db: Kysely<DB>,
  deltas: readonly HourlyDelta[],
): Promise<HourlyDelta[]> {
  if (deltas.length === 0) {
    return [];
  }
  const rows = await db
    .insertInto('anomaly_hourly')
    .values(deltas.map((d) => ({ client_id: d.clientId, hour: hourDate(d.hour), ...d.counts })))
    .onConflict((oc) =>
      oc.columns(['client_id', 'hour']).doUpdateSet({
        requests: sql`anomaly_hourly.requests + excluded.requests`,
        errors: sql`anomaly_hourly.errors + excluded.errors`,
        lookups: sql`anomaly_hourly.lookups + excluded.lookups`,
        misses: sql`anomaly_hourly.misses + excluded.misses`,
      }),
    )
    .returning(['client_id', 'hour', 'requests', 'errors', 'lookups', 'misses'])
    .execute();
  return rows.map(toDelta);
}

const toDelta = (row: {
  client_id: string;
  hour: Date;
  requests: number;
  errors: number;
  lookups: number;
  misses: number;
}): HourlyDelta => ({
  clientId: row.client_id,
  hour: hourOf(row.hour.getTime()),
  counts: { requests: row.requests, errors: row.errors, lookups: row.lookups, misses: row.misses },
});

/** Every client's baseline over [since, before): summed per hour of the day in SQL, at most 24 rows each. */
export async function readBaselines(
  db: Kysely<DB>,
  since: number,
  before: number,
): Promise<Map<string, Baseline>> {
  const rows = await db
    .selectFrom('anomaly_hourly')
    .select([
      'client_id',
      sql<number>`count(*)::int`.as('hours'),
      sql<number>`sum(requests)::int`.as('requests'),
      sql<number>`sum(errors)::int`.as('errors'),
      sql<number>`sum(lookups)::int`.as('lookups'),
      sql<number>`sum(misses)::int`.as('misses'),
      sql<Date>`min(hour)`.as('first_hour'),
    ])
    .where('hour', '>=', hourDate(since))
    .where('hour', '<', hourDate(before))
    .where('requests', '>', 0)
    .groupBy(['client_id', sql`extract(hour from hour at time zone 'UTC')`])
    .execute();
  const baselines = new Map<string, Baseline>();
  for (const row of rows) {
    const baseline = baselines.get(row.client_id) ?? emptyBaseline();
    baselines.set(row.client_id, baseline);
    const { hours, first_hour, client_id: _id, ...counts } = row;
    foldHours(baseline, hourOf(new Date(first_hour).getTime()), hours, counts);
  }
  return baselines;
}

/** The stored counts of one hour, every client. */
export async function readHour(db: Kysely<DB>, hour: number): Promise<HourlyDelta[]> {
  const rows = await db
    .selectFrom('anomaly_hourly')
    .select(['client_id', 'hour', 'requests', 'errors', 'lookups', 'misses'])
    .where('hour', '=', hourDate(hour))
    .execute();
  return rows.map(toDelta);
}

export async function deleteHourlyBefore(db: Kysely<DB>, hour: number): Promise<void> {
  await db.deleteFrom('anomaly_hourly').where('hour', '<', hourDate(hour)).execute();
}

export interface NewAlert {
  clientId?: string | undefined;
  source?: string | undefined;
  rule: RuleName;
  severity: Severity;
  action: Action;
  evidence: Record<string, number>;
  throttledUntil?: Date | undefined;
  at: Date;
}

export const insertAlert = (db: Kysely<DB>, alert: NewAlert): Promise<AlertRow> =>
  db
    .insertInto('anomaly_alerts')
    .values({
      client_id: alert.clientId ?? null,
      source: alert.source ?? null,
      rule: alert.rule,
      severity: alert.severity,
      action: alert.action,
      evidence: JSON.stringify(alert.evidence),
      throttled_until: alert.throttledUntil ?? null,
      created_at: alert.at,
    })
    .returningAll()
    .executeTakeFirstOrThrow();

/** The subject a throttle of this alert applies to (throttles.ts). */
export const subjectOf = (alert: Pick<AlertRow, 'client_id' | 'source'>): string =>
  alert.client_id ? `client:${alert.client_id}` : alert.source!;

/** Throttle alerts created since a time: the throttles that may still run and the strikes that still count. */
export async function readThrottles(db: Kysely<DB>, since: Date): Promise<ThrottleRow[]> {
  const rows = await db
    .selectFrom('anomaly_alerts')
    .select(['id', 'client_id', 'source', 'rule', 'created_at', 'throttled_until', 'lifted_at'])
    .where('action', '=', 'throttle')
    .where('created_at', '>=', since)
    .orderBy('seq')
    .execute();
  return rows.map((row) => ({
    ...row,
    subject: subjectOf(row),
    escalates: ruleDefinitions[row.rule as RuleName]?.response === 'escalate',
  }));
}

export interface AlertFilter {
  clientId?: string | undefined;
  rule?: string | undefined;
  status?: 'open' | 'acknowledged' | undefined;
  beforeSeq?: number | undefined;
  limit: number;
}

/** Alerts, newest first (keyset on seq). */
export async function listAlerts(db: Kysely<DB>, filter: AlertFilter): Promise<AlertRow[]> {
  let query = db.selectFrom('anomaly_alerts').selectAll();
  if (filter.clientId) {
    query = query.where('client_id', '=', filter.clientId);
  }
  if (filter.rule) {
    query = query.where('rule', '=', filter.rule);
  }
  if (filter.status) {
    query = query.where('acknowledged_at', filter.status === 'open' ? 'is' : 'is not', null);
  }
  if (filter.beforeSeq !== undefined) {
    query = query.where('seq', '<', filter.beforeSeq);
  }
  return query
    .orderBy('seq', 'desc')
    .limit(filter.limit + 1)
    .execute();
}

export const findAlert = (db: Kysely<DB>, id: string): Promise<AlertRow | undefined> =>
  db.selectFrom('anomaly_alerts').selectAll().where('id', '=', id).executeTakeFirst();

/** Acknowledges an alert; the first acknowledgement is kept. */
export const acknowledgeAlert = (
  db: Kysely<DB>,
  id: string,
  by: string,
  at: Date,
): Promise<AlertRow | undefined> =>
  db
    .updateTable('anomaly_alerts')
    .set((eb) => ({
      acknowledged_at: eb.fn.coalesce('acknowledged_at', eb.val(at)),
      acknowledged_by: eb.fn.coalesce('acknowledged_by', eb.val(by)),
    }))
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();

/**
 * Lifts what an alert did (acknowledging it too), in one transaction: a suspension's client is
 * enabled again. Answers undefined when the alert was lifted already (by someone else meanwhile).
 */
export async function liftAlert(
  db: Kysely<DB>,
  alert: AlertRow,
  by: string,
  at: Date,
): Promise<AlertRow | undefined> {
  return db.transaction().execute(async (trx) => {
    const lifted = await trx
      .updateTable('anomaly_alerts')
      .set((eb) => ({
        lifted_at: at,
        lifted_by: by,
        acknowledged_at: eb.fn.coalesce('acknowledged_at', eb.val(at)),
        acknowledged_by: eb.fn.coalesce('acknowledged_by', eb.val(by)),
      }))
      .where('id', '=', alert.id)
      .where('lifted_at', 'is', null)
      .returningAll()
      .executeTakeFirst();
    if (lifted && alert.action === 'suspend' && alert.client_id) {
      await trx
        .updateTable('api_clients')
        .set({ disabled_at: null })
        .where('id', '=', alert.client_id)
        .execute();
      // The client is forgiven: its earlier throttles no longer count towards a suspension, on
      // any gateway (each reads lifted throttles back and drops their strikes).
      await trx
        .updateTable('anomaly_alerts')
        .set({ lifted_at: at, lifted_by: by })
        .where('client_id', '=', alert.client_id)
        .where('action', '=', 'throttle')
        .where('lifted_at', 'is', null)
        .execute();
    }
    return lifted;
  });
}

/** Disables a client (every credential stops); false when it was disabled already. */
export async function suspendClient(db: Kysely<DB>, clientId: string, at: Date): Promise<boolean> {
  const row = await db
    .updateTable('api_clients')
    .set({ disabled_at: at })
    .where('id', '=', clientId)
    .where('disabled_at', 'is', null)
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

export const clientExists = async (db: Kysely<DB>, id: string): Promise<boolean> =>
  (await db.selectFrom('api_clients').select('id').where('id', '=', id).executeTakeFirst()) !== undefined;
