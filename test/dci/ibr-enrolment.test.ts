import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateResponse } from '#dci/spec';
import { insertEnrollment, insertProgram } from '#test/factories';
import { keysDeep, seedRegistry } from './fixtures.ts';
import { createDciApp, example, type DciTestApp } from './harness.ts';

const ENROLLED = { registry: 'ibr' as const, path: '/registry/sync/enrolled' };
const UPDATES = { registry: 'ibr' as const, path: '/registry/sync/enrollment/updates' };

// Tests read arbitrary DCI JSON by path.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

/** An IBR request built on a minimal example, with fresh ids and the given message part. */
function ibrMessage(name: string, part: string, value: unknown): Json {
  const message = example<Json>(name);
  message['message'].transaction_id = `txn-${randomBytes(4).toString('hex')}`;
  message['message'][part] = value;
  return message;
}
const enrolledMessage = (criteria: Json) =>
  ibrMessage('ibr-sync-enrolled-request', 'enrolled_criteria', criteria);
const updatesMessage = (asked: Json) =>
  ibrMessage('ibr-sync-enrollment-updates-request', 'enrolled_updates', asked);
const person = (value: string, programmes?: Json) => ({
  query_type: 'expression',
  query: {
    person_identifier: { eq: value },
    ...(programmes ? { 'programme_identifier.programme.programme_identifier': programmes } : {}),
  },
});

describe('DCI IBR enrollment endpoints', () => {
  let t: DciTestApp;
  let key: string;
  let analyst: string;
  let pensionOfHalima: string;
  let seededAt: string;

  beforeAll(async () => {
    t = await createDciApp({ limits: { defaultPageSize: 10, maxPageSize: 50 } });
    const db = t.database.db;
    const { households, persons } = await seedRegistry(db);
    const cct = await insertProgram(db, { code: 'CCT', name: 'Conditional cash transfer' });
    const pension = await insertProgram(db, {
      code: 'SPEN',
      name: 'Social pension',
      target_unit: 'individual',
    });
    const accounts = { payment_account: 'ACC-SECRET-1', program_beneficiary_id: 'CCT-0001' };
    await insertEnrollment(db, cct, { household_id: households.A }, accounts);
    await insertEnrollment(db, cct, { household_id: households.E }, { status: 'graduated' });
    pensionOfHalima = await insertEnrollment(
      db,
      pension,
      { individual_id: persons['halima']! },
      { status: 'suspended' },
    );
    seededAt = (await sql<{ now: Date }>`select now() as now`.execute(db)).rows[0]!.now.toISOString();
    key = await t.keyFor('integrator');
    analyst = await t.keyFor('analyst');
  });
  afterAll(() => t.close());

  const post = async (path: string, body: unknown, expected: number, as = key) => {
    const res = await t.post(`/dci/ibr${path}`, body, as);
    expect(res.statusCode, res.body).toBe(expected);
    return res.json<Json>();
  };
  const enrolled = async (criteria: Json) => {
    const body = await post(ENROLLED.path, enrolledMessage(criteria), 200);
    expect(validateResponse(ENROLLED, body)).toEqual([]);
    return body['enrolled_response'] as Json[];
  };
  const answers = (items: Json[]) => items.map((i) => `${i['reference_id']}:${i['enrolled_status']}`);

  describe('/registry/sync/enrolled', () => {
    it('tells in which programmes a person is a beneficiary, through their household too', async () => {
      const [amina] = await enrolled(person('UIN-A1'));
      expect(amina).toMatchObject({
        reference_id: 'CCT',
        status: 'succ',
        enrolled_status: 'yes',
        programme_identifier: [{ programme_identifier: 'CCT', programme_name: 'Conditional cash transfer' }],
        enrollment_status: 'Active',
        enrollment_date: '2024-04-01T00:00:00Z',
      });
      expect(answers(await enrolled(person('BRN-A2')))).toEqual(['CCT:yes']);
    });

    it('answers each programme asked about: suspended is still enrolled, graduated is not', async () => {
      const items = await enrolled(person('UIN-C1', { in: ['SPEN', 'CCT'] }));
      expect(answers(items)).toEqual(['SPEN:yes', 'CCT:no']);
      expect(items[0]).toMatchObject({ enrollment_status: 'Suspended' });
      expect(items[1]).toMatchObject({
        programme_identifier: [{ programme_name: 'Conditional cash transfer' }],
      });
      expect(items[1]).not.toHaveProperty('enrollment_status');
      const [said] = await enrolled(person('UIN-E1', { eq: 'CCT' }));
      expect(said).toMatchObject({ enrolled_status: 'no', enrollment_status: 'Graduated' });
    });

    it('answers no, once, for a person nobody enrolled', async () => {
      const message = enrolledMessage(person('NOBODY'));
      const body = await post(ENROLLED.path, message, 200);
      expect(body['enrolled_response']).toEqual([
        {
          reference_id: message['message'].transaction_id,
          timestamp: expect.any(String),
          status: 'succ',
          enrolled_status: 'no',
        },
      ]);
    });

    it('takes an idtype-value query (the identifier of that type only) and response_entity Group', async () => {
      expect(
        answers(await enrolled({ query_type: 'idtype-value', query: { type: 'UIN', value: 'UIN-A1' } })),
      ).toEqual(['CCT:yes']);
      const wrongType = await enrolled({
        query_type: 'idtype-value',
        query: { type: 'BRN', value: 'UIN-A1' },
      });
      expect(answers(wrongType)).toEqual([expect.stringMatching(/:no$/)]);
      // Halima's pension is hers, not her household's.
      const asGroup = await enrolled({ ...person('UIN-C1'), response_entity: 'Group' });
      expect(answers(asGroup)).toEqual([expect.stringMatching(/:no$/)]);
    });

    it('an analyst may not look a person up by identifier', async () => {
      const body = await post(ENROLLED.path, enrolledMessage(person('UIN-A1')), 400, analyst);
      expect(body).toEqual({
        errors: [{ code: 'err.request.bad', message: 'your role may not search by person identifier' }],
      });
    });

    it.each([
      [
        'a predicate query',
        { query_type: 'predicate', query: { person_identifier: { eq: 'UIN-A1' } } },
        /not supported/,
      ],
      [
        'an unknown attribute',
        { query_type: 'expression', query: { surname: { eq: 'Mushi' } } },
        /unknown attribute "surname"/,
      ],
      [
        'no person',
        { query_type: 'expression', query: { programme_identifier: { eq: 'CCT' } } },
        /must name a person_identifier/,
      ],
      [
        'a non-string identifier',
        { query_type: 'expression', query: { person_identifier: { eq: 5 } } },
        /takes \{ "eq"/,
      ],
      [
        'an unknown response_entity',
        { ...person('UIN-A1'), response_entity: 'Household' },
        /response_entity/,
      ],
    ])('refuses %s (400, err.request.bad)', async (_name, criteria, message) => {
      const body = await post(ENROLLED.path, enrolledMessage(criteria), 400);
      expect(body['errors'][0]).toMatchObject({
        code: 'err.request.bad',
        message: expect.stringMatching(message),
      });
    });

    it('refuses a message id used twice (409, HttpErrorResponse naming rjct.message_id.duplicate)', async () => {
      const message = enrolledMessage(person('UIN-A1'));
      await post(ENROLLED.path, message, 200);
      const body = await post(ENROLLED.path, message, 409);
      expect(body['errors'][0]).toMatchObject({
        code: 'err.request.bad',
        message: expect.stringMatching(/^rjct\.message_id\.duplicate: /),
      });
    });

    it('is an IBR endpoint only, and needs a key', async () => {
      expect(
        (await t.post('/dci/sr/registry/sync/enrolled', enrolledMessage(person('UIN-A1')), key)).statusCode,
      ).toBe(404);
      expect(
        (await t.post(`/dci/ibr${ENROLLED.path}`, enrolledMessage(person('UIN-A1')), undefined)).statusCode,
      ).toBe(401);
    });
  });

  describe('/registry/sync/enrollment/updates', () => {
    const updates = async (asked: Json, as = key) => {
      const body = await post(UPDATES.path, updatesMessage(asked), 200, as);
      expect(validateResponse(UPDATES, body)).toEqual([]);
      return body;
    };

    it('lists the enrollments changed since a time, with their Beneficiary records, page by page', async () => {
      const first = await updates({ since: '2000-01-01T00:00:00Z', page_size: 2 });
      expect(first['enrolled_response']).toHaveLength(2);
      expect(first['enrolled_updates'].beneficiaries).toHaveLength(2);
      expect(first['enrolled_updates'].next_cursor).toMatch(/^\d+$/);
      const second = await updates({
        since: '2000-01-01T00:00:00Z',
        page_size: 2,
        cursor: first['enrolled_updates'].next_cursor,
      });
      expect(second['enrolled_response']).toHaveLength(1);
      expect(second['enrolled_updates']).not.toHaveProperty('next_cursor');
      const all = [...first['enrolled_updates'].beneficiaries, ...second['enrolled_updates'].beneficiaries];
      expect(
        all
          .map((b: Json) => `${b['programme_identifier'][0].programme_identifier}:${b['enrollment_status']}`)
          .sort(),
      ).toEqual(['CCT:Active', 'CCT:Graduated', 'SPEN:Suspended']);
    });

    it('answers a status change made after the time asked about, and nothing else', async () => {
      expect((await updates({ since: seededAt }))['enrolled_response']).toEqual([]);
      await t.database.db
        .updateTable('enrollments')
        .set({ status: 'enrolled' })
        .where('id', '=', pensionOfHalima)
        .execute();
      const body = await updates({ since: seededAt });
      expect(body['enrolled_response']).toEqual([
        { reference_id: pensionOfHalima, timestamp: expect.any(String), status: 'succ' },
      ]);
      expect(body['enrolled_updates'].beneficiaries[0]).toMatchObject({
        enrollment_status: 'Active',
        assistance_unit: '1',
      });
    });

    it('applies the field policy: no payment accounts for anyone, no identifiers or names for an analyst', async () => {
      const integrator = await updates({ since: '2000-01-01T00:00:00Z' });
      expect(JSON.stringify(integrator)).not.toContain('ACC-SECRET-1');
      expect(JSON.stringify(integrator)).toContain('CCT-0001');
      const deidentified = await updates({ since: '2000-01-01T00:00:00Z' }, analyst);
      const keys = keysDeep(deidentified['enrolled_updates']);
      for (const hidden of ['name', 'member_identifier', 'identifier', 'birth_date', 'phone_number']) {
        expect(keys, hidden).not.toContain(hidden);
      }
      expect(JSON.stringify(deidentified)).not.toContain('CCT-0001');
      expect(JSON.stringify(deidentified)).not.toContain('ACC-SECRET-1');
    });

    it.each([
      ['no since', {}, 'since'],
      ['a since that is no time', { since: 'yesterday' }, 'since'],
      ['pushed beneficiaries', { since: '2025-01-01T00:00:00Z', beneficiaries: [] }, 'beneficiaries'],
      ['a page size of 0', { since: '2025-01-01T00:00:00Z', page_size: 0 }, 'page_size'],
      ['a page size past the limit', { since: '2025-01-01T00:00:00Z', page_size: 51 }, 'page_size'],
      ['a cursor that is not one', { since: '2025-01-01T00:00:00Z', cursor: 'abc' }, 'cursor'],
    ])('refuses %s (400, err.request.bad naming the field)', async (_name, asked, field) => {
      const body = await post(UPDATES.path, updatesMessage(asked), 400);
      expect(body['errors'][0]).toMatchObject({
        code: 'err.request.bad',
        message: expect.stringContaining(`/message/enrolled_updates/${field}`),
      });
    });

    it('takes the callback-style header of the spec, where sender_id is optional', async () => {
      const message = updatesMessage({ since: '2000-01-01T00:00:00Z', page_size: 1 });
      delete message['header'].sender_id;
      expect((await post(UPDATES.path, message, 200))['enrolled_response']).toHaveLength(1);
    });

    it('refuses a header that is not the spec notify header', async () => {
      const message = updatesMessage({ since: '2025-01-01T00:00:00Z' });
      message['header'].action = 'search';
      const body = await post(UPDATES.path, message, 400);
      expect(body['errors'][0].code).toBe('err.request.bad');
    });
  });
});
