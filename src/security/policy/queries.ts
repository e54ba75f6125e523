import { sql, type Kysely, type Selectable } from 'kysely';
import type { ClientPolicyTable, DB } from '#platform/db/types';
import type { PolicyInput } from './schemas.ts';

/** The SQL of client policies and usage counts, one small query each (STYLE habit 5). */

export type PolicyRow = Selectable<ClientPolicyTable>;

export const findPolicy = (db: Kysely<DB>, clientId: string): Promise<PolicyRow | undefined> =>
  db.selectFrom('client_policies').selectAll().where('client_id', '=', clientId).executeTakeFirst();

/** Replaces the client's policy as a whole (PUT): what the input leaves out no longer restricts. */
export async function savePolicy(
  db: Kysely<DB>,
  clientId: string,
  input: PolicyInput,
  updatedBy: string | undefined,
): Promise<PolicyRow> {
  const values = {
    agreement_ref: input.agreement_ref,
    description: input.description ?? null,
    operations: input.operations ?? null,
    registries: input.registries ?? null,
    hidden_fields: input.hidden_fields ?? [],
    purposes: input.purposes ?? null,
    area_codes: input.area_codes ?? null,
    rate_limit: input.rate_limit ?? null,
    daily_quota: input.daily_quota ?? null,
    valid_from: dateOrNull(input.valid_from),
    valid_until: dateOrNull(input.valid_until),
    updated_by: updatedBy ?? null,
  };
  return db
    .insertInto('client_policies')
    .values({ client_id: clientId, ...values })
    .onConflict((oc) => oc.column('client_id').doUpdateSet({ ...values, updated_at: sql`now()` }))
    .returningAll()
    .executeTakeFirstOrThrow();
}

const dateOrNull = (value: string | undefined) => (value === undefined ? null : new Date(value));

/** Removes the client's policy (back to its role's defaults); false when it had none. */
export async function deletePolicy(db: Kysely<DB>, clientId: string): Promise<boolean> {
  const result = await db.deleteFrom('client_policies').where('client_id', '=', clientId).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/** The codes among these that name no admin area. */
export async function unknownAreas(db: Kysely<DB>, codes: readonly string[]): Promise<string[]> {
  if (codes.length === 0) {
    return [];
  }
  const rows = await db.selectFrom('admin_areas').select('code').where('code', 'in', codes).execute();
  const known = new Set(rows.map((row) => row.code));
  return codes.filter((code) => !known.has(code));
}

export interface UsageCount {
  clientId: string;
  /** UTC day, 'YYYY-MM-DD'. */
  day: string;
  requests: number;
}

/** Adds counted requests in one statement; answers each row's new total (every gateway's requests). */
export async function addUsage(db: Kysely<DB>, counts: readonly UsageCount[]): Promise<UsageCount[]> {
  if (counts.length === 0) {
    return [];
  }
  const rows = await db
    .insertInto('client_usage')
    .values(counts.map((c) => ({ client_id: c.clientId, day: c.day, requests: c.requests })))
    .onConflict((oc) =>
      oc
        .columns(['client_id', 'day'])
        .doUpdateSet({ requests: sql<number>`client_usage.requests + excluded.requests` }),
    )
    .returning(['client_id', 'day', 'requests'])
    .execute();
  return rows.map((row) => ({ clientId: row.client_id, day: row.day, requests: row.requests }));
}

/** Requests of a client on a day, as recorded so far. */
export async function usageOn(db: Kysely<DB>, clientId: string, day: string): Promise<number> {
  const row = await db
    .selectFrom('client_usage')
    .select('requests')
    .where('client_id', '=', clientId)
    .where('day', '=', day)
    .executeTakeFirst();
  return row?.requests ?? 0;
}
