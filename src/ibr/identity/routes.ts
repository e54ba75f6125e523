import { Type } from '@sinclair/typebox';
import type { Kysely } from 'kysely';
import type { DB } from '#platform/db/types';
import { notFound } from '#platform/http/problem';
import type { App } from '#platform/http/types';
import { findIndividual } from '#registry/queries';
import { recordView, type IdentityVerifier } from './service.ts';

/** Identity verification over REST (IBR-035): verify a person now; the verifications recorded. */

const Verification = Type.Object({
  id: Type.String(),
  person_id: Type.String(),
  method: Type.String(),
  adapter: Type.String(),
  outcome: Type.String({ enum: ['match', 'no_match', 'error'] }),
  detail: Type.Union([Type.String(), Type.Null()]),
  attempts: Type.Integer(),
  duration_ms: Type.Integer(),
  verified_at: Type.String({ format: 'date-time' }),
});
const problems = { 400: { $ref: 'Problem#' }, 404: { $ref: 'Problem#' }, 503: { $ref: 'Problem#' } };

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
        summary: "Verify a person's identity against the national ID system now",
        description:
          'Answers the recorded result: match or no_match. When the ID system cannot answer (time-out, errors after two ' +
          'retries, or its circuit is open after repeated failures) the result is recorded as error and the answer is 503.',
        body: Type.Object({ person_id: Type.String({ format: 'uuid' }) }, { additionalProperties: false }),
        response: { 201: Verification, ...problems },
      },
    },
    async (request, reply) => {
      request.auditNote = { resourceId: request.body.person_id, recordCount: 0 };
      const record = await verifier.verify(db, request.body.person_id, request.principal!);
      request.auditNote = { resourceId: record.person_id, recordCount: 1, subjectIds: [record.person_id] };
      return reply.code(201).send(record);
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
        summary: "A person's identity verifications, newest first",
        querystring: Type.Object(
          { person_id: Type.String({ format: 'uuid' }) },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ items: Type.Array(Verification) }), ...problems },
      },
    },
    async (request) => {
      const person = await findIndividual(db, request.query.person_id, request.principal!.areaScope);
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
