import { randomUUID } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import { Cron } from 'croner';
import type { Kysely, Selectable } from 'kysely';
import { isUniqueViolation } from '#platform/db/errors';
import type { DB, ExportDefinitionTable } from '#platform/db/types';
import { badRequest, conflict, type FieldError } from '#platform/problem';
import { StringEnum } from '#platform/http/kit';
import { EXPORT_ENTITIES, fieldNames } from './fields.ts';
import { EXPORT_FORMATS, FORMATS } from './formats/index.ts';
import { LegalBasis, Purpose } from './statement.ts';

/**
 * Export definitions: what to export (entity, fields, filter), in which format, and how (members
 * nested, identifiers pseudonymised, direct identifiers dropped, on a schedule). Saved by name;
 * saving a name again adds a version.
 */

const NAME = '^[a-z0-9][a-z0-9_-]{0,79}$';

const Name = Type.String({ pattern: NAME, description: 'Lower-case name: letters, digits, - and _' });

const definitionFields = {
  description: Type.Optional(Type.String({ maxLength: 500 })),
  entity: StringEnum(EXPORT_ENTITIES, {
    description:
      'households, individuals, or household_members (one row per member with its household fields, prefixed household_)',
  }),
  fields: Type.Array(Type.String({ maxLength: 80 }), {
    minItems: 1,
    maxItems: 100,
    description: 'Field names of the entity (GET /api/v1/export-fields), in column order',
  }),
  filter: Type.Optional(
    Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()], {
      description:
        'The DCI expression query (e.g. {"admin_area_code": "R01-D03", "pmt_score": {"$lt": 30}}); on households ' +
        'for households and household_members, on persons for individuals',
    }),
  ),
  format: StringEnum(EXPORT_FORMATS),
  include_members: Type.Optional(
    Type.Boolean({
      description: 'households only, in json, ndjson and xml: each household with its members',
    }),
  ),
  pseudonymise: Type.Optional(
    Type.Boolean({
      description:
        'Identifiers (ids, household numbers, identifier values) replaced by a keyed hash per recipient',
    }),
  ),
  drop_direct_identifiers: Type.Optional(
    Type.Boolean({
      description: 'Names, contacts, addresses, coordinates, birth dates and identifiers left out',
    }),
  ),
  schedule: Type.Optional(
    Type.Union([Type.String({ maxLength: 100 }), Type.Null()], {
      description:
        'Cron expression (e.g. "0 2 * * 1": Mondays at 02:00 UTC): the export runs as a job on this schedule, for ' +
        'the client that saved this version, which downloads the files (GET /api/v1/export-definitions/{name}/files)',
    }),
  ),
  schedule_purpose: Type.Optional(Type.Union([Purpose, Type.Null()])),
  schedule_legal_basis: Type.Optional(Type.Union([LegalBasis, Type.Null()])),
};

/** A new definition (POST). */
export const DefinitionInput = Type.Object(
  { name: Name, ...definitionFields },
  { additionalProperties: false },
);
export type DefinitionInput = Static<typeof DefinitionInput>;

/** A new version (PUT .../{name}): the name is the path's; the body may repeat it. */
export const VersionInput = Type.Object(
  { name: Type.Optional(Name), ...definitionFields },
  { additionalProperties: false },
);
export type VersionInput = Static<typeof VersionInput>;

export type DefinitionRow = Selectable<ExportDefinitionTable>;

/** Checks what the schema cannot: fields of the entity, format options, schedule. */
export function checkDefinition(input: DefinitionInput): void {
  const entity = input.entity;
  const known = new Set(fieldNames(entity));
  const errors: FieldError[] = [];
  const seen = new Set<string>();
  input.fields.forEach((field, i) => {
    if (!known.has(field)) {
      errors.push({ pointer: `/fields/${i}`, detail: `unknown field "${field}" of ${entity}` });
    } else if (seen.has(field)) {
      errors.push({ pointer: `/fields/${i}`, detail: `"${field}" is listed twice` });
    }
    seen.add(field);
  });
  if (input.include_members && !(entity === 'households' && FORMATS[input.format].nests)) {
    errors.push({
      pointer: '/include_members',
      detail:
        'members are nested only in households exports in json, ndjson or xml; use entity household_members',
    });
  }
  if (input.schedule) {
    try {
      new Cron(input.schedule, { paused: true, timezone: 'UTC' }).stop();
    } catch (error) {
      errors.push({ pointer: '/schedule', detail: `not a cron expression: ${(error as Error).message}` });
    }
    for (const stated of ['schedule_purpose', 'schedule_legal_basis'] as const) {
      if (!input[stated]) {
        errors.push({
          pointer: `/${stated}`,
          detail: 'a scheduled export states the purpose and legal basis of its runs',
        });
      }
    }
  }
  if (errors.length > 0) {
    const unknown = errors.some((e) => e.detail.startsWith('unknown field'));
    throw badRequest(
      unknown ? `invalid definition; fields of ${entity}: ${[...known].join(', ')}` : 'invalid definition',
      errors,
    );
  }
}

/** Versions in use once saved, or once approved (not one waiting for approval, nor a rejected one). */
export const USABLE = ['not_needed', 'approved'] as const;

/** The current version of each name: its highest usable version. */
function currentVersions(db: Kysely<DB>) {
  return db
    .selectFrom('export_definitions as d')
    .selectAll('d')
    .where('d.archived_at', 'is', null)
    .where(({ eb, selectFrom }) =>
      eb(
        'd.version',
        '=',
        selectFrom('export_definitions as v')
          .select((v) => v.fn.max('v.version').as('max'))
          .whereRef('v.name', '=', 'd.name')
          .where('v.approval', 'in', USABLE),
      ),
    );
}

export const listDefinitions = (db: Kysely<DB>): Promise<DefinitionRow[]> =>
  currentVersions(db).orderBy('d.name').execute();

/**
 * A definition to export: its current version, or the usable version asked for (archived names,
 * versions waiting for approval and rejected ones: none).
 */
export async function findDefinition(
  db: Kysely<DB>,
  name: string,
  version?: number,
): Promise<DefinitionRow | undefined> {
  if (version === undefined) {
    return currentVersions(db).where('d.name', '=', name).executeTakeFirst();
  }
  const row = await findVersion(db, name, version);
  return row && (USABLE as readonly string[]).includes(row.approval) ? row : undefined;
}

/** Any saved version of a name (one waiting for approval included), unless the name was archived. */
export const findVersion = (
  db: Kysely<DB>,
  name: string,
  version: number,
): Promise<DefinitionRow | undefined> =>
  db
    .selectFrom('export_definitions')
    .selectAll()
    .where('name', '=', name)
    .where('version', '=', version)
    .where('archived_at', 'is', null)
    .executeTakeFirst();

export const definitionVersions = (db: Kysely<DB>, name: string): Promise<DefinitionRow[]> =>
  db
    .selectFrom('export_definitions')
    .selectAll()
    .where('name', '=', name)
    .where('archived_at', 'is', null)
    .orderBy('version', 'desc')
    .execute();

export const findDefinitionById = (db: Kysely<DB>, id: string): Promise<DefinitionRow | undefined> =>
  db.selectFrom('export_definitions').selectAll().where('id', '=', id).executeTakeFirst();

/** The highest version of a name, whatever its state (archived included). */
export const latestVersion = (db: Kysely<DB>, name: string): Promise<DefinitionRow | undefined> =>
  db
    .selectFrom('export_definitions')
    .selectAll()
    .where('name', '=', name)
    .orderBy('version', 'desc')
    .limit(1)
    .executeTakeFirst();

/** What a saved version records besides its input. */
export interface VersionRecord {
  version: number;
  createdBy: string | undefined;
  ownerId: string | null;
  privacyWeakened?: string[];
  approval?: 'not_needed' | 'pending';
}

/**
 * Inserts a version. Two saves racing for the same version, or two versions waiting for approval
 * at once: the unique indexes refuse the second.
 */
export async function insertVersion(
  db: Kysely<DB>,
  input: DefinitionInput,
  record: VersionRecord,
): Promise<DefinitionRow> {
  try {
    return await db
      .insertInto('export_definitions')
      .values({
        id: randomUUID(),
        name: input.name,
        version: record.version,
        description: input.description ?? null,
        entity: input.entity,
        fields: input.fields,
        filter: input.filter ? JSON.stringify(input.filter) : null,
        format: input.format,
        include_members: input.include_members ?? false,
        pseudonymise: input.pseudonymise ?? false,
        drop_direct_identifiers: input.drop_direct_identifiers ?? false,
        schedule: input.schedule ?? null,
        schedule_purpose: input.schedule ? (input.schedule_purpose ?? null) : null,
        schedule_legal_basis: input.schedule ? (input.schedule_legal_basis ?? null) : null,
        created_by: record.createdBy ?? null,
        owner_id: record.ownerId,
        privacy_weakened: record.privacyWeakened ?? [],
        approval: record.approval ?? 'not_needed',
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  } catch (error) {
    if (isUniqueViolation(error)) {
      throw conflict(`export definition "${input.name}" was saved by someone else meanwhile; try again`);
    }
    throw error;
  }
}

/**
 * Saves version 1 of a new name, owned by the client that saves it (none when saved outside the
 * API: then only holders of exports:admin may change it).
 */
export async function createDefinition(
  db: Kysely<DB>,
  input: DefinitionInput,
  createdBy: string | undefined,
): Promise<DefinitionRow> {
  const latest = await latestVersion(db, input.name);
  if (latest) {
    throw conflict(
      latest.archived_at
        ? `export definition "${input.name}" was archived; choose another name`
        : `export definition "${input.name}" exists; PUT /api/v1/export-definitions/${input.name} saves a new version`,
    );
  }
  return insertVersion(db, input, { version: 1, createdBy, ownerId: createdBy ?? null });
}

/** Archives every version of a name; false when there is none to archive. */
export async function archiveDefinition(db: Kysely<DB>, name: string): Promise<boolean> {
  const result = await db
    .updateTable('export_definitions')
    .set({ archived_at: new Date() })
    .where('name', '=', name)
    .where('archived_at', 'is', null)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** Records the decision on a version waiting for approval; undefined when it no longer waits. */
export const decideVersion = (
  db: Kysely<DB>,
  id: string,
  decision: { approve: boolean; reason: string },
  by: string,
): Promise<DefinitionRow | undefined> =>
  db
    .updateTable('export_definitions')
    .set({
      approval: decision.approve ? 'approved' : 'rejected',
      decided_by: by,
      decided_at: new Date(),
      decision_reason: decision.reason,
    })
    .where('id', '=', id)
    .where('approval', '=', 'pending')
    .returningAll()
    .executeTakeFirst();

/** A definition as the API shows it. */
export const definitionView = (row: DefinitionRow) => ({
  id: row.id,
  name: row.name,
  version: row.version,
  description: row.description,
  entity: row.entity,
  fields: row.fields,
  filter: (row.filter ?? null) as Record<string, unknown> | null,
  format: row.format,
  include_members: row.include_members,
  pseudonymise: row.pseudonymise,
  drop_direct_identifiers: row.drop_direct_identifiers,
  schedule: row.schedule,
  schedule_purpose: row.schedule_purpose,
  schedule_legal_basis: row.schedule_legal_basis,
  owner_id: row.owner_id,
  created_by: row.created_by,
  created_at: row.created_at.toISOString(),
  privacy_weakened: row.privacy_weakened,
  approval: row.approval,
  decided_by: row.decided_by,
  decided_at: row.decided_at?.toISOString() ?? null,
  decision_reason: row.decision_reason,
});
