import canonicalize from 'canonicalize';
import { describe, expect, it } from 'vitest';
import { jsonPieces } from '#platform/http/long-reads';
import { CANONICAL, canonicalJson } from './canonical.ts';

/** A reproducible pseudo-random JSON value, deep and wide enough to exercise ordering and escaping. */
function randomValue(seed: number, depth = 0): unknown {
  let state = seed;
  const next = () => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const strings = ['a', 'B', 'é', 'ü\u2028', '😀', '\u0001\t"\\', '', '10', '9', '-1', 'a b'];
  const scalar = () => {
    const r = next();
    if (r < 0.2) {
      return strings[Math.floor(next() * strings.length)];
    }
    if (r < 0.4) {
      return (next() - 0.5) * 10 ** Math.floor(next() * 30);
    }
    if (r < 0.5) {
      return Math.floor(next() * 1000);
    }
    if (r < 0.6) {
      return null;
    }
    return r < 0.8;
  };
  if (depth > 3 || next() < 0.3) {
    return scalar();
  }
  const size = Math.floor(next() * 6);
  if (next() < 0.5) {
    return Array.from({ length: size }, (_, i) => randomValue(seed * 31 + i, depth + 1));
  }
  return Object.fromEntries(
    Array.from({ length: size }, (_, i) => [
      strings[Math.floor(next() * strings.length)]! + (i % 3 === 0 ? '' : String(i)),
      randomValue(seed * 17 + i, depth + 1),
    ]),
  );
}

describe('canonical JSON (RFC 8785)', () => {
  it('writes what the canonicalize package (the JCS reference in JavaScript) writes', () => {
    for (let seed = 1; seed <= 500; seed++) {
      const value = { header: randomValue(seed), message: randomValue(seed + 1000) };
      expect(canonicalJson(value)).toBe(canonicalize(value));
    }
  });

  it('sorts integer-like keys as strings, and writes numbers as ECMAScript does', () => {
    expect(canonicalJson({ b: 1, '10': 2, '9': 3, a: [1e21, -0, 0.1 + 0.2, 1.5e-7] })).toBe(
      '{"10":2,"9":3,"a":[1e+21,0,0.30000000000000004,1.5e-7],"b":1}',
    );
  });

  it('writes the same text in pieces, whatever the depth and the values JSON leaves out', () => {
    const deep = (n: number): unknown =>
      n === 0 ? { z: 1, a: [undefined, () => 1] } : { [`k${n}`]: [deep(n - 1)] };
    for (let seed = 1; seed <= 200; seed++) {
      const value = {
        header: randomValue(seed),
        message: {
          items: [randomValue(seed + 1), deep(5)],
          at: new Date(0),
          gone: undefined,
          holes: [undefined, 2],
        },
      };
      expect([...jsonPieces(value, CANONICAL)].join('')).toBe(canonicalJson(value));
    }
  });
});
