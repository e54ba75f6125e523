import { generateKeyPairSync, randomBytes, randomUUID, type KeyObject } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { exportJWK, SignJWT, type JWK } from 'jose';
import type { TestApp } from '#test/app';
import { asAdmin } from '#test/clients';

/** Helpers of the OAuth tests: clients and credentials made through the admin API, token requests. */

export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** A client secret made through the admin API. */
export async function createSecret(
  t: TestApp,
  clientId: string,
  body: Record<string, unknown> = {},
): Promise<{ id: string; client_secret: string }> {
  const res = await asAdmin(t, 'POST', `/api/v1/clients/${clientId}/oauth/secrets`, body);
  if (res.statusCode !== 201) {
    throw new Error(`creating a secret failed: ${res.body}`);
  }
  return res.json();
}

/** POST /oauth/token with a form body. */
export const tokenRequest = (
  t: TestApp,
  params: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<LightMyRequestResponse> =>
  t.app.inject({
    method: 'POST',
    url: '/oauth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    payload: new URLSearchParams(params).toString(),
  });

/** RFC 6749 §2.3.1: Basic over the form-urlencoded id and secret. */
export const basic = (id: string, secret: string): string =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

/** An access token obtained with a new secret of the client (client_secret_basic). */
export async function tokenFor(t: TestApp, clientId: string, scope?: string): Promise<string> {
  const secret = await createSecret(t, clientId);
  const res = await tokenRequest(
    t,
    { grant_type: 'client_credentials', ...(scope ? { scope } : {}) },
    { authorization: basic(clientId, secret.client_secret) },
  );
  if (res.statusCode !== 200) {
    throw new Error(`the token request failed: ${res.body}`);
  }
  return res.json<{ access_token: string }>().access_token;
}

/** A key pair for private_key_jwt, its public JWK with a kid. */
export function assertionKey(kind: 'ed25519' | 'ec' = 'ed25519'): {
  privateKey: KeyObject;
  alg: string;
  jwk: () => Promise<JWK>;
  kid: string;
} {
  const pair =
    kind === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const kid = `k-${randomBytes(4).toString('hex')}`;
  return {
    privateKey: pair.privateKey,
    alg: kind === 'ed25519' ? 'EdDSA' : 'ES256',
    kid,
    jwk: async () => ({ ...(await exportJWK(pair.publicKey)), kid }),
  };
}

/** A client assertion (RFC 7523) of `clientId`, for our token endpoint unless claims say otherwise. */
export const clientAssertion = (
  key: { privateKey: KeyObject; alg: string; kid: string },
  clientId: string,
  claims: { aud?: string; exp?: number; jti?: string; iss?: string } = {},
): Promise<string> =>
  new SignJWT({})
    .setProtectedHeader({ alg: key.alg, kid: key.kid })
    .setIssuer(claims.iss ?? clientId)
    .setSubject(clientId)
    .setAudience(claims.aud ?? 'https://spx.test/oauth/token')
    .setIssuedAt()
    .setExpirationTime(claims.exp ?? Math.floor(Date.now() / 1000) + 60)
    .setJti(claims.jti ?? randomUUID())
    .sign(key.privateKey);

/** Our issuer in these tests (SPX_PUBLIC_URL). */
export const ISSUER = 'https://spx.test';
