import type { Insertable, Kysely, Selectable, Updateable } from 'kysely';
import type { DB, OdkCentralSourceTable } from '#platform/db/types';

/** The queries of the ODK Central source API (routes.ts), one query each. */

export type SourceRow = Selectable<OdkCentralSourceTable>;

export const findSourceByName = (db: Kysely<DB>, name: string): Promise<SourceRow | undefined> =>
  db.selectFrom('odk_central_sources').selectAll().where('name', '=', name).executeTakeFirst();

export const listSources = (db: Kysely<DB>): Promise<SourceRow[]> =>
  db.selectFrom('odk_central_sources').selectAll().orderBy('name').execute();

/** Saves a new source; undefined when one of that name exists. */
export const insertSource = (
  db: Kysely<DB>,
  source: Insertable<OdkCentralSourceTable>,
): Promise<SourceRow | undefined> =>
  db
    .insertInto('odk_central_sources')
    .values(source)
    .onConflict((oc) => oc.column('name').doNothing())
    .returningAll()
    .executeTakeFirst();

export const updateSource = (
  db: Kysely<DB>,
  id: string,
  change: Updateable<OdkCentralSourceTable>,
): Promise<SourceRow> =>
  db
    .updateTable('odk_central_sources')
    .set(change)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();

export async function deleteSource(db: Kysely<DB>, id: string): Promise<void> {
  await db.deleteFrom('odk_central_sources').where('id', '=', id).execute();
}
