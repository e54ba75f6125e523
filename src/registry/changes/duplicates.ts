import { sql, type Kysely } from 'kysely';
import type { DB } from '#platform/db/types';
import type { Issue } from './model.ts';
import type { Checked } from './validate.ts';

/**
 * Duplicate checks of a change's members against the registry: the same identifier (national ID or
 * any type) held by another person, or the same person by name and birth date in a household of
 * the same area. Each is a `review` issue naming the existing record: a reviewer decides whether
 * it is the same person. Two indexed queries for the whole change (identifiers_lookup,
 * individuals_name_birth).
 */
export async function findDuplicates(
  db: Kysely<DB>,
  checked: Checked,
  area: string | undefined,
): Promise<Issue[]> {
  const issues: Issue[] = [];
  const own = (n: number) => checked.members[n]!.person_id;
  const identifiers = checked.members.flatMap((member, n) =>
    member.identifiers.map((identifier, k) => ({ ...identifier, n, k })),
  );
  if (identifiers.length > 0) {
    const held = await db
      .selectFrom('identifiers')
      .select(['individual_id', 'id_type', 'id_value'])
      .where((eb) =>
        eb.or(identifiers.map((x) => eb.and([eb('id_type', '=', x.type), eb('id_value', '=', x.value)]))),
      )
      .execute();
    for (const x of identifiers) {
      for (const row of held.filter(
        (r) => r.id_type === x.type && r.id_value === x.value && r.individual_id !== own(x.n),
      )) {
        issues.push({
          code: 'duplicate_identifier',
          severity: 'review',
          pointer: `/members/${x.n}/identifiers/${x.k}`,
          detail: `${x.type} ${x.value} is already held by person ${row.individual_id}`,
          record_id: row.individual_id,
        });
      }
    }
  }
  const named = checked.members.flatMap((member, n) =>
    member.family_name && member.given_name && member.birth_date ? [{ member, n }] : [],
  );
  if (named.length > 0 && area) {
    const same = await db
      .selectFrom('individuals as i')
      .innerJoin('households as h', 'h.id', 'i.household_id')
      .select([
        'i.id',
        sql<string>`lower(i.family_name)`.as('family'),
        sql<string>`lower(i.given_name)`.as('given'),
        sql<string>`i.birth_date::text`.as('born'),
      ])
      .where((eb) =>
        eb.or(
          named.map(({ member }) =>
            eb.and([
              eb(sql`lower(i.family_name)`, '=', member.family_name!.toLowerCase()),
              eb('i.birth_date', '=', member.birth_date!),
            ]),
          ),
        ),
      )
      .where('h.admin_area_code', '=', area)
      .execute();
    for (const { member, n } of named) {
      for (const row of same) {
        const isSame =
          row.family === member.family_name!.toLowerCase() &&
          row.given === member.given_name!.toLowerCase() &&
          row.born === member.birth_date;
        if (isSame && row.id !== member.person_id) {
          issues.push({
            code: 'possible_duplicate',
            severity: 'review',
            pointer: `/members/${n}`,
            detail: `a person with the same name and birth date lives in ${area}: ${row.id}`,
            record_id: row.id,
          });
        }
      }
    }
  }
  return issues;
}
