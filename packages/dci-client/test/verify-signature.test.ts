import { generateKeyPairSync } from 'node:crypto';
import { exportJWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { signEnvelope } from '../src/signature/sign.ts';
import { signatureVerifier, verifySignature } from '../src/verify-signature.ts';

/** verifySignature against a key set: what signed the message, or why it does not verify. */
describe('verifySignature', () => {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const kid = { senderId: 'sr.example.org', keyId: 'sr-1', algorithm: 'ed25519' as const };
  const message = { header: { sender_id: 'sr.example.org', action: 'on-search' }, message: { n: 1 } };
  const signed = signEnvelope(message, { kid, privateKey });
  const keys = async () => ({ keys: [{ ...(await exportJWK(publicKey)), kid: 'sr-1', alg: 'EdDSA' }] });

  it('answers the kid and times of a message signed with a key of the set', async () => {
    const verified = await verifySignature(signed, await keys(), { senderId: 'sr.example.org' });
    expect(verified).toMatchObject({ kid, algorithm: 'ed25519' });
    expect(verified.expires - verified.created).toBe(3600);
  });

  it('refuses, saying why: another signer, an unknown key, no signature, no envelope, an altered message', async () => {
    const verify = signatureVerifier(await keys());
    const refusals: [unknown, string, RegExp][] = [
      [
        signEnvelope(message, { kid: { ...kid, keyId: 'sr-9' }, privateKey }),
        'invalid',
        /publishes no ed25519 key sr-9/,
      ],
      [{ ...message }, 'missing', /must be signed/],
      ['{"header": 1}', 'invalid', /no DCI envelope/],
      [{ ...signed, message: { n: 2 } }, 'invalid', /does not match/],
    ];
    for (const [body, code, why] of refusals) {
      await expect(verify(body)).rejects.toMatchObject({
        code: `err.signature.${code}`,
        message: expect.stringMatching(why),
      });
    }
    await expect(verifySignature(signed, await keys(), { senderId: 'spx' })).rejects.toMatchObject({
      code: 'err.signature.invalid',
      message: expect.stringContaining('made by sr.example.org, not by spx'),
    });
  });
});
