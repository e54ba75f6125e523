import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '#test/app';
import { insertEnrollment, insertHousehold, insertIndividual, insertProgram } from '#test/factories';
import { example } from '#test/dci/harness';
import { lookupProgram, lookupRoutes, type LookupKey } from '#test/lookup-routes';
import { newClient } from '#test/clients';
import { setPolicy } from './helpers.ts';

/**
 * A lookup key passes the field policy of a filter on its field: whether a person is found by a
 * value says what the value is, and the person id found opens the de-identified record. Every
 * route that takes a lookup key is walked.
 */
describe('lookup keys under the field policy', () => {
  let t: TestApp;
  let personId: string;
  let analyst: string;
  let integrator: string;
  const values: Record<LookupKey, string> = {
    identifier: 'NID-LOOKUP-1',
    phone: '+255700004242',
    program_beneficiary_id: 'BEN-LOOKUP-1',
  };

  beforeAll(async () => {
    t = await createTestApp();
    const db = t.database.db;
    const household = await insertHousehold(db);
    personId = await insertIndividual(db, household, { phone: values.phone }, [
      { type: 'UIN', value: values.identifier },
    ]);
    const program = await insertProgram(db, { code: 'CCT-LOOKUP', target_unit: 'individual' });
    await insertEnrollment(
      db,
      program,
      { individual_id: personId },
      { program_beneficiary_id: values.program_beneficiary_id },
    );
    await lookupProgram(t);
    analyst = (await newClient(t, 'analyst')).key;
    integrator = (await newClient(t, 'integrator')).key;
  });
  afterAll(() => t.close());

  it.each(lookupRoutes.map((route) => [route.name, route] as const))(
    'an analyst may not look a person up: %s',
    async (_name, route) => {
      const refused = await route.ask(t, analyst, values[route.key]);
      expect(refused.body).toMatch(/may not search by/);
      expect(refused.body).not.toContain(personId);
      // An integrator, who sees identifiers and contacts, finds the person.
      const found = await route.ask(t, integrator, values[route.key]);
      expect(found.statusCode, found.body).toBe(200);
      expect(found.body).not.toMatch(/may not search by/);
    },
  );

  it('a client whose agreement hides contacts may not look a person up by phone', async () => {
    const mis = await newClient(t, 'integrator');
    await setPolicy(t, mis.id, { hidden_fields: ['contact'] });
    for (const route of lookupRoutes.filter((r) => r.key === 'phone')) {
      const res = await route.ask(t, mis.key, values.phone);
      expect(res.statusCode, route.name).toBe(403);
      expect(res.json<{ detail: string }>().detail).toBe('your role may not search by phone');
    }
    // By identifier, which the agreement leaves visible, it may.
    const [byIdentifier] = lookupRoutes.filter((r) => r.name === 'IBR participation by identifier');
    expect((await byIdentifier!.ask(t, mis.key, values.identifier)).statusCode).toBe(200);
  });

  it('a writer whose agreement hides identifiers may not report beneficiaries, which are found by identifier', async () => {
    const writer = await newClient(t, 'system');
    await setPolicy(t, writer.id, { hidden_fields: ['identifier'] });
    const message = example<{ header: Record<string, unknown> }>('ibr-sync-enrollment-updates-request');
    message.header['message_id'] = `msg-push-${Date.now()}`;
    const res = await t.app.inject({
      method: 'POST',
      url: '/dci/ibr/registry/sync/enrollment/updates',
      headers: { authorization: `Bearer ${writer.key}` },
      payload: message,
    });
    expect(res.statusCode, res.body).toBe(403);
    expect(res.json()).toEqual({
      errors: [{ code: 'err.request.forbidden', message: 'your role may not search by member identifier' }],
    });
  });
});
