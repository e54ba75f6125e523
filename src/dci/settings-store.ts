import { sql, type Insertable, type Kysely } from 'kysely';
import type { DB, DciClientSettingsTable } from '#platform/db/types';

/** The columns of a client's DCI settings that one section (callbacks, signature, consent...) writes. */
export type SettingsColumns = Omit<
  Insertable<DciClientSettingsTable>,
  'client_id' | 'updated_by' | 'updated_at'
>;

/**
 * Upserts one section's columns of the client's `dci_client_settings` row: the columns of the other
 * sections keep their values (or their defaults when the row is new).
 */
export async function saveSettingsColumns(
  db: Kysely<DB>,
  clientId: string,
  columns: SettingsColumns,
  updatedBy: string | undefined,
): Promise<void> {
  const values = { ...columns, updated_by: updatedBy ?? null };
  await db
    .insertInto('dci_client_settings')
    .values({ client_id: clientId, ...values })
    .onConflict((oc) => oc.column('client_id').doUpdateSet({ ...values, updated_at: sql`now()` }))
    .execute();
}
