import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSignature } from '@spx/dci-client';
import { createTestApp, type TestApp } from '#test/app';
import { seedRegistry } from './fixtures.ts';
import { idType, searchMessage } from './harness.ts';

/** SPX_DCI_ID: the id the gateway answers as, and the only receiver_id it accepts. */
describe('our DCI id (SPX_DCI_ID)', () => {
  let t: TestApp;
  let key: string;

  beforeAll(async () => {
    t = await createTestApp({ dciId: 'sr.example.org' });
    await seedRegistry(t.database.db);
    key = await t.keyFor('integrator');
  });
  afterAll(() => t.close());

  const search = (receiverId: string | undefined) => {
    const message = searchMessage(idType('Group', 'UIN', 'UIN-E1'));
    if (receiverId === undefined) {
      delete message.header['receiver_id'];
    } else {
      message.header['receiver_id'] = receiverId;
    }
    return t.app.inject({
      method: 'POST',
      url: '/dci/sr/registry/sync/search',
      headers: { authorization: `Bearer ${key}` },
      payload: message,
    });
  };

  it('answers as that id, and signs under it', async () => {
    for (const receiverId of ['sr.example.org', undefined]) {
      const res = await search(receiverId);
      expect(res.statusCode, res.body).toBe(200);
      const body = res.json();
      expect(body.header.sender_id).toBe('sr.example.org');
      expect(parseSignature(body.signature).kid.senderId).toBe('sr.example.org');
    }
  });

  it('refuses a message addressed to another registry', async () => {
    const res = await search('ibr.elsewhere.org');
    expect(res.statusCode).toBe(400);
    expect(JSON.stringify(res.json())).toContain('err.receiver_id.invalid');
  });
});
