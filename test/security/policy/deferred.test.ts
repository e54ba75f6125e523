import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { principalOf } from '#dci/exchange/receive';
import { asyncSearch } from '#test/dci/exchanges';
import { groupNumbers, keysDeep, seedRegistry, type ResponseItem } from '#test/dci/fixtures';
import { createDciApp, predicate, type DciTestApp } from '#test/dci/harness';
import { newSubscriber, type Subscriber } from '#test/dci/subscriptions';

/**
 * Work done for a client after its request (async DCI answers, subscription notifications) runs
 * under its data sharing agreement as it stands when the work is done.
 */
describe('per-client policy on deferred work', () => {
  let t: DciTestApp;
  /** An integrator that signs its messages and receives callbacks on a server of its own. */
  let client: Subscriber;

  beforeAll(async () => {
    t = await createDciApp();
    await seedRegistry(t.database.db);
    client = await newSubscriber(t);
  });
  afterAll(async () => {
    await t.close();
    await client.server.close();
  });

  const setPolicy = async (policy: Record<string, unknown>) => {
    const res = await t.asAdmin('PUT', `/api/v1/clients/${client.id}/policy`, {
      agreement_ref: 'DSA-ASYNC',
      ...policy,
    });
    expect(res.statusCode, res.body).toBe(200);
  };

  it('answers an async search with the areas and fields of the agreement only', async () => {
    await setPolicy({
      area_codes: ['R02'],
      hidden_fields: ['name'],
      operations: ['dci.social.search.async'],
    });
    const before = client.server.received.length;
    const message = asyncSearch(undefined, predicate('Group', ['group_size', 'ge', 0]));
    const res = await t.post('/dci/sr/registry/search', client.sign(message), client.key);
    expect(res.statusCode, res.body).toBe(202);

    const [call] = (await client.server.waitFor(before + 1)).slice(before);
    const [item] = (call!.body as { message: { search_response: ResponseItem[] } }).message.search_response;
    expect(groupNumbers(item).sort()).toEqual(['HH-E', 'HH-F']);
    expect(item!.pagination!.total_count).toBe(2);
    const keys = keysDeep(item!.data);
    expect(keys).not.toContain('given_name');
    expect(keys).not.toContain('name');
  });

  it('refuses an async search outside the agreement with an ERR acknowledgement in DCI codes', async () => {
    await setPolicy({ operations: ['dci.social.search'] });
    const res = await t.post(
      '/dci/sr/registry/search',
      client.sign(asyncSearch(undefined, predicate('Group', ['group_size', 'ge', 0]))),
      client.key,
    );
    expect(res.statusCode).toBe(403);
    expect(res.json()).toEqual({
      errors: [
        { code: 'err.request.forbidden', message: expect.stringContaining('dci.social.search.async') },
      ],
    });
  });

  it('gives no principal for later work once the agreement has expired', async () => {
    const key = await t.database.db
      .selectFrom('api_keys')
      .select('id')
      .where('client_id', '=', client.id)
      .executeTakeFirstOrThrow();
    const exchange = { client_id: client.id, key_id: key.id, auth_method: 'api_key', scopes: null };
    await setPolicy({ area_codes: ['R01'], purposes: ['audit'] });
    expect(await principalOf(t.database.db, exchange)).toMatchObject({
      areaScope: ['R01'],
      purposes: ['audit'],
    });
    await setPolicy({ valid_until: '2020-01-01T00:00:00Z' });
    expect(await principalOf(t.database.db, exchange)).toBeUndefined();
  });
});
