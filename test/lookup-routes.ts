import { randomBytes } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import type { TestApp } from './app.ts';
import { example, idType, searchMessage } from './dci/harness.ts';

/**
 * Every route that finds a person by a lookup key (a typed identifier, a phone number, a program's
 * beneficiary id), each asked in its own way: REST, IBR, eligibility, DCI (SR and IBR), GraphQL.
 * The field policy (may the caller search by that key?) and the anomaly guard (every lookup
 * counts) are walked over this one list.
 */

export type LookupKey = 'identifier' | 'phone' | 'program_beneficiary_id';

export interface LookupRoute {
  name: string;
  key: LookupKey;
  /** Asks for the person holding `value` (of type UIN for an identifier) as the holder of `apiKey`. */
  ask(t: TestApp, apiKey: string, value: string): Promise<LightMyRequestResponse>;
}

const send = (t: TestApp, apiKey: string, method: 'GET' | 'POST', url: string, body?: unknown) =>
  t.app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${apiKey}` },
    ...(body === undefined ? {} : { payload: body as object }),
  });

const participation = (query: string) => (t: TestApp, apiKey: string, value: string) =>
  send(t, apiKey, 'GET', `/api/v1/ibr/participation?${query}=${encodeURIComponent(value)}`);

/** A DCI IBR enrolled request for the person holding a UIN (fresh message id). */
function enrolledMessage(value: string) {
  const message = example<{ header: Record<string, unknown>; message: Record<string, unknown> }>(
    'ibr-sync-enrolled-request',
  );
  message.header['message_id'] = `msg-${randomBytes(6).toString('hex')}`;
  message.message['transaction_id'] = `txn-${randomBytes(6).toString('hex')}`;
  message.message['enrolled_criteria'] = { query_type: 'idtype-value', query: { type: 'UIN', value } };
  return message;
}

/** The program the eligibility route checks against (ELIG-LOOKUP, created by `lookupProgram`). */
export const LOOKUP_PROGRAM = 'ELIG-LOOKUP';

export const lookupRoutes: LookupRoute[] = [
  {
    name: 'REST individuals by identifier',
    key: 'identifier',
    ask: (t, apiKey, value) =>
      send(t, apiKey, 'GET', `/api/v1/individuals?identifier_type=UIN&identifier_value=${value}`),
  },
  {
    name: 'GraphQL individuals by identifier',
    key: 'identifier',
    ask: (t, apiKey, value) =>
      send(t, apiKey, 'POST', '/graphql', {
        query: `{ individuals(filter: { identifierType: "UIN", identifierValue: "${value}" }) { edges { node { id } } } }`,
      }),
  },
  {
    name: 'IBR participation by identifier',
    key: 'identifier',
    ask: (t, apiKey, value) => participation('identifier_type=UIN&identifier_value')(t, apiKey, value),
  },
  { name: 'IBR participation by phone', key: 'phone', ask: participation('phone') },
  {
    name: 'IBR participation by program beneficiary id',
    key: 'program_beneficiary_id',
    ask: participation('program_beneficiary_id'),
  },
  {
    name: 'IBR eligibility check by identifier',
    key: 'identifier',
    ask: (t, apiKey, value) =>
      send(t, apiKey, 'POST', '/api/v1/ibr/eligibility/check', {
        program: LOOKUP_PROGRAM,
        subjects: [{ identifier_type: 'UIN', identifier_value: value }],
      }),
  },
  {
    name: 'DCI SR search by identifier (idtype-value)',
    key: 'identifier',
    ask: (t, apiKey, value) =>
      send(t, apiKey, 'POST', '/dci/sr/registry/sync/search', searchMessage(idType('Person', 'UIN', value))),
  },
  {
    name: 'DCI IBR enrolled by identifier',
    key: 'identifier',
    ask: (t, apiKey, value) =>
      send(t, apiKey, 'POST', '/dci/ibr/registry/sync/enrolled', enrolledMessage(value)),
  },
];

/** The program of the eligibility route. */
export async function lookupProgram(t: TestApp): Promise<void> {
  const res = await send(t, t.adminKey, 'POST', '/api/v1/ibr/programs', {
    code: LOOKUP_PROGRAM,
    name: 'Eligibility lookups',
    benefit_type: 'cash',
    target_unit: 'household',
  });
  if (res.statusCode !== 201) {
    throw new Error(`the lookup program was refused: ${res.body}`);
  }
}
