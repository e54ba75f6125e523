import { sql, type Kysely } from 'kysely';
import type { DB } from '#platform/db/types';
import { householdInScope, type AreaScope } from '#registry/scope';

/**
 * The program-level view for program managers (IBR-030): a program's beneficiaries counted by
 * status and by admin area (at the level asked for), within the caller's area scope. The area of an
 * individual beneficiary is their household's.
 */

export const findProgram = (db: Kysely<DB>, code: string) =>
  db
    .selectFrom('programs')
    .select(['id', 'code', 'name', 'benefit_type', 'target_unit', 'benefit_frequency', 'active'])
    .where('code', '=', code)
    .executeTakeFirst();

export async function programCounts(db: Kysely<DB>, programId: string, level: number, scope: AreaScope) {
  const area = sql<string>`array_to_string((string_to_array(h.admin_area_code, '-'))[1:${level}], '-')`;
  const { rows } = await sql<{ area: string; status: string; count: number; amount: number | null }>`
    select ${area} as area, e.status, count(*)::int as count, sum(e.benefit_amount)::float8 as amount
    from enrollments e
    left join individuals i on i.id = e.individual_id
    join households h on h.id = coalesce(e.household_id, i.household_id)
    where e.program_id = ${programId} ${scope ? sql`and ${householdInScope('h', scope)}` : sql``}
    group by 1, 2 order by 1, 2`.execute(db);
  const byStatus: Record<string, number> = {};
  for (const row of rows) {
    byStatus[row.status] = (byStatus[row.status] ?? 0) + row.count;
  }
  return {
    total: rows.reduce((sum, row) => sum + row.count, 0),
    by_status: byStatus,
    by_area: rows.map((row) => ({
      admin_area_code: row.area,
      status: row.status,
      beneficiaries: row.count,
      benefit_amount: row.amount,
    })),
  };
}
