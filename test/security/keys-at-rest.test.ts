import { createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, calculateJwkThumbprint, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, gatewayKeys } from '#app';
import { ConfigError, loadConfig } from '#config/load';
import { DEFAULT_SIGNATURE_LIMITS, verifyEnvelope } from '@spx/dci-client';
import { loadMasterKey } from '#platform/crypto/master-key';
import { createTestApp, type TestApp } from '#test/app';
import { seedRegistry } from '../dci/fixtures.ts';
import { idType, searchMessage } from '../dci/harness.ts';
import { registerClient } from '#test/clients';
import { tokenFor, ISSUER } from '#test/security/oauth/oauth';

/**
 * Our private keys at rest: sealed under the master key in every table that holds one, sealed on the
 * first start when an earlier version left them in the clear, and a wrong master key stops the start.
 */

const KEY_TABLES = ['dci_signing_keys', 'oauth_signing_keys', 'dci_encryption_keys'] as const;

/** Every row of our key tables, as the database would hand them to whoever reads it. */
async function rowsAsText(t: TestApp): Promise<string> {
  const parts = await Promise.all(
    KEY_TABLES.map(
      async (table) =>
        (await t.database.executeSql<{ row: string }>(`select row_to_json(k)::text as row from ${table} k`))
          .rows,
    ),
  );
  return parts
    .flat()
    .map((r) => r.row)
    .join('\n');
}

describe('private keys at rest', () => {
  let t: TestApp;
  let jwks: JWK[];

  beforeAll(async () => {
    t = await createTestApp({ publicUrl: ISSUER });
    await seedRegistry(t.database.db);
    // The first JWKS read makes our keys: DCI signing, DCI encryption, token signing.
    jwks = (await t.get('/.well-known/jwks.json')).json<{ keys: JWK[] }>().keys;
  });
  afterAll(() => t.close());

  it('leaves no private key material in the database: each key is a JWE sealed under the master key', async () => {
    expect(jwks.map((k) => [k.alg, k.use])).toEqual(
      expect.arrayContaining([
        ['EdDSA', 'sig'],
        ['ECDH-ES+A256KW', 'enc'],
      ]),
    );
    const text = await rowsAsText(t);
    expect(text).not.toMatch(/PRIVATE KEY|"d":/);
    const keys = gatewayKeys(t.database.db, t.vault);
    for (const store of Object.values(keys)) {
      const key = await store.current();
      const der = key.privateKey.export({ format: 'der', type: 'pkcs8' });
      const jwk = key.privateKey.export({ format: 'jwk' });
      // Neither the PKCS#8 bytes (as bytea hex or base64) nor the JWK private member appear.
      expect(text).not.toContain(der.toString('hex'));
      expect(text).not.toContain(der.toString('base64'));
      expect(text).not.toContain(String(jwk.d));
    }
    const rows = await t.database.db
      .selectFrom('dci_signing_keys')
      .select(['private_key', 'sealed_private_key'])
      .execute();
    expect(rows).toEqual([
      { private_key: null, sealed_private_key: expect.stringMatching(/^ey[\w-]+(\.[\w-]*){4}$/) },
    ]);
    const header = JSON.parse(
      Buffer.from(rows[0]!.sealed_private_key!.split('.')[0]!, 'base64url').toString(),
    );
    expect(header).toMatchObject({
      alg: 'A256GCMKW',
      enc: 'A256GCM',
      ctx: expect.stringMatching(/^dci_signing_keys\//),
    });
  });

  it('still signs verifiably: DCI answers against the JWKS, access tokens accepted', async () => {
    const key = await t.keyFor('integrator');
    const res = await t.app.inject({
      method: 'POST',
      url: '/dci/sr/registry/sync/search',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      payload: searchMessage(idType('Group', 'UIN', 'UIN-A1')),
    });
    expect(res.statusCode, res.body).toBe(200);
    await expect(
      verifyEnvelope(res.json(), {
        required: true,
        now: new Date(),
        limits: DEFAULT_SIGNATURE_LIMITS,
        findKey: async (kid) =>
          createPublicKey({ key: jwks.find((k) => k.kid === kid.keyId) as never, format: 'jwk' }),
      }),
    ).resolves.toBeUndefined();
    const client = await registerClient(t);
    const token = await tokenFor(t, client.id);
    expect((await t.get('/api/v1/programs', token)).statusCode).toBe(200);
  });
});

describe('keys stored in the clear by an earlier version', () => {
  let t: TestApp;
  afterAll(() => t.drop());

  it('are sealed on the next start, once, and keep signing under the same kid', async () => {
    t = await createTestApp();
    await t.app.close();
    // As migration 0005 and 0008 wrote them: PKCS#8 DER in private_key.
    const legacy = async (table: 'dci_signing_keys' | 'oauth_signing_keys', algorithm: string) => {
      const { publicKey, privateKey } = generateKeyPairSync('ed25519');
      const jwk = await exportJWK(publicKey);
      const id = await calculateJwkThumbprint(jwk);
      const alg = 'EdDSA';
      await t.database.db
        .insertInto(table)
        .values({
          id,
          algorithm,
          public_jwk: JSON.stringify({ ...jwk, kid: id, alg, use: 'sig' }),
          private_key: privateKey.export({ format: 'der', type: 'pkcs8' }),
          status: 'current',
        })
        .execute();
      return { id, der: privateKey.export({ format: 'der', type: 'pkcs8' }) };
    };
    const dci = await legacy('dci_signing_keys', 'ed25519');
    const token = await legacy('oauth_signing_keys', 'EdDSA');

    const restart = async () => {
      const app = await buildApp({ config: t.config, database: t.database, logger: false });
      await app.ready();
      return app;
    };
    const app = await restart();
    try {
      const text = await rowsAsText(t);
      expect(text).not.toContain(dci.der.toString('hex'));
      expect(text).not.toContain(token.der.toString('hex'));
      const rows = await t.database.db
        .selectFrom('dci_signing_keys')
        .select(['id', 'private_key', 'sealed_private_key'])
        .execute();
      expect(rows).toEqual([{ id: dci.id, private_key: null, sealed_private_key: expect.any(String) }]);
      const keys = gatewayKeys(t.database.db, t.vault);
      expect((await keys.dciSigning.current()).privateKey.export({ format: 'der', type: 'pkcs8' })).toEqual(
        dci.der,
      );
      expect((await keys.tokenSigning.current()).id).toBe(token.id);
      const published = (await app.inject({ url: '/.well-known/jwks.json' })).json<{ keys: JWK[] }>().keys;
      expect(published.map((k) => k.kid)).toEqual(expect.arrayContaining([dci.id, token.id]));
    } finally {
      await app.close();
    }
    // Idempotent: a second start finds nothing to seal and opens what it sealed.
    const sealed = (
      await t.database.db
        .selectFrom('dci_signing_keys')
        .select('sealed_private_key')
        .executeTakeFirstOrThrow()
    ).sealed_private_key;
    await (await restart()).close();
    expect(
      (
        await t.database.db
          .selectFrom('dci_signing_keys')
          .select('sealed_private_key')
          .executeTakeFirstOrThrow()
      ).sealed_private_key,
    ).toBe(sealed);
  });
});

describe('the master key', () => {
  let t: TestApp;
  const dir = mkdtempSync(join(tmpdir(), 'spx-master-'));
  beforeAll(async () => {
    t = await createTestApp();
    await t.get('/.well-known/jwks.json'); // makes and seals our keys
    await t.app.close();
  });
  afterAll(async () => {
    await t.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('when wrong, stops the start with one line naming where it came from', async () => {
    const wrong = { ...t.config, masterKey: randomBytes(32).toString('base64') };
    const refusal = await buildApp({ config: wrong, database: t.database, logger: false }).catch(
      (e: unknown) => e,
    );
    expect(refusal).toBeInstanceOf(ConfigError);
    expect((refusal as Error).message).toMatch(
      /^SPX_MASTER_KEY: this master key does not open 3 of the 3 private keys in the database \(.* was sealed under master key [0-9a-f]{16}, not under the configured [0-9a-f]{16}\); start with the master key they were sealed under$/,
    );
    expect((refusal as Error).message).not.toContain(wrong.masterKey);
  });

  it('refuses a sealed key moved onto another key’s row', async () => {
    const [a, b] = await Promise.all(
      (['dci_signing_keys', 'oauth_signing_keys'] as const).map((table) =>
        t.database.db.selectFrom(table).select(['id', 'sealed_private_key']).executeTakeFirstOrThrow(),
      ),
    );
    await t.database.db
      .updateTable('oauth_signing_keys')
      .set({ sealed_private_key: a!.sealed_private_key })
      .where('id', '=', b!.id)
      .execute();
    try {
      const refusal = await buildApp({ config: t.config, database: t.database, logger: false }).catch(
        (e: unknown) => e,
      );
      expect((refusal as Error).message).toContain(
        `oauth_signing_keys/${b!.id} holds the sealed key of dci_signing_keys/${a!.id}`,
      );
    } finally {
      await t.database.db
        .updateTable('oauth_signing_keys')
        .set({ sealed_private_key: b!.sealed_private_key })
        .where('id', '=', b!.id)
        .execute();
    }
  });

  it('is a file of the data directory, readable by its owner only, when SPX_MASTER_KEY is unset', () => {
    const first = loadMasterKey({ dataDir: join(dir, 'data') });
    const path = join(dir, 'data', 'master.key');
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(Buffer.from(readFileSync(path, 'utf8').trim(), 'base64')).toHaveLength(32);
    expect(loadMasterKey({ dataDir: join(dir, 'data') }).id).toBe(first.id);
    chmodSync(path, 0o644);
    expect(() => loadMasterKey({ dataDir: join(dir, 'data') })).toThrow(
      /readable by its owner only \(chmod 600\)/,
    );
  });

  it('must be 32 bytes of base64 in SPX_MASTER_KEY; the value is never shown', () => {
    const short = randomBytes(16).toString('base64');
    expect(() => loadConfig({ SPX_MASTER_KEY: short })).toThrow(ConfigError);
    expect(() => loadConfig({ SPX_MASTER_KEY: short })).toThrow(/^SPX_MASTER_KEY: .*\(value hidden\)$/);
  });
});
