import { Type } from '@sinclair/typebox';
import type { Kysely } from 'kysely';
import type { DB } from '#platform/db/types';
import { notFound } from '#platform/problem';
import type { App } from '#platform/http/types';
import { accessTo, principalOf, problems } from '#platform/http/kit';
import { Nullable, ProgramCode } from '#registry/schemas';
import { checkCriteria, checkEligibility, Criterion, MAX_SUBJECTS } from './eligibility.ts';
import { subjectKey } from './participation.ts';

/** Eligibility criteria of programs, and real-time checks of persons and households (IBR-036). */

const Code = Type.Object({ code: ProgramCode });
const Uuid = Type.String({ format: 'uuid' });
const SubjectSchema = Type.Union([
  Type.Object({ person_id: Uuid }, { additionalProperties: false }),
  Type.Object({ household_id: Uuid }, { additionalProperties: false }),
  Type.Object(
    {
      identifier_type: Type.String({ pattern: '^[A-Za-z0-9_.:-]{1,40}$' }),
      identifier_value: Type.String({ minLength: 1, maxLength: 100 }),
    },
    { additionalProperties: false },
  ),
]);
const Criteria = Type.Array(Criterion, { maxItems: 20 });
const Result = Type.Object({
  subject: SubjectSchema,
  found: Type.Boolean(),
  ambiguous: Type.Optional(Type.Boolean({ description: 'The identifier is held by several persons' })),
  person_id: Type.Optional(Nullable(Type.String())),
  household_id: Type.Optional(Nullable(Type.String())),
  enrolled: Type.Optional(Nullable(Type.Object({ enrollment_id: Type.String(), status: Type.String() }))),
  eligible: Type.Optional(Type.Boolean()),
  criteria: Type.Optional(
    Type.Object({ passed: Type.Array(Type.String()), failed: Type.Array(Type.String()) }),
  ),
  excluded_by: Type.Optional(
    Type.Array(Type.Object({ program: Type.String(), enrollment_id: Type.String(), status: Type.String() })),
  ),
});

const read = accessTo('registry:read', 'program', 'ibr');
const write = accessTo('registry:write', 'program', 'ibr');

async function programOf(db: Kysely<DB>, code: string) {
  const row = await db
    .selectFrom('programs')
    .select(['id', 'code', 'target_unit', 'exclusion_groups', 'eligibility_criteria'])
    .where('code', '=', code)
    .executeTakeFirst();
  if (!row) {
    throw notFound('program');
  }
  return { ...row, criteria: row.eligibility_criteria as Criterion[] };
}

export async function eligibilityRoutes(app: App, { db }: { db: Kysely<DB> }): Promise<void> {
  app.put(
    '/ibr/programs/:code/eligibility',
    {
      config: write('program.eligibility.set'),
      schema: {
        tags: ['ibr'],
        operationId: 'setProgramEligibility',
        summary: "Set a program's eligibility criteria (DCI expressions over households or persons)",
        params: Code,
        body: Type.Object({ criteria: Criteria }, { additionalProperties: false }),
        response: { 200: Type.Object({ program: Type.String(), criteria: Criteria }), ...problems(400, 404) },
      },
    },
    async (request) => {
      const program = await programOf(db, request.params.code);
      checkCriteria(request.body.criteria, principalOf(request));
      await db
        .updateTable('programs')
        .set({ eligibility_criteria: JSON.stringify(request.body.criteria) })
        .where('id', '=', program.id)
        .execute();
      request.auditNote = { resourceId: program.code, recordCount: 1 };
      return { program: program.code, criteria: request.body.criteria };
    },
  );

  app.get(
    '/ibr/programs/:code/eligibility',
    {
      config: read('program.eligibility.read'),
      schema: {
        tags: ['ibr'],
        operationId: 'getProgramEligibility',
        summary: "A program's eligibility criteria",
        params: Code,
        response: { 200: Type.Object({ program: Type.String(), criteria: Criteria }), ...problems(400, 404) },
      },
    },
    async (request) => {
      const program = await programOf(db, request.params.code);
      request.auditNote = { resourceId: program.code, recordCount: 1 };
      return { program: program.code, criteria: program.criteria };
    },
  );

  app.post(
    '/ibr/eligibility/check',
    {
      config: read('ibr.eligibility.check'),
      schema: {
        tags: ['ibr'],
        operationId: 'checkEligibility',
        summary: `Is each person or household enrolled in, eligible for, or excluded from a program? (1 to ${MAX_SUBJECTS})`,
        description:
          'For each subject: found (false when outside your areas, unknown, or an identifier several persons hold: ambiguous), ' +
          'the enrollment in the program if any, the criteria passed and failed, the active enrollments in programs that exclude ' +
          'this one, and eligible = every criterion passed and no exclusion.',
        body: Type.Object(
          {
            program: Code.properties.code,
            subjects: Type.Array(SubjectSchema, { minItems: 1, maxItems: MAX_SUBJECTS }),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ program: Type.String(), results: Type.Array(Result) }),
          ...problems(400, 404),
        },
      },
    },
    async (request) => {
      const program = await programOf(db, request.body.program);
      const results = await checkEligibility(db, program, request.body.subjects, principalOf(request));
      const found = results.flatMap((r) => ('person_id' in r ? [r.person_id ?? r.household_id!] : []));
      request.auditNote = { resourceId: program.code, recordCount: found.length, subjectIds: found };
      // Each subject is a lookup by key for the anomaly guard, as if asked one by one.
      request.lookups = { keys: request.body.subjects.map(subjectKey), found: found.length };
      return { program: program.code, results };
    },
  );
}
