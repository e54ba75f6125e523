import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { Principal } from '#platform/auth/principal';
import type { DB } from '#platform/db/types';
import { badRequest, notFound, unprocessable } from '#platform/problem';
import type { IdentityVerifier } from './identity/service.ts';
import type { App } from '#platform/http/types';
import { accessTo, IdParams, principalOf, problems, StringEnum } from '#platform/http/kit';
import { statusHistoryOf } from '#registry/queries';
import { EnrollmentSchema, ProgramCode } from '#registry/schemas';
import { enrollmentView } from '#registry/views';
import { enroll, transfer, transition, TRANSITIONS, type TransitionAction } from './lifecycle.ts';

/** The enrollment lifecycle and benefit caps over REST (issue 7, scope 2). */

const Reason = Type.String({ minLength: 1, maxLength: 500, description: 'Why: kept in the status history' });
const Terms = {
  enrolled_at: Type.Optional(Type.String({ format: 'date' })),
  program_beneficiary_id: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  benefit_amount: Type.Optional(Type.Number({ minimum: 0, maximum: 1e10 })),
  currency: Type.Optional(Type.String({ pattern: '^[A-Z]{3}$' })),
  payment_method: Type.Optional(StringEnum(['bank', 'mobile_money', 'cash', 'voucher'])),
  payment_account: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
};

const write = accessTo('registry:write', 'enrollment', 'ibr');

const findEnrollmentRow = (db: Kysely<DB>, id: string) =>
  db
    .selectFrom('enrollments as e')
    .innerJoin('programs as p', 'p.id', 'e.program_id')
    .selectAll('e')
    .select(['p.code as program_code', 'p.name as program_name'])
    .select(statusHistoryOf)
    .where('e.id', '=', id)
    .executeTakeFirstOrThrow();

/**
 * With `verify_identity`, the person's identity is verified against the national ID system first
 * (recorded like any verification); no match, or an ID system that cannot answer, enrolls nobody.
 */
async function verifyBeforeEnrollment(
  verifier: IdentityVerifier,
  db: Kysely<DB>,
  beneficiary: { type: string; id: string },
  principal: Principal,
) {
  if (beneficiary.type !== 'individual') {
    throw badRequest('verify_identity applies to a person: the beneficiary must be an individual', [
      { pointer: '/verify_identity', detail: 'only for individual beneficiaries' },
    ]);
  }
  const record = await verifier.verify(db, beneficiary.id, principal);
  if (record.outcome !== 'match') {
    throw unprocessable(
      `identity not verified: the national ID system found no match (verification ${record.id}); nothing was enrolled`,
    );
  }
}

export async function enrollmentRoutes(
  app: App,
  { db, verifier }: { db: Kysely<DB>; verifier: IdentityVerifier },
): Promise<void> {
  const answer = async (request: FastifyRequest, id: string) => {
    request.auditNote = { resourceId: id, recordCount: 1 };
    return enrollmentView(await findEnrollmentRow(db, id), principalOf(request));
  };

  app.post(
    '/ibr/enrollments',
    {
      config: write('ibr.enrollment.create'),
      schema: {
        tags: ['ibr'],
        operationId: 'createEnrollment',
        summary: 'Enroll a person or household in a program (exclusivity and benefit cap checked)',
        body: Type.Object(
          {
            program: ProgramCode,
            beneficiary: Type.Object(
              {
                type: StringEnum(['individual', 'household']),
                id: Type.String({ format: 'uuid' }),
              },
              { additionalProperties: false },
            ),
            reason: Type.Optional(Reason),
            verify_identity: Type.Optional(
              Type.Boolean({
                description:
                  "Verify the person's identity against the national ID system first; no match (422) or no answer (503) enrolls nobody",
              }),
            ),
            ...Terms,
          },
          { additionalProperties: false },
        ),
        response: {
          201: EnrollmentSchema,
          ...problems(400, 404, 409, 422, 503),
        },
      },
    },
    async (request, reply) => {
      const { beneficiary, verify_identity, ...terms } = request.body;
      if (verify_identity) {
        await verifyBeforeEnrollment(verifier, db, beneficiary, principalOf(request));
      }
      const id = await enroll(db, { ...terms, beneficiary: beneficiary }, principalOf(request));
      return reply.code(201).send(await answer(request, id));
    },
  );

  app.post(
    '/ibr/enrollments/:id/transitions',
    {
      config: write('ibr.enrollment.transition'),
      schema: {
        tags: ['ibr'],
        operationId: 'transitionEnrollment',
        summary: 'Suspend, resume, graduate or exit an enrollment, with a reason',
        params: IdParams,
        body: Type.Object(
          { action: Type.String({ enum: Object.keys(TRANSITIONS) }), reason: Reason },
          { additionalProperties: false },
        ),
        response: { 200: EnrollmentSchema, ...problems(400, 404, 409) },
      },
    },
    async (request) => {
      await transition(
        db,
        request.params.id,
        request.body.action as TransitionAction,
        request.body.reason,
        principalOf(request),
      );
      return answer(request, request.params.id);
    },
  );

  app.post(
    '/ibr/enrollments/:id/transfer',
    {
      config: write('ibr.enrollment.transfer'),
      schema: {
        tags: ['ibr'],
        operationId: 'transferEnrollment',
        summary:
          'Move the beneficiary to another program: this enrollment exits, a new one starts, in one step',
        params: IdParams,
        body: Type.Object(
          { program: ProgramCode, reason: Reason, ...Terms },
          { additionalProperties: false },
        ),
        response: { 201: EnrollmentSchema, ...problems(400, 404, 409) },
      },
    },
    async (request, reply) => {
      const id = await transfer(db, request.params.id, request.body, principalOf(request));
      return reply.code(201).send(await answer(request, id));
    },
  );

  const Cap = Type.Object({ currency: Type.String(), monthly_cap: Type.Number(), updated_at: Type.String() });
  const capAccess = accessTo('clients:manage', 'benefit_cap');
  const capView = (row: { currency: string; monthly_cap: number; updated_at: Date }) => ({
    currency: row.currency,
    monthly_cap: Number(row.monthly_cap),
    updated_at: row.updated_at.toISOString(),
  });

  app.get(
    '/ibr/benefit-caps',
    {
      config: capAccess('benefit_cap.list'),
      schema: {
        tags: ['ibr'],
        operationId: 'listBenefitCaps',
        summary: 'The most a household may receive per month across programs, per currency',
        response: { 200: Type.Object({ items: Type.Array(Cap) }) },
      },
    },
    async (request) => {
      const rows = await db.selectFrom('benefit_caps').selectAll().orderBy('currency').execute();
      request.auditNote = { recordCount: rows.length };
      return { items: rows.map(capView) };
    },
  );

  app.put(
    '/ibr/benefit-caps/:currency',
    {
      config: capAccess('benefit_cap.set'),
      schema: {
        tags: ['ibr'],
        operationId: 'setBenefitCap',
        summary: "Set a currency's monthly cap per household (new enrollments and resumptions are checked)",
        params: Type.Object({ currency: Type.String({ pattern: '^[A-Z]{3}$' }) }),
        body: Type.Object(
          { monthly_cap: Type.Number({ exclusiveMinimum: 0, maximum: 1e10 }) },
          { additionalProperties: false },
        ),
        response: { 200: Cap, ...problems(400) },
      },
    },
    async (request) => {
      const row = await db
        .insertInto('benefit_caps')
        .values({
          currency: request.params.currency,
          monthly_cap: request.body.monthly_cap,
          updated_at: new Date(),
        })
        .onConflict((oc) =>
          oc
            .column('currency')
            .doUpdateSet({ monthly_cap: request.body.monthly_cap, updated_at: new Date() }),
        )
        .returningAll()
        .executeTakeFirstOrThrow();
      request.auditNote = { resourceId: row.currency, recordCount: 1 };
      return capView(row);
    },
  );

  app.delete(
    '/ibr/benefit-caps/:currency',
    {
      config: capAccess('benefit_cap.remove'),
      schema: {
        tags: ['ibr'],
        operationId: 'deleteBenefitCap',
        summary: "Remove a currency's cap",
        params: Type.Object({ currency: Type.String({ pattern: '^[A-Z]{3}$' }) }),
        response: { 204: Type.Null(), ...problems(400, 404) },
      },
    },
    async (request, reply) => {
      const result = await db
        .deleteFrom('benefit_caps')
        .where('currency', '=', request.params.currency)
        .executeTakeFirst();
      if (Number(result.numDeletedRows) === 0) {
        throw notFound('benefit cap');
      }
      request.auditNote = { resourceId: request.params.currency, recordCount: 1 };
      return reply.code(204).send(null);
    },
  );
}
