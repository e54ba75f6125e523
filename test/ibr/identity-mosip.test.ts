import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '#config/load';
import { identityVerifierOf } from '#ibr/identity/configured';
import { createTestApp, type TestApp } from '#test/app';
import { insertHousehold, insertIndividual, insertProgram } from '#test/factories';
import { startFakeIda, type FakeIda } from '#test/mosip-ida';
import { newClient } from '#test/clients';
import { setPolicy } from '#test/security/policy/helpers';

/**
 * Identity verification through the MOSIP ID Authentication adapter, against a fake IDA on
 * 127.0.0.1 that checks the partner path, the request signature, the encryption and the HMAC as
 * MOSIP does, and signs its answers: demographic match and no match, the OTP flow, answers not
 * signed by IDA, a refused partner, and verification on enrollment.
 */

interface Verification {
  id: string;
  outcome: string;
  attempts: number;
  detail: string | null;
  method: string;
  adapter: string;
}

let t: TestApp;
let ida: FakeIda;
let dir: string;
const people: Record<string, string> = {};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'spx-ida-'));
  ida = await startFakeIda(dir);
  ida.people.set('4815162342', {
    name: 'Amina Grace Okello',
    dob: '1985/05/20',
    gender: 'Female',
    phone: '+255712345678',
  });
  t = await createTestApp({
    idVerifyAdapter: 'mosip',
    idVerifyUrl: ida.baseUrl,
    idVerifyMosip: JSON.stringify(ida.settings),
    idVerifyTimeoutMs: 2000,
    idVerifyBreakerSeconds: 1,
  });
  const household = await insertHousehold(t.database.db);
  const person = (key: string, uin: string | null, overrides = {}) =>
    insertIndividual(
      t.database.db,
      household,
      { given_name: 'Amina', middle_name: 'Grace', family_name: 'Okello', ...overrides },
      uin ? [{ type: 'UIN', value: uin }] : [],
    ).then((id) => (people[key] = id));
  await person('known', '4815162342');
  await person('wrong-dob', '4815162342', { birth_date: '1986-05-20' });
  await person('unknown', '9999999999');
  await person('no-uin', null);
  await insertProgram(t.database.db, { code: 'PEN', target_unit: 'individual' });
});
afterAll(async () => {
  await t.close();
  await ida.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  ida.mode = 'ok';
});

const post = (url: string, payload: object) =>
  t.app.inject({ method: 'POST', url, headers: { authorization: `Bearer ${t.adminKey}` }, payload });
const verify = (person: string, extra: object = {}) =>
  post('/api/v1/ibr/identity/verifications', { person_id: person, ...extra });

describe('MOSIP demographic authentication', () => {
  it('matches a person whose name, birth date and gender IDA holds, through a signed, encrypted request', async () => {
    const res = await verify(people['known']!);
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json<Verification>()).toMatchObject({
      outcome: 'match',
      method: 'demographic',
      adapter: 'mosip',
      attempts: 1,
      detail: null,
    });
    expect(ida.protocolErrors).toEqual([]);
  });

  it('records no match with the IDA error code when a demographic differs or the UIN is unknown', async () => {
    const differs = await verify(people['wrong-dob']!);
    expect(differs.json<Verification>()).toMatchObject({
      outcome: 'no_match',
      detail: 'IDA-DEA-001: Demographic data dob in eng did not match',
    });
    const unknown = await verify(people['unknown']!);
    expect(unknown.json<Verification>()).toMatchObject({ outcome: 'no_match', detail: /^IDA-MLC-018/ });
  });

  it('answers 422 for a person without a UIN, calling nobody and recording nothing', async () => {
    const calls = ida.calls;
    const res = await verify(people['no-uin']!);
    expect(res.statusCode).toBe(422);
    expect(res.json<{ detail: string }>().detail).toBe(
      'identity cannot be verified: the person holds no UIN identifier to verify against',
    );
    expect(ida.calls).toBe(calls);
    const list = await t.get(`/api/v1/ibr/identity/verifications?person_id=${people['no-uin']}`, t.adminKey);
    expect(list.json<{ items: unknown[] }>().items).toEqual([]);
  });

  it('refuses an answer not signed by the IDA signing certificate (503, recorded as error)', async () => {
    ida.mode = 'forged';
    const res = await verify(people['known']!);
    expect(res.statusCode).toBe(503);
    expect(res.json<{ detail: string }>().detail).toMatch(/not signed by its signing certificate/);
  });
});

describe('MOSIP OTP flow', () => {
  it('has IDA send an OTP, then verifies with it; a wrong OTP is no match', async () => {
    const sent = await post('/api/v1/ibr/identity/otp', { person_id: people['known'], channels: ['phone'] });
    expect(sent.statusCode, sent.body).toBe(202);
    const { transaction_id, masked_phone } = sent.json<{ transaction_id: string; masked_phone: string }>();
    expect(masked_phone).toBe('XXXXXX5678');
    const otp = ida.sentOtps.get(transaction_id)!;
    const wrong = await verify(people['known']!, {
      method: 'otp',
      otp: otp === '123456' ? '654321' : '123456',
      transaction_id,
    });
    expect(wrong.json<Verification>()).toMatchObject({
      outcome: 'no_match',
      method: 'otp',
      detail: 'IDA-OTA-004: OTP provided is invalid',
    });
    const right = await verify(people['known']!, { method: 'otp', otp, transaction_id });
    expect(right.json<Verification>()).toMatchObject({ outcome: 'match', method: 'otp', attempts: 1 });
    expect(ida.protocolErrors).toEqual([]);
  });

  it('says where the OTP went only to a caller that may see contacts', async () => {
    const writer = await newClient(t, 'system');
    await setPolicy(t, writer.id, { hidden_fields: ['contact'] });
    const sent = await t.app.inject({
      method: 'POST',
      url: '/api/v1/ibr/identity/otp',
      headers: { authorization: `Bearer ${writer.key}` },
      payload: { person_id: people['known'], channels: ['phone'] },
    });
    expect(sent.statusCode, sent.body).toBe(202);
    expect(sent.json()).toMatchObject({ masked_phone: null, masked_email: null });
  });

  it('does not retry OTP calls when IDA is down, and says so', async () => {
    ida.mode = 'down';
    const calls = ida.calls;
    const res = await post('/api/v1/ibr/identity/otp', { person_id: people['known'] });
    expect(res.statusCode).toBe(503);
    expect(res.json<{ detail: string }>().detail).toBe('no OTP sent: the ID system answered HTTP 500');
    expect(ida.calls).toBe(calls + 1);
  });

  it('refuses OTP verification without its OTP or transaction, and an OTP for an unknown UIN', async () => {
    const missing = await verify(people['known']!, { method: 'otp', otp: '123456' });
    expect(missing.statusCode).toBe(400);
    expect(missing.json<{ errors: { pointer: string }[] }>().errors).toEqual([
      expect.objectContaining({ pointer: '/transaction_id' }),
    ]);
    expect((await verify(people['known']!, { otp: '123456' })).statusCode).toBe(400);
    expect((await verify(people['known']!, { method: 'sms' })).statusCode).toBe(400);
    const unknown = await post('/api/v1/ibr/identity/otp', { person_id: people['unknown'] });
    expect(unknown.statusCode).toBe(422);
    expect(unknown.json<{ detail: string }>().detail).toMatch(/IDA-MLC-018/);
    expect(
      (await post('/api/v1/ibr/identity/otp', { person_id: people['known'], channels: ['fax'] })).statusCode,
    ).toBe(400);
  });
});

describe('verification on enrollment', () => {
  const enroll = (person: string, extra: object = {}) =>
    post('/api/v1/ibr/enrollments', {
      program: 'PEN',
      beneficiary: { type: 'individual', id: person },
      verify_identity: true,
      ...extra,
    });
  const enrollmentsOf = (person: string) =>
    t.database.db
      .selectFrom('enrollments')
      .select('id')
      .where('individual_id', '=', person)
      .execute()
      .then((rows) => rows.length);

  it('enrolls nobody when the identity does not match (422) or IDA cannot answer (503)', async () => {
    const noMatch = await enroll(people['wrong-dob']!);
    expect(noMatch.statusCode).toBe(422);
    expect(noMatch.json<{ detail: string }>().detail).toMatch(
      /^identity not verified: the national ID system found no match \(verification [0-9a-f-]{36}\); nothing was enrolled$/,
    );
    expect(await enrollmentsOf(people['wrong-dob']!)).toBe(0);
    ida.mode = 'down';
    const down = await enroll(people['known']!);
    expect(down.statusCode).toBe(503);
    expect(await enrollmentsOf(people['known']!)).toBe(0);
  });

  it('enrolls once the identity matches; households cannot ask for it', async () => {
    await new Promise((resolve) => setTimeout(resolve, 1100)); // the circuit may have opened above
    const res = await enroll(people['known']!);
    expect(res.statusCode, res.body).toBe(201);
    expect(await enrollmentsOf(people['known']!)).toBe(1);
    const household = await enroll(people['known']!, {
      beneficiary: { type: 'household', id: people['known'] },
    });
    expect(household.statusCode).toBe(400);
    expect(household.json<{ detail: string }>().detail).toMatch(/verify_identity applies to a person/);
  });
});

describe('configuration', () => {
  it('refuses to start the mosip adapter without its settings or with unreadable key files', () => {
    const base = { SPX_ID_VERIFY_ADAPTER: 'mosip', SPX_ID_VERIFY_URL: 'http://127.0.0.1:9/ida' };
    expect(() => identityVerifierOf(loadConfig(base))).toThrow(/SPX_ID_VERIFY_MOSIP: must be set/);
    expect(() =>
      identityVerifierOf(loadConfig({ ...base, SPX_ID_VERIFY_MOSIP: '{"partner_id":"x"}' })),
    ).toThrow(/needs misp_license_key, partner_api_key, ida_certificate, partner_key, partner_certificate/);
    const missingFile = { ...ida.settings, partner_key: join(dir, 'nope.key') };
    expect(() =>
      identityVerifierOf(loadConfig({ ...base, SPX_ID_VERIFY_MOSIP: JSON.stringify(missingFile) })),
    ).toThrow(/cannot read the partner key .*nope\.key \(ENOENT\)/);
  });

  it('the rest-json adapter has no OTP flow', async () => {
    const bare = await createTestApp({ idVerifyUrl: 'http://127.0.0.1:9/verify' });
    try {
      const household = await insertHousehold(bare.database.db);
      const person = await insertIndividual(bare.database.db, household);
      const res = await bare.app.inject({
        method: 'POST',
        url: '/api/v1/ibr/identity/otp',
        headers: { authorization: `Bearer ${bare.adminKey}` },
        payload: { person_id: person },
      });
      expect(res.statusCode).toBe(400);
      expect(res.json<{ detail: string }>().detail).toBe(
        'the configured ID system (rest-json) does not verify by otp',
      );
    } finally {
      await bare.close();
    }
  });
});
