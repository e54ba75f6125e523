import type { Kysely } from 'kysely';
import { findClient } from '#platform/auth/clients';
import { principalFor, type Principal } from '#platform/auth/principal';
import { isRole, roleDefinitions } from '#platform/auth/roles';
import type { DB } from '#platform/db/types';
import { principalUnderPolicy } from '#security/policy/enforce';

/**
 * The principal an export is made for when no request carries a credential (a scheduled run, the
 * CLI's `--recipient`): the client as it stands now, with its role's permissions, under its data
 * sharing agreement. A disabled client, or one whose agreement is not in force, gets nothing.
 */
export async function recipientOf(
  db: Kysely<DB>,
  client: string,
): Promise<{ principal: Principal } | { refused: string }> {
  const row = await findClient(db, client).catch(() => undefined);
  const role = row?.role ?? '';
  if (!row || row.disabled_at || !isRole(role)) {
    return { refused: `no enabled client "${client}"` };
  }
  const principal = principalFor(
    { id: row.id, name: row.name, role },
    { id: 'export', scopes: [...roleDefinitions[role].permissions] },
  );
  const underPolicy = await principalUnderPolicy(db, principal);
  return underPolicy
    ? { principal: underPolicy }
    : { refused: `the data sharing agreement of "${client}" is not in force` };
}
