import { readFileSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import { Value } from '@sinclair/typebox/value';
import type { Kysely } from 'kysely';
import type { DB } from '#platform/db/types';
import { badRequest, conflict } from '#platform/problem';
import { mappingProblems, MappingSchema, type Mapping } from './mapping.ts';
import { md5Hash, readXForm, XmlError, type FormFacts } from './xform.ts';

/**
 * The XForms offered to ODK Collect and their mappings. The household registration form ships with
 * the product (src/odk/shipped/) and is installed with its mapping on first start; admins upload
 * their own forms and mappings. A form id may hold several versions: Collect is offered the newest
 * active one, and submissions of older versions are still read by their own version's XML.
 */

const SHIPPED = new URL('./shipped/', import.meta.url);
export const shippedFormXml = (): string =>
  readFileSync(new URL('household_registration.xml', SHIPPED), 'utf8');
const shippedMapping = (): Mapping =>
  JSON.parse(readFileSync(new URL('household_registration.mapping.json', SHIPPED), 'utf8')) as Mapping;

export interface FormRow {
  form_id: string;
  version: string;
  title: string;
  xml: string;
  hash: string;
  active: boolean;
  created_at: Date;
}

/** Reads an XForm, answering 400 with what is wrong. */
export function checkedXForm(xml: string): FormFacts {
  try {
    return readXForm(xml);
  } catch (error) {
    if (error instanceof XmlError) {
      throw badRequest(`not a valid XForm: ${error.message}`);
    }
    throw error;
  }
}

/** Stores a form version; the same XML again is a no-op, other XML under an existing version 409. */
export async function saveForm(
  db: Kysely<DB>,
  xml: string,
  by: string,
): Promise<{ facts: FormFacts; created: boolean }> {
  const facts = checkedXForm(xml);
  const hash = md5Hash(xml);
  const inserted = await db
    .insertInto('odk_forms')
    .values({ form_id: facts.formId, version: facts.version, title: facts.title, xml, hash, created_by: by })
    .onConflict((oc) => oc.columns(['form_id', 'version']).doNothing())
    .returning('form_id')
    .executeTakeFirst();
  if (!inserted) {
    const existing = await findForm(db, facts.formId, facts.version);
    if (existing?.hash !== hash) {
      throw conflict(
        `form ${facts.formId} version ${facts.version || '(none)'} exists with other content: give the new form a new version`,
      );
    }
  }
  return { facts, created: inserted !== undefined };
}

export const findForm = (db: Kysely<DB>, formId: string, version?: string): Promise<FormRow | undefined> => {
  let query = db.selectFrom('odk_forms').selectAll().where('form_id', '=', formId);
  query =
    version === undefined
      ? query.where('active', '=', true).orderBy('created_at', 'desc')
      : query.where('version', '=', version);
  return query.limit(1).executeTakeFirst();
};

/** The newest active version of every form (what ODK Collect is offered). */
export const listCurrentForms = (db: Kysely<DB>): Promise<FormRow[]> =>
  db
    .selectFrom('odk_forms as f')
    .selectAll('f')
    .where('f.active', '=', true)
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('odk_forms as g')
            .select('g.form_id')
            .whereRef('g.form_id', '=', 'f.form_id')
            .where('g.active', '=', true)
            .whereRef('g.created_at', '>', 'f.created_at'),
        ),
      ),
    )
    .orderBy('f.form_id')
    .execute();

export interface MappingRow {
  form_id: string;
  version: number;
  mapping: Mapping;
  review_mode: 'auto' | 'review';
  created_by: string;
  created_at: Date;
}

export const currentMapping = async (db: Kysely<DB>, formId: string): Promise<MappingRow | undefined> =>
  (await db
    .selectFrom('odk_form_mappings')
    .selectAll()
    .where('form_id', '=', formId)
    .orderBy('version', 'desc')
    .limit(1)
    .executeTakeFirst()) as MappingRow | undefined;

/** Saves a new mapping version after checking it names only fields of the form's current version. */
export async function saveMapping(
  db: Kysely<DB>,
  formId: string,
  mapping: unknown,
  reviewMode: 'auto' | 'review',
  by: string,
): Promise<MappingRow> {
  const form = await findForm(db, formId);
  if (!form) {
    throw badRequest(`no form ${formId}: upload the form first`);
  }
  if (!Value.Check(MappingSchema, mapping)) {
    const first = Value.Errors(MappingSchema, mapping).First();
    throw badRequest(`the mapping is not valid: ${first?.path || '/'} ${first?.message ?? ''}`.trim());
  }
  const problems = mappingProblems(mapping, readXForm(form.xml));
  if (problems.length > 0) {
    throw badRequest(`the mapping does not fit form ${formId}: ${problems.join('; ')}`);
  }
  const last = await currentMapping(db, formId);
  return (await db
    .insertInto('odk_form_mappings')
    .values({
      form_id: formId,
      version: (last?.version ?? 0) + 1,
      mapping: JSON.stringify(mapping),
      review_mode: reviewMode,
      created_by: by,
    })
    .returningAll()
    .executeTakeFirstOrThrow()) as MappingRow;
}

const SHIPPED_BY = 'sp-exchange';

/**
 * Installs the shipped household registration form (each new version of it) and its mapping. The
 * shipped mapping follows the shipped form until an admin saves a mapping of their own, so that an
 * upgraded gateway reads the form's new questions (the members' consents) without anyone re-saving it.
 */
export async function installShippedForm(db: Kysely<DB>): Promise<void> {
  const { facts } = await saveForm(db, shippedFormXml(), SHIPPED_BY);
  const current = await currentMapping(db, facts.formId);
  const mapping = shippedMapping();
  if (!current || (current.created_by === SHIPPED_BY && !isDeepStrictEqual(current.mapping, mapping))) {
    await saveMapping(db, facts.formId, mapping, current?.review_mode ?? 'auto', SHIPPED_BY);
  }
}
