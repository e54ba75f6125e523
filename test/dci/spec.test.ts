import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import AjvDraft04 from 'ajv-draft-04';
import { describe, expect, it } from 'vitest';
import {
  HEADER_REASON_CODES,
  SEARCH_REASON_CODES,
  toHttpError,
  TRANSPORT_ERROR_CODES,
  DciError,
} from '#dci/errors';
import { specDocument, validateRequest, validateResponse, type Operation, type Registry } from '#dci/spec';
import { example, predicate, searchMessage } from './harness.ts';

const srSearch: Operation = { registry: 'social', path: '/registry/sync/search' };
const ibrSearch: Operation = { registry: 'ibr', path: '/registry/sync/search' };

type Schemas = Record<string, { enum?: string[]; properties?: Record<string, { enum?: string[] }> }>;
const schemas = (registry: Registry) =>
  (specDocument(registry)['components'] as { schemas: Schemas }).schemas;

describe('the vendored DCI spec files', () => {
  it.each([
    ['social_api_v1.0.0.yaml', '29c8289738cb7782909937121ee1b48212de3d6169c7aa30eef3c69fc78216bb'],
    ['ibr_api_v1.0.0.yaml', '5502ffee91c1bc824951a7e04b2bcbc93fab82ac4b4bb6a2745383a87e52e015'],
  ])('%s is the upstream file, byte for byte (spec/dci/README.md)', (file, sha256) => {
    const bytes = readFileSync(new URL(`../../spec/dci/${file}`, import.meta.url));
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(sha256);
  });
});

describe('the DCI spec validators', () => {
  it.each(['sr-sync-search-idtype-request', 'sr-search-expression-request', 'sr-search-predicate-request'])(
    'accept the minimal example %s',
    (name) => {
      expect(validateRequest(srSearch, example(name))).toEqual([]);
    },
  );

  it('accept the minimal sync search response', () => {
    expect(validateResponse(srSearch, example('sr-sync-search-response'))).toEqual([]);
  });

  it('accept an IBR sync search request built on the same envelope', () => {
    expect(
      validateRequest(
        ibrSearch,
        searchMessage(predicate('Beneficiary', ['programme_identifier', 'eq', 'CCT'])),
      ),
    ).toEqual([]);
  });

  it('tolerate integer attribute values (the spec oneOf defect)', () => {
    const message = searchMessage(predicate('Group', ['group_size', 'ge', 3]));
    expect(validateRequest(srSearch, message)).toEqual([]);
  });

  it('accept two-letter locales in requests but send only ISO 639-3 in responses', () => {
    const message = searchMessage(predicate('Group', ['group_size', 'ge', '3']));
    message.message.search_request[0]!['locale'] = 'en';
    expect(validateRequest(srSearch, message)).toEqual([]);
    const response = example<{ message: { search_response: { locale: string }[] } }>(
      'sr-sync-search-response',
    );
    response.message.search_response[0]!.locale = 'en';
    expect(validateResponse(srSearch, response)).toEqual([
      expect.objectContaining({ pointer: '/message/search_response/0/locale' }),
    ]);
  });

  it('name the fields in error, without the noise of the encrypted-message branch', () => {
    const message = searchMessage(predicate('Group', ['group_size', 'ne', '3']));
    delete message.header['message_id'];
    message.header['message_ts'] = 'yesterday';
    const errors = validateRequest(srSearch, message);
    expect(errors.map((e) => e.pointer).sort()).toEqual([
      '/header/message_id',
      '/header/message_ts',
      '/message/search_request/0/search_criteria/query/0/expression1/operator',
    ]);
  });

  it('refuse a message that is neither a search request nor an encrypted message', () => {
    const errors = validateRequest(srSearch, {
      header: example<{ header: unknown }>('sr-sync-search-idtype-request').header,
      message: {},
    });
    expect(errors.map((e) => e.pointer)).toContain('/message/transaction_id');
  });
});

describe('the DCI response validators', () => {
  it('read the shared ACK response of the async paths (components.responses.Response)', () => {
    for (const path of ['/registry/search', '/registry/txn/status']) {
      expect(validateResponse({ registry: 'social', path }, example('ack'))).toEqual([]);
      expect(validateResponse({ registry: 'ibr', path }, example('ack-err'))).toEqual([]);
      expect(validateResponse({ registry: 'social', path }, { message: { ack_status: 'OK' } })).not.toEqual(
        [],
      );
    }
  });

  it('read the bare schemas the IBR enrollment paths declare as their default response', () => {
    const enrolled: Operation = { registry: 'ibr', path: '/registry/sync/enrolled' };
    expect(validateResponse(enrolled, example('ibr-sync-enrolled-response-message'))).toEqual([]);
    expect(validateResponse(enrolled, { transaction_id: 't' })).toEqual([
      expect.objectContaining({ pointer: '/correlation_id' }),
      expect.objectContaining({ pointer: '/enrolled_response' }),
    ]);
  });

  it('accept the minimal IBR enrollment requests', () => {
    expect(
      validateRequest(
        { registry: 'ibr', path: '/registry/sync/enrolled' },
        example('ibr-sync-enrolled-request'),
      ),
    ).toEqual([]);
    expect(
      validateRequest(
        { registry: 'ibr', path: '/registry/sync/enrollment/updates' },
        example('ibr-sync-enrollment-updates-request'),
      ),
    ).toEqual([]);
  });
});

describe('the DCI code lists', () => {
  it.each(['social', 'ibr'] as const)('equal the enums of the %s spec', (registry) => {
    const s = schemas(registry);
    expect([...TRANSPORT_ERROR_CODES]).toEqual(s['Error']!.properties!['code']!.enum);
    expect([...HEADER_REASON_CODES]).toEqual(s['MsgHeaderStatusReasonCode']!.enum);
    expect([...SEARCH_REASON_CODES]).toEqual(s['SearchStatusReasonCode']!.enum);
  });

  it('give error bodies that are the spec HttpErrorResponse', () => {
    const responses = specDocument('social')['components'] as {
      responses: Record<string, { content: Record<string, { schema: object }> }>;
    };
    const schema = responses.responses['HttpErrorResponse']!.content['application/json']!.schema;
    const validate = new AjvDraft04.default({ strict: false }).compile(schema);
    const { status, body } = toHttpError(
      new DciError('err.request.bad', 'bad', [{ pointer: '/header', detail: 'is required' }]),
    );
    expect(status).toBe(400);
    expect(body).toEqual({ errors: [{ code: 'err.request.bad', message: '/header: is required' }] });
    expect(validate(body)).toBe(true);
  });
});
