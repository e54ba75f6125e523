import type { Kysely } from 'kysely';
import type { DB } from '#platform/db/types';
import { createClient, createKey } from './clients.ts';

export const FIRST_ADMIN = 'admin';

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
