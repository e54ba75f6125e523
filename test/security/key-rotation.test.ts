import { createPublicKey, randomBytes, randomUUID } from 'node:crypto';
import { decodeProtectedHeader, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SIGNATURE_LIMITS, verifyEnvelope } from '@spx/dci-client';
import { createTestApp, type TestApp } from '#test/app';
import { spxWorkspace } from '#test/spx';
import { seedRegistry } from '../dci/fixtures.ts';
import { createDciApp, idType, newSigner, searchMessage, type DciTestApp } from '../dci/harness.ts';
import { asAdmin, registerClient } from '#test/clients';
import { ISSUER, tokenFor } from '#test/security/oauth/oauth';

/**
 * Rotating keys: ours through the admin API and the CLI (a new current key, the old one working
 * until its grace period ends), and a client's, by registering a new key before the old one expires.
 */

interface GatewayKey {
  kid: string;
  purpose: string;
  use: string;
  algorithm: string;
  status: string;
  expires_at: string | null;
}

describe('rotating our keys through the admin API', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp({ publicUrl: ISSUER });
    await seedRegistry(t.database.db);
  });
  afterAll(() => t.close());

  const jwks = async () => (await t.get('/.well-known/jwks.json')).json<{ keys: JWK[] }>().keys;
  const listed = async () => {
    const res = await asAdmin(t, 'GET', '/api/v1/gateway-keys');
    expect(res.statusCode).toBe(200);
    return res.json<{ items: GatewayKey[] }>().items;
  };
  const current = async (purpose: string) =>
    (await listed()).find((k) => k.purpose === purpose && k.status === 'current')!;
  const rotate = (purpose: string, body: unknown = {}) =>
    asAdmin(t, 'POST', `/api/v1/gateway-keys/${purpose}/rotate`, body);
  const signedAnswer = async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/dci/sr/registry/sync/search',
      headers: { authorization: `Bearer ${await t.keyFor('integrator')}` },
      payload: searchMessage(idType('Group', 'UIN', 'UIN-A1')),
    });
    expect(res.statusCode).toBe(200);
    return res.json<{ signature: string; header: Record<string, unknown>; message: unknown }>();
  };
  const verifiesWith = (keys: JWK[], envelope: Awaited<ReturnType<typeof signedAnswer>>) =>
    verifyEnvelope(envelope, {
      required: true,
      now: new Date(),
      limits: DEFAULT_SIGNATURE_LIMITS,
      findKey: async (kid) => {
        const jwk = keys.find((k) => k.kid === kid.keyId);
        expect(jwk, `key ${kid.keyId} published`).toBeDefined();
        return createPublicKey({ key: jwk as never, format: 'jwk' });
      },
    });

  it('lists our keys of every purpose, without any private part, to admins only', async () => {
    await jwks(); // the keys are made on first use
    const items = await listed();
    expect(items.map((k) => [k.purpose, k.use, k.algorithm, k.status]).sort()).toEqual([
      ['dci-encryption', 'enc', 'ECDH-ES+A256KW', 'current'],
      ['dci-signing', 'sig', 'ed25519', 'current'],
      ['token-signing', 'sig', 'EdDSA', 'current'],
    ]);
    const body = (await asAdmin(t, 'GET', '/api/v1/gateway-keys')).body;
    expect(body).not.toMatch(/sealed|private|"d"/);
    expect((await t.get('/api/v1/gateway-keys', await t.keyFor('integrator'))).statusCode).toBe(403);
    expect((await t.get('/api/v1/gateway-keys')).statusCode).toBe(401);
  });

  it('rotates the DCI signing key: answers name the new key, the old one stays published and verifies', async () => {
    const before = await signedAnswer();
    const old = await current('dci-signing');
    const res = await rotate('dci-signing');
    expect(res.statusCode, res.body).toBe(200);
    const { current: next, retired } = res.json<{ current: GatewayKey; retired: GatewayKey }>();
    expect(next).toMatchObject({ purpose: 'dci-signing', status: 'current', expires_at: null });
    expect(retired).toMatchObject({ kid: old.kid, status: 'retiring' });
    // The default grace period: SPX_KEY_GRACE_HOURS, 24 hours.
    const grace = Date.parse(retired.expires_at!) - Date.now();
    expect(grace).toBeGreaterThan(23.9 * 3600_000);
    expect(grace).toBeLessThanOrEqual(24 * 3600_000);

    const published = await jwks();
    expect(published.filter((k) => k.alg === 'EdDSA' && [old.kid, next.kid].includes(k.kid!))).toHaveLength(
      2,
    );
    await expect(verifiesWith(published, before)).resolves.toBeUndefined();
    const after = await signedAnswer();
    expect(after.signature).toContain(`kidId="spx|${next.kid}|ed25519"`);
    await expect(verifiesWith(published, after)).resolves.toBeUndefined();

    const audit = await t.database.db
      .selectFrom('audit_log')
      .select(['action', 'resource_type', 'resource_id', 'outcome'])
      .where('action', '=', 'gateway_key.rotate')
      .execute();
    expect(audit).toEqual([
      {
        action: 'gateway_key.rotate',
        resource_type: 'gateway_key',
        resource_id: next.kid,
        outcome: 'success',
      },
    ]);
  });

  it('keeps accepting tokens of a retiring token key; with grace_hours 0 the old key stops at once', async () => {
    const client = await registerClient(t);
    const early = await tokenFor(t, client.id);
    expect((await rotate('token-signing')).statusCode).toBe(200);
    expect((await t.get('/api/v1/programs', early)).statusCode).toBe(200);

    const late = await tokenFor(t, client.id);
    const lateKid = decodeProtectedHeader(late).kid;
    expect(lateKid).not.toBe(decodeProtectedHeader(early).kid);
    expect(lateKid).toBe((await current('token-signing')).kid);
    // Leaked: the key `late` was signed with goes at once.
    const res = await rotate('token-signing', { grace_hours: 0 });
    expect(res.json().retired).toMatchObject({ kid: lateKid, status: 'expired' });
    expect((await t.get('/api/v1/programs', late)).statusCode).toBe(401);
    expect((await jwks()).map((k) => k.kid)).not.toContain(lateKid);
    expect((await t.get('/api/v1/programs', early)).statusCode).toBe(200);
  });

  it('refuses a bad rotation request with a 400 problem and changes nothing', async () => {
    const before = await listed();
    for (const [purpose, body] of [
      ['nope', {}],
      ['dci-signing', { grace_hours: -1 }],
      ['dci-signing', { grace_hours: 9000 }],
      ['dci-signing', { grace_hours: 'soon' }],
      ['dci-signing', { grace: 1 }],
    ] as const) {
      const res = await rotate(purpose, body);
      expect(res.statusCode, `${purpose} ${JSON.stringify(body)}`).toBe(400);
      expect(res.headers['content-type']).toContain('application/problem+json');
    }
    const integrator = await t.keyFor('integrator');
    const denied = await t.app.inject({
      method: 'POST',
      url: '/api/v1/gateway-keys/dci-signing/rotate',
      headers: { authorization: `Bearer ${integrator}` },
      payload: {},
    });
    expect(denied.statusCode).toBe(403);
    expect(await listed()).toEqual(before);
  });
});

// Each command is a process that opens (and on first use migrates) the database: slow on a loaded machine.
describe('rotating our keys with the CLI', { timeout: 90_000 }, () => {
  const workspace = spxWorkspace({ SPX_DEMO_HOUSEHOLDS: '0', SPX_PORT: '0' });
  const spx = (args: string[], extra: Record<string, string> = {}) => workspace.run(args, extra);
  afterAll(() => workspace.remove());

  it('rotates a key and lists the old one as retiring, under the master key file it created', async () => {
    const first = await spx(['gateway-keys', 'rotate', 'dci-encryption']);
    expect(first.code, first.stderr).toBe(0);
    const second = await spx(['gateway-keys', 'rotate', 'dci-encryption', '--grace-hours', '2']);
    expect(second.stdout).toMatch(
      /^new dci-encryption {2}\S{43} {2}ECDH-ES\+A256KW {2}current\nold dci-encryption {2}\S{43} {2}ECDH-ES\+A256KW {2}retiring {2}until \S+\n$/,
    );
    const list = await spx(['gateway-keys', 'list']);
    expect(list.stdout.match(/^dci-encryption .*$/gm)).toHaveLength(2);
  });

  it('names the purposes when given an unknown one', async () => {
    expect((await spx(['gateway-keys', 'rotate', 'everything'])).stderr).toBe(
      'spx: the purpose is one of dci-signing, dci-encryption, token-signing\n',
    );
  });

  it('will not start with another master key: one line, exit 1', async () => {
    const res = await spx(['start'], { SPX_MASTER_KEY: randomBytes(32).toString('base64') });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(
      /^spx: SPX_MASTER_KEY: this master key does not open 2 of the 2 private keys in the database \(.*\); start with the master key they were sealed under\n$/,
    );
  });
});

describe('a client rotating its signing key', () => {
  let t: DciTestApp;
  let clock = Date.now();
  const at = () => new Date(clock);

  beforeAll(async () => {
    t = await createDciApp({ receiver: { id: undefined, now: at, newId: randomUUID } });
    await seedRegistry(t.database.db);
  });
  afterAll(() => t.close());

  it('has old and new keys valid at once, then the old one refused once it expired', async () => {
    const client = await t.clientFor('integrator');
    await t.setSignature(client.id, { signature_policy: 'all' });
    const register = async (expiresAt?: string) => {
      const signer = newSigner();
      const res = await t.asAdmin('POST', `/api/v1/clients/${client.id}/dci/keys`, {
        key_id: signer.keyId,
        jwk: signer.publicKey.export({ format: 'jwk' }),
        ...(expiresAt ? { expires_at: expiresAt } : {}),
      });
      expect(res.statusCode, res.body).toBe(201);
      return signer;
    };
    const old = await register(new Date(Date.now() + 86_400_000).toISOString());
    const fresh = await register();
    const search = (signer: typeof old) => {
      const message = searchMessage(idType('Group', 'UIN', 'UIN-A1'));
      message.header['message_ts'] = at().toISOString();
      return t.search('sr', signer(message, { created: Math.floor(clock / 1000) }), client.key);
    };
    expect((await search(old)).statusCode).toBe(200);
    expect((await search(fresh)).statusCode).toBe(200);

    clock += 2 * 86_400_000; // two days on: the old key's expiry has passed
    const refused = await search(old);
    expect(refused.statusCode).toBe(401);
    expect(refused.json().errors[0]).toEqual({
      code: 'err.signature.invalid',
      message: `the signature is invalid: key ${old.keyId} expired`,
    });
    expect((await search(fresh)).statusCode).toBe(200);
  });
});
