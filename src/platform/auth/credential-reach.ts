import type { Kysely } from 'kysely';
import type { DB } from '#platform/db/types';
import { forbidden } from '#platform/problem';
import type { Principal } from './principal.ts';
import { FIELD_CLASSES, roleDefinitions, type FieldClass, type Permission, type Role } from './roles.ts';

/**
 * A caller never attaches a credential wider than its own (immich's rule, generalised after a key
 * holding only `clients:manage` registered a client certificate to an admin client and read the audit
 * trail through it). Every route that attaches a credential to a client goes through
 * `assertMayAttach`: API keys, OAuth client secrets, private_key_jwt keys and JWKS URLs, identity
 * provider links, client certificates, DCI signing and encryption keys and the DCI JWKS URL. A change
 * of a client's data sharing agreement goes through `assertNotWider` too, since it widens what the
 * client's credentials already reach.
 */

/** What a credential reaches: the permissions it grants and the records and fields it shows. */
export interface Reach {
  permissions: readonly Permission[];
  /** Absent: no record at all (a client being created holds no credential yet). */
  records?: { hiddenFields: ReadonlySet<FieldClass>; areaScope: readonly string[] | undefined };
}

/** An admin area code covers itself and the areas below it (R01 covers R01-D03). */
const covers = (scope: readonly string[], code: string) =>
  scope.some((area) => code === area || code.startsWith(`${area}-`));

/** What the reach holds beyond the caller, in words; empty when it lies within the caller's own. */
function excessOf(caller: Principal, reach: Reach): string[] {
  const excess: string[] = [];
  const permissions = reach.permissions.filter((p) => !caller.scopes.has(p));
  if (permissions.length > 0) {
    excess.push(`grant ${permissions.join(', ')}, which your key does not hold`);
  }
  if (!reach.records) {
    return excess;
  }
  const { hiddenFields, areaScope } = reach.records;
  const fields = [...caller.hiddenFields].filter((c) => !hiddenFields.has(c));
  if (fields.length > 0) {
    excess.push(`show the field classes ${fields.join(', ')}, which are hidden from you`);
  }
  const callerAreas = caller.areaScope;
  if (callerAreas && (!areaScope || !areaScope.every((code) => covers(callerAreas, code)))) {
    excess.push(`reach admin areas outside yours (${callerAreas.join(', ')})`);
  }
  return excess;
}

/** 403 when the reach goes beyond the caller's own; no caller: the spx CLI, which acts on the database. */
export function assertNotWider(caller: Principal | undefined, reach: Reach, what: string): void {
  const excess = caller ? excessOf(caller, reach) : [];
  if (excess.length > 0) {
    throw forbidden(`cannot ${what}: it would ${excess.join('; ')}`);
  }
}

/** The records and fields a client's credentials show: its role's fields, narrowed by its agreement. */
export async function recordsOf(db: Kysely<DB>, client: { id: string; role: Role }) {
  const policy = await db
    .selectFrom('client_policies')
    .select(['hidden_fields', 'area_codes'])
    .where('client_id', '=', client.id)
    .executeTakeFirst();
  return recordsUnder(client.role, policy);
}

/** The records and fields of a role under an agreement's hidden fields and areas (none: the role's). */
export const recordsUnder = (
  role: Role,
  policy: { hidden_fields: readonly string[]; area_codes: readonly string[] | null } | undefined,
): NonNullable<Reach['records']> => ({
  hiddenFields: new Set<FieldClass>([
    ...roleDefinitions[role].hiddenFields,
    ...FIELD_CLASSES.filter((c) => policy?.hidden_fields.includes(c)),
  ]),
  areaScope: policy?.area_codes ?? undefined,
});

/**
 * The rule of every credential attached to a client: it grants `permissions` (its scopes; the whole
 * role for a credential without scopes, such as a certificate) and shows what the client's role and
 * agreement show. 403, naming what is beyond the caller, when that is wider than the caller's own.
 */
export async function assertMayAttach(
  db: Kysely<DB>,
  caller: Principal | undefined,
  client: { id: string; role: Role },
  what: string,
  permissions: readonly Permission[] = roleDefinitions[client.role].permissions,
): Promise<void> {
  if (caller) {
    assertNotWider(caller, { permissions, records: await recordsOf(db, client) }, what);
  }
}
