import { generateKeyPairSync } from 'node:crypto';
import { canonicalJson, signEnvelope } from '@spx/dci-client';
import { describe, expect, it } from 'vitest';
import { jsonPieces } from '#platform/http/long-reads';
import { CANONICAL, signedEnvelopeJson } from './signed-json.ts';

/** What a DCI answer looks like, with the values JSON treats specially. */
const answer = (records: number) => ({
  header: { message_id: 'm-1', action: 'on-search', total_count: records, 'b-key': 2, '10': 1, '9': 0 },
  message: {
    search_response: Array.from({ length: records }, (_, i) => ({
      reference_id: `r${i}`,
      data: {
        reg_records: [
          {
            identifier: [{ type: 'UIN', value: `${i}` }],
            name: { given: 'Zoë "Z"', sur: 'Ó\u2028' },
            n: i / 3,
          },
        ],
        gone: undefined,
        holes: [undefined, () => 1, new Date(0), -0, 1e21],
      },
    })),
  },
});
const deep = (n: number): unknown => (n === 0 ? { z: 1, a: [undefined] } : { [`k${n}`]: [deep(n - 1)] });

describe('signed JSON written in pieces', () => {
  it('writes canonical JSON in pieces as canonicalJson writes it whole', () => {
    for (const value of [answer(0), answer(1), answer(120), { header: deep(12), message: null }]) {
      expect([...jsonPieces(value, CANONICAL)].join('')).toBe(canonicalJson(value));
    }
  });

  it('signs as signEnvelope does, the signature first', async () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const key = { kid: { senderId: 'spx', keyId: 'k1', algorithm: 'ed25519' as const }, privateKey };
    const times = { created: 1_700_000_000, expires: 1_700_003_600 };
    const envelope = answer(60);
    const text = await signedEnvelopeJson(envelope, key, times);
    const whole = signEnvelope(envelope, key, times);
    expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(whole)));
    expect(text.startsWith(`{"signature":${JSON.stringify(whole.signature)},`)).toBe(true);
  });
});
