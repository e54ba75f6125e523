import type { Kysely } from 'kysely';
import type { DB } from '#platform/db/types';
import { createClient, createKey, listClients } from './clients.ts';

export const FIRST_ADMIN = 'admin';

/** The client of the `spx` command on the gateway's own machine (see src/cli/local-gateway.ts). */
export const LOCAL_ADMIN = 'spx-local-admin';

/**
 * On the first start there is no way in: create the first admin client and return its key, to be
 * printed once. Returns undefined when an admin client already exists (the key is not recoverable;
 * make another with `spx keys create`).
 */
export async function bootstrapFirstAdmin(
  db: Kysely<DB>,
  expiresInDays: number,
): Promise<string | undefined> {
  const existing = await db
    .selectFrom('api_clients')
    .select('id')
    .where('role', '=', 'admin')
    .where('name', '!=', LOCAL_ADMIN)
    .executeTakeFirst();
  if (existing) {
    return undefined;
  }
  const client = await createClient(db, {
    name: FIRST_ADMIN,
    role: 'admin',
    description: 'First administrator, created on the first start',
  });
  return (await createKey(db, client, { expiresInDays })).key;
}

/**
 * A new key for the `spx` command beside the running gateway; the keys of earlier starts are revoked
 * first. An administrator's key: spx acts for the operator, who could open the database itself with
 * the gateway stopped. Undefined when an administrator disabled the client (no local access).
 */
export async function rotateLocalAdminKey(
  db: Kysely<DB>,
  expiresInDays: number,
): Promise<string | undefined> {
  await revokeLocalAdminKeys(db);
  const client =
    (await listClients(db)).find((c) => c.name === LOCAL_ADMIN) ??
    (await createClient(db, {
      name: LOCAL_ADMIN,
      role: 'admin',
      description: "The spx command on the gateway's machine: a new key at each start (SPX_DATA_DIR)",
    }));
  if (client.role !== 'admin') {
    throw new Error(
      `a client named "${LOCAL_ADMIN}" exists with role ${client.role}: the gateway keeps that name`,
    );
  }
  return client.disabled_at ? undefined : (await createKey(db, client, { expiresInDays })).key;
}

/** Revokes every key of the local client (at shutdown: nothing is left to steal from the note). */
export async function revokeLocalAdminKeys(db: Kysely<DB>): Promise<void> {
  await db
    .updateTable('api_keys')
    .set((eb) => ({ revoked_at: eb.fn<Date>('now', []) }))
    .where('revoked_at', 'is', null)
    .where('client_id', 'in', (eb) =>
      eb.selectFrom('api_clients').select('id').where('name', '=', LOCAL_ADMIN),
    )
    .execute();
}
