import { Type } from '@sinclair/typebox';
import type { Kysely } from 'kysely';
import { maySee } from '#platform/auth/principal';
import { singleLookup } from '#security/anomaly/lookup-keys';
import type { DB } from '#platform/db/types';
import { badRequest, notFound } from '#platform/problem';
import type { App } from '#platform/http/types';
import { principalOf, problems, StringEnum } from '#platform/http/kit';
import { findIndividual } from '#registry/queries';
import { Nullable } from '#registry/schemas';
import type { Proof } from './adapter.ts';
import { recordView, type IdentityVerifier } from './service.ts';

/** Identity verification over REST (IBR-035): verify a person now; the verifications recorded. */

const Verification = Type.Object({
  id: Type.String(),
  person_id: Type.String(),
  method: Type.String(),
  adapter: Type.String(),
  outcome: StringEnum(['match', 'no_match', 'error']),
  detail: Nullable(Type.String()),
  attempts: Type.Integer(),
  duration_ms: Type.Integer(),
  verified_at: Type.String({ format: 'date-time' }),
});
const PersonId = Type.String({ format: 'uuid' });

/** The proof the request names; an OTP verification needs the OTP and its transaction. */
function proofOf(method = 'demographic', otp?: string, transactionId?: string): Proof {
  if (method !== 'otp') {
    if (otp || transactionId) {
      throw badRequest('otp and transaction_id go with method "otp"');
    }
    return { method: 'demographic' };
  }
  if (!otp || !transactionId) {
    throw badRequest('method "otp" needs the otp and the transaction_id of the OTP request', [
      ...(otp ? [] : [{ pointer: '/otp', detail: 'required' }]),
      ...(transactionId ? [] : [{ pointer: '/transaction_id', detail: 'required' }]),
    ]);
  }
  return { method: 'otp', otp, transactionId };
}

export async function identityRoutes(
  app: App,
  { db, verifier }: { db: Kysely<DB>; verifier: IdentityVerifier },
): Promise<void> {
  app.post(
    '/ibr/identity/verifications',
    {
      config: {
        access: {
          permission: 'registry:write',
          audit: { action: 'identity.verify', resourceType: 'individual' },
          registry: 'ibr',
        },
      },
      schema: {
        tags: ['ibr'],
        operationId: 'verifyIdentity',
        summary: "Verify a person's identity against the national ID system now",
        description:
          'Answers the recorded result: match or no_match. When the ID system cannot answer (time-out, errors after two ' +
          'retries, or its circuit is open after repeated failures) the result is recorded as error and the answer is 503.',
        body: Type.Object(
          {
            person_id: PersonId,
            method: Type.Optional(
              StringEnum(['demographic', 'otp'], {
                default: 'demographic',
                description:
                  'demographic: the registry data of the person; otp: the one-time password the person received (after POST /ibr/identity/otp)',
              }),
            ),
            otp: Type.Optional(Type.String({ pattern: '^[0-9A-Za-z]{4,12}$' })),
            transaction_id: Type.Optional(
              Type.String({ pattern: '^[0-9A-Za-z-]{1,64}$', description: 'from the OTP request' }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 201: Verification, ...problems(400, 404, 422, 503) },
      },
    },
    async (request, reply) => {
      const { person_id, method, otp, transaction_id } = request.body;
      request.auditNote = { resourceId: person_id, recordCount: 0 };
      const record = await verifier.verify(
        db,
        person_id,
        principalOf(request),
        proofOf(method, otp, transaction_id),
      );
      request.auditNote = { resourceId: record.person_id, recordCount: 1, subjectIds: [record.person_id] };
      return reply.code(201).send(record);
    },
  );

  app.post(
    '/ibr/identity/otp',
    {
      config: {
        access: {
          permission: 'registry:write',
          audit: { action: 'identity.otp.request', resourceType: 'individual' },
          registry: 'ibr',
        },
      },
      schema: {
        tags: ['ibr'],
        operationId: 'requestIdentityOtp',
        summary: 'Have the national ID system send the person a one-time password (OTP flow, step 1)',
        description:
          'The ID system sends an OTP to the phone or e-mail it holds for the person; the answer says where (masked) and ' +
          'gives the transaction_id that step 2, POST /ibr/identity/verifications with method "otp", sends back with the ' +
          'OTP the person read out. Not retried (a retry would send a second message).',
        body: Type.Object(
          {
            person_id: PersonId,
            channels: Type.Optional(
              Type.Array(StringEnum(['phone', 'email']), {
                minItems: 1,
                maxItems: 2,
                uniqueItems: true,
                default: ['phone'],
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          202: Type.Object({
            transaction_id: Type.String(),
            masked_phone: Nullable(Type.String()),
            masked_email: Nullable(Type.String()),
          }),
          ...problems(400, 404, 422, 503),
        },
      },
    },
    async (request, reply) => {
      const { person_id, channels = ['phone'] } = request.body;
      request.auditNote = { resourceId: person_id, recordCount: 0 };
      const sent = await verifier.requestOtp(db, person_id, principalOf(request), channels);
      request.auditNote = { resourceId: person_id, recordCount: 1, subjectIds: [person_id] };
      // Even masked, where the OTP went is contact data: a caller whose policy hides contacts gets null.
      const contacts = maySee(principalOf(request), 'contact');
      return reply.code(202).send({
        transaction_id: sent.transactionId,
        masked_phone: contacts ? sent.maskedPhone : null,
        masked_email: contacts ? sent.maskedEmail : null,
      });
    },
  );

  app.get(
    '/ibr/identity/verifications',
    {
      config: {
        access: {
          permission: 'registry:read',
          audit: { action: 'identity.verifications.list', resourceType: 'individual' },
          registry: 'ibr',
        },
      },
      schema: {
        tags: ['ibr'],
        operationId: 'listIdentityVerifications',
        summary: "A person's identity verifications, newest first",
        querystring: Type.Object(
          { person_id: Type.String({ format: 'uuid' }) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ items: Type.Array(Verification) }), ...problems(400, 404, 422, 503) },
      },
    },
    async (request) => {
      const person = await findIndividual(db, request.query.person_id, principalOf(request).areaScope);
      request.lookups = singleLookup(`individual:${request.query.person_id}`, person !== undefined);
      if (!person) {
        throw notFound('individual');
      }
      const rows = await db
        .selectFrom('identity_verifications')
        .selectAll()
        .where('individual_id', '=', person.id)
        .orderBy('verified_at', 'desc')
        .limit(100)
        .execute();
      request.auditNote = { resourceId: person.id, recordCount: rows.length };
      return { items: rows.map(recordView) };
    },
  );
}
