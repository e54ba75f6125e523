import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groupNumbers, itemsOf, seedRegistry, type Registry6 } from './fixtures.ts';
import { createDciApp, idType, predicate, searchMessage, type DciTestApp } from './harness.ts';

/** search_criteria stating a purpose, as the spec's `consent` object carries it. */
const withConsent = (criteria: Record<string, unknown>, code: string) => ({
  ...criteria,
  consent: { '@type': 'Consent', ts: '2025-01-15T10:00:00Z', purpose: { text: 'Cash transfer', code } },
});

describe('DCI consent and purpose', () => {
  let t: DciTestApp;
  let registry: Registry6;
  let admin: string;
  let needsConsent: { id: string; key: string };
  let plain: { id: string; key: string };

  beforeAll(async () => {
    t = await createDciApp();
    registry = await seedRegistry(t.database.db);
    admin = await t.keyFor('admin');
    needsConsent = await t.clientFor('integrator');
    plain = await t.clientFor('integrator');
    const set = await t.app.inject({
      method: 'PUT',
      url: `/api/v1/clients/${needsConsent.id}/dci/consent`,
      headers: { authorization: `Bearer ${admin}` },
      payload: { consent_required: true },
    });
    expect(set.json()).toEqual({ client_id: needsConsent.id, consent_required: true });
    const { amina, baraka, halima } = registry.persons;
    // Amina (head of A) consented to cash transfers; Baraka (head of B) to something else only;
    // Halima (head of C) consented and then withdrew.
    await sql`insert into consents (individual_id, purpose, withdrawn_at) values
      (${amina}, 'cash_transfer', null), (${baraka}, 'research', null), (${halima}, 'cash_transfer', now())`.execute(
      t.database.db,
    );
  });
  afterAll(() => t.close());

  const region = predicate('Group', ['location', 'eq', 'R01']);

  it('gives a client that needs consent only the households whose head consented to the stated purpose', async () => {
    const [item] = itemsOf(
      await t.search('sr', searchMessage(withConsent(region, 'cash_transfer')), needsConsent.key),
    );
    expect(groupNumbers(item)).toEqual(['HH-A']);
    expect(item!.pagination).toMatchObject({ total_count: 1 });
    const [research] = itemsOf(
      await t.search('sr', searchMessage(withConsent(region, 'research')), needsConsent.key),
    );
    expect(groupNumbers(research)).toEqual(['HH-B']);
  });

  it('applies consent to person records, and rejects an item that states no purpose', async () => {
    const [amina, neema, unstated] = itemsOf(
      await t.search(
        'sr',
        searchMessage(
          withConsent(idType('Member', 'UIN', 'UIN-A1'), 'cash_transfer'),
          withConsent(idType('Member', 'UIN', 'UIN-B2'), 'cash_transfer'),
          idType('Member', 'UIN', 'UIN-A1'),
        ),
        needsConsent.key,
      ),
    );
    expect(amina!.data!.reg_records).toHaveLength(1);
    expect(neema).toMatchObject({ status: 'succ', pagination: { total_count: 0 } });
    expect(unstated).toMatchObject({
      status: 'rjct',
      status_reason_code: 'rjct.search_criteria.invalid',
      status_reason_message: expect.stringContaining('consent.purpose.code'),
    });
  });

  it('answers bad settings input with a clear error and changes nothing', async () => {
    const put = (body: unknown, key = admin) =>
      t.app.inject({
        method: 'PUT',
        url: `/api/v1/clients/${needsConsent.id}/dci/consent`,
        headers: { authorization: `Bearer ${key}` },
        payload: body as object,
      });
    expect((await put({ consent_required: 'yes' })).statusCode).toBe(400);
    expect((await put({})).statusCode).toBe(400);
    expect((await put({ consent_required: false }, needsConsent.key)).statusCode).toBe(403);
    const read = await t.app.inject({
      method: 'GET',
      url: `/api/v1/clients/${needsConsent.id}/dci/consent`,
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(read.json()).toEqual({ client_id: needsConsent.id, consent_required: true });
  });

  it('rejects a malformed purpose code rather than ignoring it', async () => {
    const bad = withConsent(region, 'cash transfer; drop table');
    const [item] = itemsOf(await t.search('sr', searchMessage(bad), plain.key));
    expect(item).toMatchObject({ status: 'rjct', status_reason_code: 'rjct.search_criteria.invalid' });
  });

  it('records the purpose and the ids of the returned records in the audit entry', async () => {
    const message = searchMessage(withConsent(region, 'cash_transfer'));
    const [item] = itemsOf(await t.search('sr', message, plain.key));
    // Without a consent requirement the client gets all four households of R01.
    expect(groupNumbers(item).sort()).toEqual(['HH-A', 'HH-B', 'HH-C', 'HH-D']);
    const res = await t.app.inject({
      method: 'GET',
      url: `/api/v1/audit?subject_id=${registry.households.C}&client_id=${plain.id}`,
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(res.statusCode).toBe(200);
    const [entry] = res.json().items;
    expect(entry).toMatchObject({
      action: 'dci.social.search',
      purpose: 'cash_transfer',
      record_count: 4,
      outcome: 'success',
    });
    expect([...entry.subject_ids].sort()).toEqual(Object.values(registry.households).slice(0, 4).sort());
    const verified = await t.app.inject({
      method: 'GET',
      url: '/api/v1/audit/verify',
      headers: { authorization: `Bearer ${admin}` },
    });
    expect(verified.json()).toMatchObject({ ok: true });
  });
});
