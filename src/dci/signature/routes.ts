import { PublicJwk } from '#platform/http/jwks-routes';
import { settingsSection } from '../routes/settings-resource.ts';
import { Type, type Static } from '@sinclair/typebox';
import type { JWK } from 'jose';
import type { Kysely } from 'kysely';
import { findClient } from '#platform/auth/clients';
import { assertMayAttach } from '#platform/auth/credential-reach';
import type { DB } from '#platform/db/types';
import { badRequest, conflict, notFound, type FieldError } from '#platform/problem';
import type { App } from '#platform/http/types';
import { accessTo, IdParams, problems, StringEnum } from '#platform/http/kit';
import { findCallbackSettings } from '../callback/policy.ts';
import {
  KeyError,
  publicEncryptionKeyFromJwk,
  publicEncryptionKeyFromPem,
  publicKeyFromJwk,
  publicKeyFromPem,
  thumbprintOf,
} from '@spx/dci-client';
import { jwksUriProblem } from './jwks.ts';
import {
  countUsableClientKeys,
  findSignatureSettings,
  insertClientKey,
  listClientKeys,
  revokeClientKey,
  saveSignatureSettings,
  SIGNATURE_POLICIES,
  type ClientKeyRow,
  type KeyUse,
  type SignatureSettings,
} from './keys.ts';

/**
 * Admin routes of a client's DCI signatures (mounted under /api/v1, permission clients:manage,
 * audited, RFC 9457 problems): its signature policy and JWKS URL (`/clients/{id}/dci/signature`,
 * beside the callback settings of `/clients/{id}/dci`), and its public keys (`/clients/{id}/dci/keys`):
 * those it signs with (use "sig") and those we encrypt its messages to (use "enc", see
 * ../encryption/). Our own public keys are served by #platform/http/jwks.
 */

const KEY_ID = '^[A-Za-z0-9._~:-]{1,100}$';
/** Keys a client may have that can still verify (not revoked, not expired). */
const MAX_USABLE_KEYS = 20;

const Settings = Type.Object({
  client_id: Type.String({ format: 'uuid' }),
  signature_policy: StringEnum(SIGNATURE_POLICIES),
  jwks_uri: Type.Union([Type.String(), Type.Null()]),
  updated_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

const SettingsInput = Type.Object(
  {
    signature_policy: Type.Optional(
      StringEnum(SIGNATURE_POLICIES, {
        description:
          'Which messages of the client must be signed: all, async (async and subscription endpoints; the default) or none',
      }),
    ),
    jwks_uri: Type.Optional(
      Type.Union([Type.String({ minLength: 1, maxLength: 1000 }), Type.Null()], {
        description: "The client's JWKS URL: https, or inside one of its callback origins",
      }),
    ),
  },
  { additionalProperties: false },
);

const ClientKey = Type.Object({
  client_id: Type.String({ format: 'uuid' }),
  key_id: Type.String({
    description: 'sig: the middle part of the kid <sender_id>|<key_id>|<algorithm>; enc: the JWE kid',
  }),
  use: StringEnum(['sig', 'enc']),
  algorithm: Type.String({ enum: ['ed25519', 'rsa-sha256', 'ECDH-ES+A256KW', 'RSA-OAEP-256'] }),
  jwk: PublicJwk,
  created_at: Type.String({ format: 'date-time' }),
  expires_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  revoked_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

const KeyInput = Type.Object(
  {
    key_id: Type.Optional(
      Type.String({
        pattern: KEY_ID,
        description: "Default: the JWK's kid, else its RFC 7638 thumbprint",
      }),
    ),
    use: Type.Optional(
      StringEnum(['sig', 'enc'], {
        description:
          "sig: the client signs its messages with it (Ed25519 or RSA); enc: we encrypt the client's messages to it " +
          '(EC P-256/P-384/P-521 or X25519: ECDH-ES+A256KW; RSA: RSA-OAEP-256). Default: the use member of the JWK, else sig',
      }),
    ),
    jwk: Type.Optional(
      Type.Record(Type.String(), Type.Unknown(), {
        maxProperties: 30,
        description: 'The public key as a JWK (RSA keys of 2048 bits or more)',
      }),
    ),
    pem: Type.Optional(
      Type.String({ minLength: 1, maxLength: 10_000, description: 'Or the public key as an SPKI PEM' }),
    ),
    expires_at: Type.Optional(Type.String({ format: 'date-time' })),
  },
  { additionalProperties: false },
);

const KeyParams = Type.Object({
  id: Type.String({ format: 'uuid' }),
  keyId: Type.String({ pattern: KEY_ID }),
});
const manage = accessTo('clients:manage', 'client');

const settingsJson = (clientId: string, s: SignatureSettings): Static<typeof Settings> => ({
  client_id: clientId,
  signature_policy: s.policy,
  jwks_uri: s.jwksUri,
  updated_at: s.updatedAt?.toISOString() ?? null,
});

const keyJson = (row: ClientKeyRow): Static<typeof ClientKey> => ({
  client_id: row.client_id,
  key_id: row.key_id,
  use: row.use,
  algorithm: row.algorithm,
  jwk: row.public_jwk as Static<typeof PublicJwk>,
  created_at: row.created_at.toISOString(),
  expires_at: row.expires_at?.toISOString() ?? null,
  revoked_at: row.revoked_at?.toISOString() ?? null,
});

export async function dciSignatureRoutes(app: App, { db }: { db: Kysely<DB> }): Promise<void> {
  settingsSection(app, db, {
    path: '/dci/signature',
    audit: 'client.dci_signature',
    operationIds: { update: 'setClientDciSignature', read: 'getClientDciSignature' },
    summaries: {
      update: "Set which of a client's DCI messages must be signed, and its JWKS URL",
      read: "A client's DCI signature policy and JWKS URL",
    },
    input: SettingsInput,
    output: Settings,
    // The JWKS URL holds keys that sign as the client, and the policy says what must be signed.
    attachesCredential: 'set the DCI signature settings of this client',
    async save(db, clientId, input, by) {
      const jwksUri = input.jwks_uri ?? null;
      const problem =
        jwksUri && jwksUriProblem(jwksUri, (await findCallbackSettings(db, clientId)).callbackOrigins);
      if (problem) {
        throw badRequest('invalid DCI signature settings', [{ pointer: '/jwks_uri', detail: problem }]);
      }
      const policy = input.signature_policy ?? 'async';
      await saveSignatureSettings(db, clientId, { policy, jwksUri }, by);
    },
    read: async (db, clientId) => settingsJson(clientId, await findSignatureSettings(db, clientId)),
  });

  app.post(
    '/clients/:id/dci/keys',
    {
      config: manage('client.dci_key.create'),
      schema: {
        tags: ['access'],
        operationId: 'registerClientDciKey',
        summary:
          'Register a public key of a client: one it signs its DCI messages with, or one we encrypt them to (JWK or PEM; never a private key)',
        params: IdParams,
        body: KeyInput,
        response: { 201: ClientKey, ...problems(400, 404, 409) },
      },
    },
    async (request, reply) => {
      request.auditNote = { resourceId: request.params.id };
      const client = await findClient(db, request.params.id);
      // Messages signed with the key count as the client's; those encrypted to it are the client's.
      await assertMayAttach(db, request.principal, client, 'register a DCI key for this client');
      const { key, keyId, use, expiresAt } = await readKeyInput(request.body);
      if ((await countUsableClientKeys(db, client.id)) >= MAX_USABLE_KEYS) {
        throw conflict(`a client may have at most ${MAX_USABLE_KEYS} usable keys: revoke one first`);
      }
      const row = await insertClientKey(db, {
        clientId: client.id,
        keyId,
        use,
        algorithm: key.algorithm,
        jwk: { ...key.jwk, kid: keyId },
        expiresAt,
        createdBy: request.principal?.clientId,
      });
      if (!row) {
        throw conflict(`key ${keyId} is already registered for this client (a revoked key keeps its id)`);
      }
      app.clientChanges.changed(client.id);
      request.auditNote.recordCount = 1;
      return reply.code(201).send(keyJson(row));
    },
  );

  app.get(
    '/clients/:id/dci/keys',
    {
      config: manage('client.dci_key.list'),
      schema: {
        tags: ['access'],
        operationId: 'listClientDciKeys',
        summary: 'The public keys a client registered for DCI signatures and encryption',
        params: IdParams,
        response: { 200: Type.Object({ items: Type.Array(ClientKey) }), ...problems(400, 404, 409) },
      },
    },
    async (request) => {
      request.auditNote = { resourceId: request.params.id };
      const client = await findClient(db, request.params.id);
      const items = await listClientKeys(db, client.id);
      request.auditNote.recordCount = items.length;
      return { items: items.map(keyJson) };
    },
  );

  app.delete(
    '/clients/:id/dci/keys/:keyId',
    {
      config: manage('client.dci_key.revoke'),
      schema: {
        tags: ['access'],
        operationId: 'revokeClientDciKey',
        summary:
          "Revoke a client's DCI public key at once (messages signed with it are refused; nothing is encrypted to it)",
        params: KeyParams,
        response: { 200: ClientKey, ...problems(400, 404, 409) },
      },
    },
    async (request) => {
      request.auditNote = { resourceId: request.params.id };
      const client = await findClient(db, request.params.id);
      const row = await revokeClientKey(db, client.id, request.params.keyId);
      if (!row) {
        throw notFound('key of this client');
      }
      app.clientChanges.changed(client.id);
      request.auditNote.recordCount = 1;
      return keyJson(row);
    },
  );
}

/** A key as uploaded and checked: its algorithm and public JWK. */
type UploadedKey = { algorithm: string; jwk: JWK };

/** The key of an upload, its id, use and expiry, or a 400 naming every field in error. */
async function readKeyInput(
  input: Static<typeof KeyInput>,
): Promise<{ key: UploadedKey; keyId: string; use: KeyUse; expiresAt: Date | null }> {
  const errors: FieldError[] = [];
  const expiresAt = input.expires_at === undefined ? null : new Date(input.expires_at);
  if (expiresAt && expiresAt.getTime() <= Date.now()) {
    errors.push({ pointer: '/expires_at', detail: 'must lie in the future' });
  }
  if ((input.jwk === undefined) === (input.pem === undefined)) {
    errors.push({ pointer: '/jwk', detail: 'send the public key as exactly one of jwk and pem' });
    throw badRequest('invalid DCI public key', errors);
  }
  const use = input.use ?? ((input.jwk as JWK | undefined)?.use === 'enc' ? 'enc' : 'sig');
  const key = await readKey(input, use, errors);
  const jwkKid = (input.jwk as JWK | undefined)?.kid;
  if (input.key_id !== undefined && jwkKid !== undefined && jwkKid !== input.key_id) {
    errors.push({ pointer: '/key_id', detail: `differs from the JWK's kid ${jwkKid}` });
  }
  const keyId = input.key_id ?? jwkKid ?? (key ? await thumbprintOf(key.jwk) : '');
  if (input.key_id === undefined && jwkKid !== undefined && !new RegExp(KEY_ID).test(jwkKid)) {
    errors.push({ pointer: '/jwk/kid', detail: `must match ${KEY_ID} to serve as the key id` });
  }
  if (errors.length > 0 || !key) {
    throw badRequest('invalid DCI public key', errors);
  }
  return { key, keyId, use, expiresAt };
}

async function readKey(
  input: Static<typeof KeyInput>,
  use: KeyUse,
  errors: FieldError[],
): Promise<UploadedKey | undefined> {
  const [fromJwk, fromPem] =
    use === 'enc'
      ? [publicEncryptionKeyFromJwk, publicEncryptionKeyFromPem]
      : [publicKeyFromJwk, publicKeyFromPem];
  try {
    return input.jwk === undefined ? await fromPem(input.pem!) : await fromJwk(input.jwk);
  } catch (error) {
    if (error instanceof KeyError) {
      errors.push({ pointer: input.jwk === undefined ? '/pem' : '/jwk', detail: error.message });
      return undefined;
    }
    throw error;
  }
}
