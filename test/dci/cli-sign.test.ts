import { createPublicKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_SIGNATURE_LIMITS, parseSignature, verifyEnvelope } from '@spx/dci-client';
import { runSpx } from '#test/spx';

/**
 * `spx dci keygen` and `spx dci sign`, as an integrator runs them before curl: real spx processes,
 * of the built CLI that loads only what these commands need (about a second each).
 */
describe('spx dci keygen | sign', () => {
  const dir = mkdtempSync(join(tmpdir(), 'spx-dci-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const spx = (...args: string[]) => runSpx(['dci', ...args]);

  it('makes a key pair and a signed envelope that verifies with the printed public key', async () => {
    const keyFile = join(dir, 'key.pem');
    const keygen = await spx('keygen', '--out', keyFile);
    expect(keygen.code).toBe(0);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const jwk = JSON.parse(keygen.stdout) as { kty: string; crv: string; d?: string };
    expect(jwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519' });
    expect(jwk.d).toBeUndefined();

    const input = 'test/dci/examples/sr-sync-search-idtype-request.json';
    const signed = await spx('sign', '--key', keyFile, '--key-id', 'k1', '--fresh', '--in', input);
    expect(signed.code).toBe(0);
    const envelope = JSON.parse(signed.stdout) as { signature: string; header: { message_ts: string } };
    expect(parseSignature(envelope.signature).kid).toEqual({
      senderId: 'spmis.example.org',
      keyId: 'k1',
      algorithm: 'ed25519',
    });
    expect(Date.now() - Date.parse(envelope.header.message_ts)).toBeLessThan(60_000);
    const publicKey = createPublicKey({ key: jwk, format: 'jwk' });
    const options = { required: true, now: new Date(), limits: DEFAULT_SIGNATURE_LIMITS };
    await expect(
      verifyEnvelope(envelope, { ...options, findKey: async () => publicKey }),
    ).resolves.toBeUndefined();
  });

  it('never replaces a key file without --force: it may hold the key that is registered', async () => {
    const keyFile = join(dir, 'registered.pem');
    writeFileSync(keyFile, 'the registered key', { mode: 0o644 });
    const refused = await spx('keygen', '--out', keyFile);
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim()).toBe(`spx: ${keyFile} exists: pass --force to replace it`);
    expect(readFileSync(keyFile, 'utf8')).toBe('the registered key');

    const replaced = await spx('keygen', '--out', keyFile, '--force');
    expect(replaced.code).toBe(0);
    expect(readFileSync(keyFile, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
  });

  it('says what is wrong with its input', async () => {
    const keyFile = join(dir, 'key2.pem');
    await spx('keygen', '--out', keyFile);
    const notEnvelope = join(dir, 'x.json');
    writeFileSync(notEnvelope, '{"a":1}\n');
    const res = await spx('sign', '--key', keyFile, '--key-id', 'k1', '--in', notEnvelope);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/not a DCI envelope/);
    expect((await spx('keygen', '--out', join(dir, 'k3.pem'), '--algorithm', 'dsa')).stderr).toMatch(
      /ed25519 or rsa-sha256/,
    );
  });
});
