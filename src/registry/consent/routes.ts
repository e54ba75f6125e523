import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import { singleLookup } from '#security/anomaly/lookup-keys';
import type { Principal } from '#platform/auth/principal';
import type { DB } from '#platform/db/types';
import { badRequest, conflict, notFound } from '#platform/problem';
import type { App } from '#platform/http/types';
import { accessTo, principalOf, problems, StringEnum } from '#platform/http/kit';
import { findIndividual } from '#registry/queries';
import { Nullable } from '#registry/schemas';
import { CONSENT_CHANNELS, CONSENT_PURPOSES, PURPOSE_CODES, type ConsentChannel } from './purposes.ts';
import {
  consentInForce,
  listConsents,
  recordConsents,
  withdrawConsent,
  type ConsentEvent,
  type ConsentRow,
} from './queries.ts';

/**
 * Consent over REST (docs/consent.md): the purposes the registry recognises, and a person's consents,
 * recorded, withdrawn (kept as history) and listed. Who consented to what is personal data: only
 * `consent:manage` (field agents, case management systems, admins) reads or writes it, within the
 * caller's areas; every call is audited with the person's id.
 */

const Channel = Type.String({ enum: [...CONSENT_CHANNELS], description: 'How it reached the registry' });
const EvidenceRef = Type.String({
  minLength: 1,
  maxLength: 200,
  description: 'Where the evidence is kept: a submission, a paper form or call reference (no personal data)',
});
const Purpose = StringEnum(PURPOSE_CODES, { description: 'GET /consent/purposes' });
const Event = Type.Object({
  at: Type.String({ format: 'date-time' }),
  channel: Channel,
  evidence_ref: Nullable(Type.String()),
  recorded_by: Nullable(Type.String({ description: 'The client that recorded it' })),
});
const ConsentRecord = Type.Object({
  id: Type.String({ format: 'uuid' }),
  person_id: Type.String({ format: 'uuid' }),
  purpose: Type.String(),
  status: StringEnum(['given', 'withdrawn']),
  given: Event,
  withdrawn: Nullable(Event),
});
const PersonParams = Type.Object({ id: Type.String({ format: 'uuid' }) });

const manage = accessTo('consent:manage', 'individual', 'social');

function consentView(row: ConsentRow) {
  const withdrawn = row.withdrawn_at;
  return {
    id: row.id,
    person_id: row.individual_id,
    purpose: row.purpose,
    status: withdrawn ? ('withdrawn' as const) : ('given' as const),
    given: {
      at: row.granted_at.toISOString(),
      channel: row.channel,
      evidence_ref: row.evidence_ref,
      recorded_by: row.recorded_by,
    },
    withdrawn: withdrawn && {
      at: withdrawn.toISOString(),
      channel: row.withdrawal_channel!,
      evidence_ref: row.withdrawal_evidence_ref,
      recorded_by: row.withdrawal_recorded_by,
    },
  };
}

/** The person the path names, within the caller's areas (404 otherwise), noted for audit and anomaly guard. */
async function personOf(db: Kysely<DB>, request: FastifyRequest, id: string) {
  request.auditNote = { resourceId: id, recordCount: 0 };
  const person = await findIndividual(db, id, principalOf(request).areaScope);
  request.lookups = singleLookup(`individual:${id}`, person !== undefined);
  if (!person) {
    throw notFound('individual');
  }
  return person;
}

const eventOf = (principal: Principal, body: { channel: string; evidence_ref?: string }): ConsentEvent => ({
  channel: body.channel as ConsentChannel,
  evidenceRef: body.evidence_ref,
  recordedBy: principal.clientName,
});

/** A stated time of consent: a paper form recorded later may give one; none in the future. */
function givenAt(text: string | undefined): Date | undefined {
  if (text === undefined) {
    return undefined;
  }
  const at = new Date(text);
  if (at.getTime() > Date.now()) {
    throw badRequest('given_at lies in the future', [
      { pointer: '/given_at', detail: 'when the person consented: now or earlier' },
    ]);
  }
  return at;
}

export async function consentRoutes(app: App, { db }: { db: Kysely<DB> }): Promise<void> {
  app.get(
    '/consent/purposes',
    {
      config: { access: { permission: 'registry:read', audit: false } },
      schema: {
        tags: ['registry'],
        operationId: 'listConsentPurposes',
        summary: 'The purposes a person can consent to (the codes DCI searches state as their purpose)',
        response: {
          200: Type.Object({
            items: Type.Array(Type.Object({ code: Type.String(), description: Type.String() })),
          }),
        },
      },
    },
    async () => ({ items: [...CONSENT_PURPOSES] }),
  );

  app.get(
    '/individuals/:id/consents',
    {
      config: manage('consent.list'),
      schema: {
        tags: ['registry'],
        operationId: 'listPersonConsents',
        summary: "A person's consents, withdrawn ones included, newest first",
        params: PersonParams,
        response: { 200: Type.Object({ items: Type.Array(ConsentRecord) }), ...problems(400, 404, 409) },
      },
    },
    async (request) => {
      const person = await personOf(db, request, request.params.id);
      const rows = await listConsents(db, person.id);
      request.auditNote = { resourceId: person.id, recordCount: rows.length, subjectIds: [person.id] };
      return { items: rows.map(consentView) };
    },
  );

  app.post(
    '/individuals/:id/consents',
    {
      config: manage('consent.record'),
      schema: {
        tags: ['registry'],
        operationId: 'recordConsent',
        summary: "Record a person's consent to a purpose",
        description:
          'A consent in force to the same purpose is a 409: withdraw it first to record it again. A person ' +
          'recorded as deceased cannot consent (409).',
        params: PersonParams,
        body: Type.Object(
          {
            purpose: Purpose,
            channel: Channel,
            evidence_ref: Type.Optional(EvidenceRef),
            given_at: Type.Optional(
              Type.String({
                format: 'date-time',
                description: 'When the person consented, if earlier than now (a paper form recorded later)',
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 201: ConsentRecord, ...problems(400, 404, 409) },
      },
    },
    async (request, reply) => {
      const { purpose, given_at } = request.body;
      const grantedAt = givenAt(given_at);
      const person = await personOf(db, request, request.params.id);
      if (person.is_deceased) {
        throw conflict('the person is recorded as deceased and cannot consent');
      }
      const consent = {
        individualId: person.id,
        purpose,
        grantedAt,
        ...eventOf(principalOf(request), request.body),
      };
      const [row] = await recordConsents(db, [consent]);
      if (!row) {
        const current = await consentInForce(db, person.id, purpose);
        throw conflict(
          `the person already consents to ${purpose} (consent ${current?.id ?? '?'}): withdraw it first to record it again`,
        );
      }
      request.auditNote = { resourceId: person.id, recordCount: 1, subjectIds: [person.id] };
      return reply.code(201).send(consentView(row));
    },
  );

  app.post(
    '/individuals/:id/consents/:purpose/withdrawal',
    {
      config: manage('consent.withdraw'),
      schema: {
        tags: ['registry'],
        operationId: 'withdrawConsent',
        summary: "Withdraw a person's consent to a purpose (the record is kept, closed)",
        description:
          'From now on the consent no longer counts (DCI searches of clients that receive consented records only). ' +
          '404 when the person has no consent in force to the purpose.',
        params: Type.Object({ id: Type.String({ format: 'uuid' }), purpose: Purpose }),
        body: Type.Object(
          { channel: Channel, evidence_ref: Type.Optional(EvidenceRef) },
          { additionalProperties: false },
        ),
        response: { 200: ConsentRecord, ...problems(400, 404, 409) },
      },
    },
    async (request) => {
      const person = await personOf(db, request, request.params.id);
      const { purpose } = request.params;
      const row = await withdrawConsent(db, person.id, purpose, eventOf(principalOf(request), request.body));
      if (!row) {
        throw notFound(`consent to ${purpose} in force for this person`);
      }
      request.auditNote = { resourceId: person.id, recordCount: 1, subjectIds: [person.id] };
      return consentView(row);
    },
  );
}
