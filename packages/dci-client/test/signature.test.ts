import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { formatSignature, parseSignature, SignatureFormatError } from '../src/signature/format.ts';
import { envelopeDigest, signatureOf, signingString } from '../src/signature/sign.ts';
import { DEFAULT_SIGNATURE_LIMITS, verifyEnvelope } from '../src/signature/verify.ts';

const params = {
  kid: { senderId: 'spmis.example.org', keyId: 'key-1', algorithm: 'ed25519' as const },
  algorithm: 'ed25519' as const,
  created: 1606970629,
  expires: 1607030629,
  signature: 'c2lnbmF0dXJl',
};

describe('the DCI signature string', () => {
  it('is written as the spec example and read back', () => {
    const text = formatSignature(params);
    expect(text).toBe(
      'Signature: namespace="spdci", kidId="spmis.example.org|key-1|ed25519", algorithm="ed25519", ' +
        'created="1606970629", expires="1607030629", headers="(created) (expires) digest", signature="c2lnbmF0dXJl"',
    );
    expect(parseSignature(text)).toEqual(params);
  });

  it('is read leniently where nothing depends on it: spacing, namespace, keyId, the rsa alias', () => {
    const text =
      '  namespace="dci" ,keyId="a|b|rsa",  algorithm="RSA", created="1", expires="2",' +
      ' headers="(created)  (expires) digest", signature="AAAA=="  ';
    expect(parseSignature(text)).toMatchObject({
      kid: { senderId: 'a', keyId: 'b', algorithm: 'rsa-sha256' },
      algorithm: 'rsa-sha256',
    });
  });

  it.each([
    ['no kid', 'algorithm="ed25519"'],
    ['an unknown algorithm', formatSignature(params).replace('algorithm="ed25519"', 'algorithm="hmac"')],
    [
      'times that are not Unix seconds',
      formatSignature(params).replace('created="1606970629"', 'created="soon"'),
    ],
    ['a signature that is not base64', formatSignature(params).replace('c2lnbmF0dXJl', 'c2ln bmF0')],
    ['an unquoted value', formatSignature(params).replace('"ed25519", created', 'ed25519, created')],
    ['a huge string', `kidId="${'a'.repeat(5000)}"`],
  ])('is refused with %s', (_name, text) => {
    expect(() => parseSignature(text)).toThrow(SignatureFormatError);
  });
});

describe('what a DCI signature covers', () => {
  const envelope = { header: { b: 1, a: 'x', n: 1.5e21 }, message: { list: [1, { z: true, y: null }] } };

  it('is the canonical JSON (RFC 8785) of header and message: key order and spacing do not matter', () => {
    const reordered = JSON.parse(
      '{ "message": {"list":[1,{"y":null,"z":true}]}, "header": {"n":1.5e21,"a":"x","b":1} }',
    );
    expect(envelopeDigest(reordered)).toBe(envelopeDigest(envelope));
    expect(envelopeDigest({ ...envelope, message: { list: [1] } })).not.toBe(envelopeDigest(envelope));
    expect(envelopeDigest(envelope)).toMatch(/^BLAKE-512=[A-Za-z0-9+/]{86}==$/);
  });

  it('is signed as (created), (expires) and the digest, one per line', () => {
    expect(signingString(1, 2, 'BLAKE-512=x')).toBe('(created): 1\n(expires): 2\ndigest: BLAKE-512=x');
  });

  it.each(['ed25519', 'rsa-sha256'] as const)(
    'verifies with %s, and only with the right key',
    async (algorithm) => {
      const pair = () =>
        algorithm === 'ed25519'
          ? generateKeyPairSync('ed25519')
          : generateKeyPairSync('rsa', { modulusLength: 2048 });
      const { publicKey, privateKey } = pair();
      const kid = { senderId: 'a.example.org', keyId: 'k', algorithm };
      const message = { header: { sender_id: 'a.example.org' }, message: { x: 1 } };
      const signed = { ...message, signature: signatureOf(message, { kid, privateKey }) };
      const options = (key = publicKey) => ({
        required: true,
        now: new Date(),
        limits: DEFAULT_SIGNATURE_LIMITS,
        findKey: async () => key,
      });
      await expect(verifyEnvelope(signed, options())).resolves.toBeUndefined();
      await expect(verifyEnvelope(signed, options(pair().publicKey))).rejects.toMatchObject({
        code: 'err.signature.invalid',
      });
    },
  );
});
