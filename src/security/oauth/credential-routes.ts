import { randomBytes } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import type { Kysely } from 'kysely';
import { hashSecret } from '#platform/auth/api-keys';
import { findClient, grantedScopes, type ClientRecord } from '#platform/auth/clients';
import type { Config } from '#config/settings';
import type { DB } from '#platform/db/types';
import { badRequest, conflict, notFound } from '#platform/problem';
import type { App } from '#platform/http/types';
import { accessTo, IdParams, problems } from '#platform/http/kit';
import { ClientKeyError, readClientKey } from './client-keys.ts';
import {
  insertCredential,
  listCredentials,
  revokeCredential,
  usableCredentials,
  type CredentialKind,
  type NewCredential,
} from './credentials.ts';
import { findProvider } from './providers.ts';
import {
  Credential,
  credentialJson,
  CredentialParams,
  IdentityInput,
  KEY_ID_PATTERN,
  KeyInput,
  NewSecret,
  SecretInput,
} from './schemas.ts';
import { jwksUriProblem } from './urls.ts';

/**
 * Admin routes of a client's OAuth credentials (under /api/v1, permission clients:manage, audited):
 * a client secret (shown once, stored as a hash), a public key or JWKS URL for private_key_jwt, a
 * link to the client's identity at an external identity provider; list and revoke. Scopes are never
 * wider than the client's role nor than the admin's own key. Revoking stops the credential's tokens
 * at once on this gateway.
 */

/** Usable credentials a client may have of each kind: enough to rotate, not enough to hoard. */
const MAX_USABLE: Record<CredentialKind, number> = {
  client_secret: 5,
  private_key_jwt: 20,
  identity_provider: 20,
};
const manage = accessTo('clients:manage', 'client');

export async function oauthCredentialRoutes(
  app: App,
  { db, config }: { db: Kysely<DB>; config: Pick<Config, 'apiKeyTtlDays'> },
): Promise<void> {
  /** Inserts after the checks every kind shares; a taken key id or identity is a 409. */
  const create = async (client: ClientRecord, credential: NewCredential, taken: string) => {
    if (client.disabled_at) {
      throw conflict('the client is disabled');
    }
    const usable = await usableCredentials(db, client.id, credential.kind);
    if (usable.length >= MAX_USABLE[credential.kind]) {
      throw conflict(
        `a client may have at most ${MAX_USABLE[credential.kind]} usable ${credential.kind} credentials: revoke one first`,
      );
    }
    const row = await insertCredential(db, credential);
    if (!row) {
      throw conflict(taken);
    }
    return row;
  };

  app.post(
    '/clients/:id/oauth/secrets',
    {
      config: manage('client.oauth_secret.create'),
      schema: {
        tags: ['security'],
        operationId: 'createOAuthSecret',
        summary:
          'Create a client secret for the OAuth token endpoint (returned once; only its hash is stored)',
        params: IdParams,
        body: SecretInput,
        response: { 201: NewSecret, ...problems(400, 404, 409) },
      },
    },
    async (request, reply) => {
      request.auditNote = { resourceId: request.params.id };
      const client = await findClient(db, request.params.id);
      const secret = randomBytes(32).toString('base64url');
      const days = request.body.expires_in_days ?? config.apiKeyTtlDays;
      const row = await create(
        client,
        {
          clientId: client.id,
          kind: 'client_secret',
          scopes: await grantedScopes(
            db,
            client,
            request.body.scopes,
            request.principal,
            'grant these scopes',
          ),
          secretHash: hashSecret(secret),
          description: request.body.description,
          expiresAt: new Date(Date.now() + days * 86_400_000),
          createdBy: request.principal?.clientId,
        },
        'the secret conflicts with an existing credential',
      );
      request.auditNote.recordCount = 1;
      return reply.code(201).send({ ...credentialJson(row), client_secret: secret });
    },
  );

  app.post(
    '/clients/:id/oauth/keys',
    {
      config: manage('client.oauth_key.create'),
      schema: {
        tags: ['security'],
        operationId: 'registerOAuthKey',
        summary: 'Register a public key (JWK) or JWKS URL the client signs private_key_jwt assertions with',
        params: IdParams,
        body: KeyInput,
        response: { 201: Credential, ...problems(400, 404, 409) },
      },
    },
    async (request, reply) => {
      request.auditNote = { resourceId: request.params.id };
      const client = await findClient(db, request.params.id);
      const key = await readKeyInput(request.body);
      const expiresAt = futureDate(request.body.expires_at);
      const row = await create(
        client,
        {
          clientId: client.id,
          kind: 'private_key_jwt',
          scopes: await grantedScopes(
            db,
            client,
            request.body.scopes,
            request.principal,
            'grant these scopes',
          ),
          ...key,
          allowPrivateAddresses: request.body.allow_private_addresses ?? false,
          description: request.body.description,
          expiresAt,
          createdBy: request.principal?.clientId,
        },
        `key ${key.keyId ?? ''} is already registered for this client: revoke it first or choose another key_id`,
      );
      request.auditNote.recordCount = 1;
      return reply.code(201).send(credentialJson(row));
    },
  );

  app.post(
    '/clients/:id/oauth/identities',
    {
      config: manage('client.oauth_identity.create'),
      schema: {
        tags: ['security'],
        operationId: 'linkOAuthIdentity',
        summary:
          'Link the client to its identity at an external identity provider (whose tokens it may then use)',
        params: IdParams,
        body: IdentityInput,
        response: { 201: Credential, ...problems(400, 404, 409) },
      },
    },
    async (request, reply) => {
      request.auditNote = { resourceId: request.params.id };
      const client = await findClient(db, request.params.id);
      const provider = await findProvider(db, request.body.provider_id);
      if (!provider || provider.disabled_at) {
        throw badRequest('invalid identity link', [
          { pointer: '/provider_id', detail: 'no such enabled identity provider' },
        ]);
      }
      const row = await create(
        client,
        {
          clientId: client.id,
          kind: 'identity_provider',
          scopes: await grantedScopes(
            db,
            client,
            request.body.scopes,
            request.principal,
            'grant these scopes',
          ),
          providerId: provider.id,
          externalId: request.body.external_id,
          description: request.body.description,
          expiresAt: futureDate(request.body.expires_at),
          createdBy: request.principal?.clientId,
        },
        `the identity ${request.body.external_id} at ${provider.name} is already linked to a client`,
      );
      request.auditNote.recordCount = 1;
      return reply.code(201).send(credentialJson(row));
    },
  );

  app.get(
    '/clients/:id/oauth/credentials',
    {
      config: manage('client.oauth_credential.list'),
      schema: {
        tags: ['security'],
        operationId: 'listOAuthCredentials',
        summary: "A client's OAuth credentials (never the secrets)",
        params: IdParams,
        response: { 200: Type.Object({ items: Type.Array(Credential) }), ...problems(400, 404, 409) },
      },
    },
    async (request) => {
      request.auditNote = { resourceId: request.params.id };
      const client = await findClient(db, request.params.id);
      const items = await listCredentials(db, client.id);
      request.auditNote.recordCount = items.length;
      return { items: items.map(credentialJson) };
    },
  );

  app.delete(
    '/clients/:id/oauth/credentials/:credentialId',
    {
      config: manage('client.oauth_credential.revoke'),
      schema: {
        tags: ['security'],
        operationId: 'revokeOAuthCredential',
        summary: 'Revoke an OAuth credential at once (tokens obtained with it are refused)',
        params: CredentialParams,
        response: { 200: Credential, ...problems(400, 404, 409) },
      },
    },
    async (request) => {
      request.auditNote = { resourceId: request.params.id };
      const row = await revokeCredential(db, request.params.id, request.params.credentialId);
      if (!row) {
        throw notFound('credential of this client');
      }
      app.clientChanges.changed(row.client_id);
      request.auditNote.recordCount = 1;
      return credentialJson(row);
    },
  );
}

/** The key part of a private_key_jwt credential, or a 400 naming the field in error. */
async function readKeyInput(
  input: Static<typeof KeyInput>,
): Promise<Pick<NewCredential, 'keyId' | 'jwk' | 'jwksUri'>> {
  if ((input.jwk === undefined) === (input.jwks_uri === undefined)) {
    throw invalidKey('/jwk', 'send exactly one of jwk and jwks_uri');
  }
  if (input.jwks_uri !== undefined) {
    const problem = jwksUriProblem(input.jwks_uri, input.allow_private_addresses ?? false);
    if (problem) {
      throw invalidKey('/jwks_uri', problem);
    }
    if (input.key_id !== undefined) {
      throw invalidKey('/key_id', 'the keys at a JWKS URL carry their own kids');
    }
    return { jwksUri: input.jwks_uri };
  }
  const key = await readClientKey(input.jwk!, input.key_id).catch((error: unknown) => {
    throw error instanceof ClientKeyError ? invalidKey('/jwk', error.message) : error;
  });
  if (!new RegExp(KEY_ID_PATTERN).test(key.kid)) {
    throw invalidKey('/jwk/kid', `must match ${KEY_ID_PATTERN} to serve as the key id`);
  }
  return { keyId: key.kid, jwk: key.jwk };
}

const invalidKey = (pointer: string, detail: string) =>
  badRequest('invalid private_key_jwt key', [{ pointer, detail }]);

/** An optional expiry, which must lie in the future. */
function futureDate(expiresAt: string | undefined): Date | null {
  if (expiresAt === undefined) {
    return null;
  }
  const date = new Date(expiresAt);
  if (date.getTime() <= Date.now()) {
    throw badRequest('invalid expiry', [{ pointer: '/expires_at', detail: 'must lie in the future' }]);
  }
  return date;
}
