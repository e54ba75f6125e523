import { configure } from 'safe-stable-stringify';

/**
 * RFC 8785 (JCS) canonical JSON, as the DCI signature digest needs it: object keys sorted by UTF-16
 * code units, no whitespace, numbers and strings as ECMAScript's JSON.stringify writes them (which is
 * what RFC 8785 §3.2.2 prescribes). safe-stable-stringify with `deterministic` writes exactly that
 * (its keys are sorted with the default sort, integer-like keys included), two to three times faster
 * than the `canonicalize` package, which matters for pages of a hundred households signed per answer.
 * canonical.test.ts checks the two agree. Values JSON cannot carry are dropped as JSON.stringify
 * drops them; the registry's data (UTF-8 from PostgreSQL) holds no lone surrogates.
 */
const stringify = configure({ deterministic: true, bigint: false });

/** Canonical JSON of one value, or undefined for what JSON leaves out (as JSON.stringify does). */
export const canonicalStringify = (value: unknown): string | undefined => stringify(value);

export function canonicalJson(value: unknown): string {
  const json = stringify(value);
  if (json === undefined) {
    throw new TypeError('the value cannot be written as JSON');
  }
  return json;
}
