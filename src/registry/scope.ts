import { sql, type Expression, type RawBuilder, type SqlBool } from 'kysely';

/**
 * The row policy of the registry: a caller limited to some admin areas (its data sharing agreement,
 * Principal.areaScope) reads only records of households in those areas, and persons and enrollments
 * through their household. Every query that reads registry records for a caller adds one of these
 * conditions, so a record outside the scope is neither returned nor counted.
 */

/** Admin area codes a caller may see; undefined: every area. */
export type AreaScope = readonly string[] | undefined;

/** An admin area and everything below it: codes are hierarchical (R01, R01-D03, R01-D03-V012). */
export const inArea = (column: Expression<string>, code: string): RawBuilder<SqlBool> =>
  sql<SqlBool>`(${column} = ${code} or ${column} like ${`${code.replace(/[\\%_]/g, '\\$&')}-%`})`;

/** Households (alias `alias`) in one of the scope's areas; an empty scope admits none. */
export function householdInScope(alias: string, scope: readonly string[]): RawBuilder<SqlBool> {
  if (scope.length === 0) {
    return sql<SqlBool>`false`;
  }
  const column = sql.ref<string>(`${alias}.admin_area_code`);
  return sql<SqlBool>`(${sql.join(
    scope.map((code) => inArea(column, code)),
    sql` or `,
  )})`;
}

/** Individuals (alias `alias`) whose household is in scope. */
export const individualInScope = (alias: string, scope: readonly string[]): RawBuilder<SqlBool> =>
  sql<SqlBool>`${sql.ref(`${alias}.household_id`)} in (select sh.id from households sh where ${householdInScope('sh', scope)})`;

/** Enrollments (alias `alias`) of a household in scope, or of a person whose household is. */
export const enrollmentInScope = (alias: string, scope: readonly string[]): RawBuilder<SqlBool> =>
  sql<SqlBool>`(${sql.ref(`${alias}.household_id`)} in (select sh.id from households sh where ${householdInScope('sh', scope)})
    or ${sql.ref(`${alias}.individual_id`)} in (select si.id from individuals si where ${individualInScope('si', scope)}))`;
