import { Type } from '@sinclair/typebox';
import type { Kysely } from 'kysely';
import type { DB } from '#platform/db/types';
import { notFound } from '#platform/problem';
import type { App } from '#platform/http/types';
import { accessTo, principalOf, problems, StringEnum } from '#platform/http/kit';
import { EnrollmentSchema, Nullable, ProgramCode } from '#registry/schemas';
import { singleLookup } from '#security/anomaly/lookup-keys';
import { lookUpSubjects, onlySubject, participationOf } from './participation.ts';
import { findProgram, programCounts } from './program-view.ts';

/** The IBR's own REST views (IBR-030): a beneficiary's participation, a program's beneficiaries. */

const Participation = Type.Object({
  subject: Type.Object({
    type: StringEnum(['individual', 'household']),
    id: Type.String(),
    household_id: Type.String(),
  }),
  summary: Type.Object({
    programs: Type.Integer(),
    active: Type.Integer({ description: 'Enrollments with status enrolled' }),
    active_programs: Type.Array(Type.String()),
    last_payment_at: Nullable(Type.String({ format: 'date' })),
  }),
  programs: Type.Array(
    Type.Object({
      program: Type.Object({
        id: Type.String(),
        code: Type.String(),
        name: Type.String(),
        benefit_type: Type.String(),
        benefit_frequency: Nullable(Type.String()),
        target_unit: Type.String(),
      }),
      enrollment: Type.Composite([
        Type.Omit(EnrollmentSchema, ['payment_account']),
        Type.Object({
          payment_account: Nullable(
            Type.String({
              description:
                'The full account when your field policy shows payment accounts, else its last four characters; ' +
                'null for callers on de-identified data (identifiers hidden: analysts)',
            }),
          ),
          payment_account_masked: Type.Boolean({
            description: 'true: only the last four characters are shown',
          }),
        }),
      ]),
    }),
  ),
  members: Type.Array(
    Type.Object({
      id: Type.String(),
      relationship_to_head: Type.String(),
      programs: Type.Array(
        Type.Object({ code: Type.String(), status: Type.String(), enrolled_at: Type.String() }),
      ),
    }),
  ),
});

const ibrRead = accessTo('registry:read', 'program', 'ibr');

export async function ibrRoutes(app: App, { db }: { db: Kysely<DB> }): Promise<void> {
  app.get(
    '/ibr/participation',
    {
      config: ibrRead('ibr.participation.read', 'beneficiary'),
      schema: {
        tags: ['ibr'],
        operationId: 'getParticipation',
        summary: "A person's or household's participation in every program, and its members'",
        description:
          'Name one subject: person_id, household_id, identifier_type + identifier_value (national ID or any type), ' +
          'program_beneficiary_id, or phone. 409 when an identifier belongs to several records.',
        querystring: Type.Object(
          {
            person_id: Type.Optional(Type.String({ format: 'uuid' })),
            household_id: Type.Optional(Type.String({ format: 'uuid' })),
            identifier_type: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_.:-]{1,40}$' })),
            identifier_value: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
            program_beneficiary_id: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
            phone: Type.Optional(Type.String({ pattern: '^\\+?[0-9 ]{4,20}$' })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Participation,
          ...problems(400, 404, 409),
        },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      request.auditNote = { recordCount: 0 };
      const lookup = await lookUpSubjects(db, request.query, principal);
      // Counted for the anomaly guard before a 404 or 409 leaves, like every lookup by key.
      request.lookups = singleLookup(lookup.key, lookup.subjects.length > 0);
      const subject = onlySubject(lookup);
      const { recordIds, ...view } = await participationOf(db, subject, principal);
      request.auditNote = {
        resourceId: subject.id,
        recordCount: view.programs.length,
        subjectIds: recordIds,
      };
      return view;
    },
  );

  app.get(
    '/ibr/programs/:code/summary',
    {
      config: ibrRead('ibr.program.summary', 'program'),
      schema: {
        tags: ['ibr'],
        operationId: 'getProgramSummary',
        summary: "A program's beneficiaries by status and admin area (within the caller's areas)",
        params: Type.Object({ code: ProgramCode }),
        querystring: Type.Object(
          {
            level: Type.Optional(
              Type.Integer({ minimum: 1, maximum: 6, default: 1, description: 'Admin level to count by' }),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            program: Type.Object({
              id: Type.String(),
              code: Type.String(),
              name: Type.String(),
              benefit_type: Type.String(),
              target_unit: Type.String(),
              benefit_frequency: Nullable(Type.String()),
              active: Type.Boolean(),
            }),
            total: Type.Integer(),
            by_status: Type.Record(Type.String(), Type.Integer()),
            by_area: Type.Array(
              Type.Object({
                admin_area_code: Type.String(),
                status: Type.String(),
                beneficiaries: Type.Integer(),
                benefit_amount: Nullable(Type.Number()),
              }),
            ),
          }),
          ...{ ...problems(400, 404) },
        },
      },
    },
    async (request) => {
      const program = await findProgram(db, request.params.code);
      if (!program) {
        throw notFound('program');
      }
      const counts = await programCounts(
        db,
        program.id,
        request.query.level ?? 1,
        principalOf(request).areaScope,
      );
      request.auditNote = { resourceId: program.code, recordCount: counts.total };
      return { program, ...counts };
    },
  );
}
