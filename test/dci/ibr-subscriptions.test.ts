import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateResponse } from '#dci/spec';
import { insertEnrollment, insertProgram } from '#test/factories';
import { startCallbackServer, type CallbackServer } from './callback-server.ts';
import { seedRegistry, type Registry6 } from './fixtures.ts';
import { createDciApp, type DciTestApp, type TestSigner } from './harness.ts';
import {
  criteria,
  notificationsTo,
  nthCall,
  quietly,
  settledNotifications,
  subscribeMessage,
  where,
  type Json,
} from './subscriptions.ts';

describe('DCI subscriptions on the IBR: enrollments, status changes, deregistrations', () => {
  let t: DciTestApp;
  let registry: Registry6;
  let server: CallbackServer;
  let client: { id: string; key: string; sign: TestSigner };
  let cct: string;
  let pension: string;

  beforeAll(async () => {
    t = await createDciApp();
    registry = await seedRegistry(t.database.db);
    cct = await insertProgram(t.database.db, { code: 'CCT', name: 'Conditional cash transfer' });
    pension = await insertProgram(t.database.db, {
      code: 'SPEN',
      name: 'Social pension',
      target_unit: 'individual',
    });
    server = await startCallbackServer();
    const { id, key } = await t.clientFor('integrator');
    client = { id, key, sign: await t.signerFor(id) };
    await t.setCallbacks(id, {
      callback_origins: [server.origin],
      callback_uri: `${server.origin}/ibr`,
      allow_private_addresses: true,
    });
  });
  afterAll(async () => {
    await t.close();
    await server.close();
  });

  const db = () => t.database.db;
  const notifications = () => notificationsTo(server, '/ibr/registry/notify', 'ibr');

  async function subscribe(...items: Json[]): Promise<Json[]> {
    const res = await t.post(
      '/dci/ibr/registry/subscribe',
      client.sign(subscribeMessage(undefined, ...items)),
      client.key,
    );
    expect(res.statusCode, res.body).toBe(202);
    expect(validateResponse({ registry: 'ibr', path: '/registry/subscribe' }, res.json())).toEqual([]);
    const answer = await nthCall(server, '/ibr/registry/on-subscribe', 'ibr', '/registry/on-subscribe', 1);
    return answer['message'].subscribe_response;
  }

  it('notifies the IBR Beneficiary record of each matching enrollment event, spec-valid', async () => {
    const programme = where('programme_identifier', 'eq', 'CCT');
    const items = await subscribe(
      criteria('enrollement', 'Beneficiary', 'predicate', programme),
      criteria('enrollement_status_change', 'Beneficiary', 'predicate', programme),
      criteria('Deregister', 'Beneficiary', 'predicate', programme),
      criteria('REGISTER', 'Beneficiary', 'predicate', programme),
    );
    expect(items.map((item) => item['status_reason_code'] ?? item['status'])).toEqual([
      'succ',
      'succ',
      'succ',
      'rjct.notify_types.invalid',
    ]);
    const [enrollments, statusChanges, deregistrations] = items.map(
      (item) => item['subscriptions']?.[0].code as string,
    );

    const enrollment = await insertEnrollment(db(), cct, { household_id: registry.households.B });
    await insertEnrollment(db(), pension, { individual_id: registry.persons['halima']! });
    await settledNotifications(db(), enrollments!, 1);
    const setStatus = (status: string) =>
      db().updateTable('enrollments').set({ status }).where('id', '=', enrollment).execute();
    await setStatus('suspended');
    await settledNotifications(db(), statusChanges!, 1);
    // An update that leaves the status as it is, is no event.
    await db()
      .updateTable('enrollments')
      .set({ benefit_amount: 50000 })
      .where('id', '=', enrollment)
      .execute();
    await setStatus('exited');
    await settledNotifications(db(), deregistrations!, 1);
    await quietly();

    const events = notifications().map((n) => n['message'].notify_event[0]);
    expect(events.map((e: Json) => [e['reference_id'], e['data'].reg_event_type])).toEqual([
      [enrollments, 'enrollement'],
      [statusChanges, 'enrollement_status_change'],
      [deregistrations, 'Deregister'],
    ]);
    expect(events[0]['data']).toMatchObject({
      reg_record_type: 'Beneficiary',
      reg_records: expect.objectContaining({
        programme_identifier: [expect.objectContaining({ programme_identifier: 'CCT' })],
        enrollment_status: 'Active',
      }),
    });
    expect(events[2]['data'].reg_records).toMatchObject({ enrollment_status: 'Exited' });
  });
});
