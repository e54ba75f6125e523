import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { exportJWK, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encryptMessage } from '@spx/dci-client';
import { verifyAuditChain } from '#platform/audit/audit-log';
import { seedRegistry } from '../dci/fixtures.ts';
import { createDciApp, idType, searchMessage, type DciTestApp, type TestSigner } from '../dci/harness.ts';

/**
 * Replayed DCI messages: a message id is accepted once per client (rjct.message_id.duplicate), the
 * signature covers the header, so a replay cannot get a fresh message id without the sender's key,
 * and a message or signature out of its time window is refused. Async duplicates, IBR pushes and
 * stale message_ts are covered beside their routes (test/dci/async-search, ibr-enrollment, signatures).
 */
describe('replayed messages', () => {
  let t: DciTestApp;
  let client: { id: string; key: string };
  let signer: TestSigner;

  beforeAll(async () => {
    t = await createDciApp();
    await seedRegistry(t.database.db);
    client = await t.clientFor('integrator');
    await t.setSignature(client.id, { signature_policy: 'all' });
    signer = await t.signerFor(client.id);
  });
  afterAll(() => t.close());

  const duplicate = (res: { statusCode: number; json(): unknown }) => {
    expect(res.statusCode).toBe(409);
    const body = res.json() as { header: Record<string, unknown>; message?: unknown };
    expect(body.header).toMatchObject({ status: 'rjct', status_reason_code: 'rjct.message_id.duplicate' });
    expect(body.message).toBeUndefined(); // nothing answered twice
  };

  it('refuses the same signed message sent twice, byte for byte, and answers it once', async () => {
    const signed = JSON.stringify(signer(searchMessage(idType('Group', 'UIN', 'UIN-A1'))));
    const first = await t.search('sr', signed, client.key);
    expect(first.statusCode).toBe(200);
    duplicate(await t.search('sr', signed, client.key));
  });

  it('answers one of the copies of each message sent at once; each copy is audited once, each answer recorded once', async () => {
    // Messages that arrive together go in one batch of audit entries and exchange records: a batch
    // refused for a copy is written again entry by entry, so that only the copy is refused.
    const messages = Array.from({ length: 4 }, () =>
      JSON.stringify(signer(searchMessage(idType('Group', 'UIN', 'UIN-A1')))),
    );
    const entriesBefore = await auditEntries();
    const copies = [...messages, ...messages, ...messages];
    const answers = await Promise.all(copies.map((body) => t.search('sr', body, client.key)));
    for (const body of messages) {
      const own = answers.filter((_, i) => copies[i] === body);
      expect(own.map((res) => res.statusCode).sort()).toEqual([200, 409, 409]);
      own.filter((res) => res.statusCode === 409).forEach(duplicate);
      const recorded = await t.database.db
        .selectFrom('dci_exchanges')
        .select(['status'])
        .where('client_id', '=', client.id)
        .where('message_id', '=', String(JSON.parse(body).header.message_id))
        .execute();
      expect(recorded).toEqual([{ status: 'succ' }]);
    }
    const entries = (await auditEntries()).slice(entriesBefore.length);
    expect(entries.map((e) => e.status_code).sort()).toEqual([...Array(4).fill(200), ...Array(8).fill(409)]);
    // Only the answers name the households they returned.
    expect(entries.filter((e) => e.subject_ids !== null).map((e) => e.status_code)).toEqual(
      Array(4).fill(200),
    );
    expect(await verifyAuditChain(t.database.db)).toMatchObject({ ok: true });
  });

  const auditEntries = () =>
    t.database.db
      .selectFrom('audit_log')
      .select(['status_code', 'subject_ids'])
      .where('client_id', '=', client.id)
      .where('action', '=', 'dci.social.search')
      .orderBy('seq')
      .execute();

  it('cannot be replayed under a fresh message id: the signature covers the header', async () => {
    const signed = signer(searchMessage(idType('Group', 'UIN', 'UIN-A1')));
    expect((await t.search('sr', signed, client.key)).statusCode).toBe(200);
    const renamed = structuredClone(signed);
    renamed.header['message_id'] = `${String(signed.header['message_id'])}-again`;
    const res = await t.search('sr', renamed, client.key);
    expect(res.statusCode).toBe(401);
    expect(res.json().errors[0]).toEqual({
      code: 'err.signature.invalid',
      message: 'the signature is invalid: it does not match the header and message with this key',
    });
  });

  it('refuses an encrypted message replayed as a duplicate too', async () => {
    const registered = await t.asAdmin('POST', `/api/v1/clients/${client.id}/dci/keys`, {
      use: 'enc',
      jwk: await exportJWK(generateKeyPairSync('x25519').publicKey),
    });
    expect(registered.statusCode).toBe(201);
    const ours = (await t.app.inject({ url: '/.well-known/jwks.json' }))
      .json<{ keys: JWK[] }>()
      .keys.find((k) => k.use === 'enc')!;
    const message = searchMessage(idType('Group', 'UIN', 'UIN-A1'));
    message.header['is_msg_encrypted'] = true;
    const key = createPublicKey({ key: ours as never, format: 'jwk' });
    const encrypted = {
      ...message,
      message: await encryptMessage(message.message, { kid: ours.kid!, key, algorithm: 'ECDH-ES+A256KW' }),
    };
    const signed = JSON.stringify(signer(encrypted));
    expect((await t.search('sr', signed, client.key)).statusCode).toBe(200);
    duplicate(await t.search('sr', signed, client.key));
  });

  it('refuses a message whose signature expired, however fresh its message_ts', async () => {
    const now = Math.floor(Date.now() / 1000);
    const signed = signer(searchMessage(idType('Group', 'UIN', 'UIN-A1')), {
      created: now - 7200,
      expires: now - 60,
    });
    const res = await t.search('sr', signed, client.key);
    expect(res.statusCode).toBe(401);
    expect(res.json().errors[0].message).toMatch(/^the signature is invalid: it expired \d+ s ago$/);
  });

  it('refuses a message sent more than a day ago, even when signed just now', async () => {
    const message = searchMessage(idType('Group', 'UIN', 'UIN-A1'));
    message.header['message_ts'] = new Date(Date.now() - 25 * 3600_000).toISOString();
    const res = await t.search('sr', signer(message), client.key);
    expect(res.statusCode).toBe(400);
    expect(res.json().errors[0].message).toMatch(
      /^rjct\.message_ts\.invalid: header\.message_ts is \d+ s old/,
    );
  });
});
