import { Type } from '@sinclair/typebox';
import type { Kysely } from 'kysely';
import type { Config } from '#config/settings';
import type { DB } from '#platform/db/types';
import type { App } from '#platform/http/types';
import { accessTo, IdParams, problems, StringEnum } from '#platform/http/kit';
import {
  createClient,
  createKey,
  findClient,
  listClients,
  updateClient,
  listKeys,
  revokeKey,
  type ClientRecord,
  type KeyRecord,
} from '#platform/auth/clients';
import { PERMISSIONS, ROLES } from '#platform/auth/roles';

const Client = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  role: StringEnum(ROLES),
  description: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.String({ format: 'date-time' }),
  disabled_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  http_basic: Type.Boolean({
    description:
      'May authenticate with HTTP Basic (the API key as password) on every route; otherwise only on the OpenRosa routes under /odk',
  }),
});
const Key = Type.Object({
  id: Type.String({ format: 'uuid' }),
  client_id: Type.String({ format: 'uuid' }),
  prefix: Type.String({ description: 'Public part of the key, to recognise it in lists' }),
  scopes: Type.Array(Type.String()),
  expires_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  revoked_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  last_used_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  created_at: Type.String({ format: 'date-time' }),
});
const NewKey = Type.Object({
  ...Key.properties,
  key: Type.String({ description: 'The API key. Shown only in this response: store it now.' }),
});

const manage = accessTo('clients:manage', 'client');

const clientJson = (c: ClientRecord) => ({
  ...c,
  created_at: c.created_at.toISOString(),
  disabled_at: c.disabled_at?.toISOString() ?? null,
});
const keyJson = (k: KeyRecord) => ({
  ...k,
  expires_at: k.expires_at?.toISOString() ?? null,
  revoked_at: k.revoked_at?.toISOString() ?? null,
  last_used_at: k.last_used_at?.toISOString() ?? null,
  created_at: k.created_at.toISOString(),
});

/** API clients and their keys: the same functions the `spx keys` command uses. */
export async function accessRoutes(
  app: App,
  { db, config }: { db: Kysely<DB>; config: Config },
): Promise<void> {
  app.post(
    '/clients',
    {
      config: manage('client.create', 'client'),
      schema: {
        tags: ['access'],
        operationId: 'createClient',
        summary: 'Register a client (a system or person calling the API)',
        body: Type.Object(
          {
            name: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9 ._-]{1,79}$' }),
            role: StringEnum(ROLES),
            description: Type.Optional(Type.String({ maxLength: 500 })),
          },
          { additionalProperties: false },
        ),
        response: { 201: Client, ...problems(400, 404, 409) },
      },
    },
    async (request, reply) => {
      const client = await createClient(db, request.body, request.principal);
      request.auditNote = { resourceId: client.id, recordCount: 1 };
      return reply.code(201).send(clientJson(client));
    },
  );

  app.get(
    '/clients',
    {
      config: manage('client.list', 'client'),
      schema: {
        tags: ['access'],
        operationId: 'listClients',
        summary: 'List clients',
        response: { 200: Type.Object({ items: Type.Array(Client) }) },
      },
    },
    async (request) => {
      const items = await listClients(db);
      request.auditNote = { recordCount: items.length };
      return { items: items.map(clientJson) };
    },
  );

  app.get(
    '/clients/:id',
    {
      config: manage('client.read', 'client'),
      schema: {
        tags: ['access'],
        operationId: 'getClient',
        summary: 'A client',
        params: IdParams,
        response: { 200: Client, ...problems(400, 404, 409) },
      },
    },
    async (request) => {
      request.auditNote = { resourceId: request.params.id };
      const client = await findClient(db, request.params.id);
      request.auditNote.recordCount = 1;
      return clientJson(client);
    },
  );

  app.patch(
    '/clients/:id',
    {
      config: manage('client.update', 'client'),
      schema: {
        tags: ['access'],
        operationId: 'updateClient',
        summary:
          'Change a client: its description, whether it may use HTTP Basic everywhere, or disable it (every credential stops at once) and enable it again',
        description:
          'Clients are never deleted: the audit trail and DCI records keep naming them. A disabled client is refused ' +
          'on every route, whatever its credential (API key, access token, client certificate).',
        params: IdParams,
        body: Type.Object(
          {
            description: Type.Optional(Type.Union([Type.String({ maxLength: 500 }), Type.Null()])),
            disabled: Type.Optional(Type.Boolean()),
            http_basic: Type.Optional(
              Type.Boolean({
                description:
                  'true: the client may send its API key by HTTP Basic on every route (a system that knows no other ' +
                  'way); false (the default): only on the OpenRosa routes under /odk',
              }),
            ),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: Client, ...problems(400, 404, 409) },
      },
    },
    async (request) => {
      request.auditNote = { resourceId: request.params.id };
      const client = await findClient(db, request.params.id);
      const updated = await updateClient(db, client, request.body, request.principal);
      app.clientChanges.changed(client.id);
      request.auditNote.recordCount = 1;
      return clientJson(updated);
    },
  );

  app.post(
    '/clients/:id/keys',
    {
      config: manage('key.create', 'client'),
      schema: {
        tags: ['access'],
        operationId: 'createApiKey',
        summary: 'Issue an API key (returned once; only its hash is stored)',
        params: IdParams,
        body: Type.Object(
          {
            scopes: Type.Optional(Type.Array(StringEnum(PERMISSIONS), { uniqueItems: true, minItems: 1 })),
            expires_in_days: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650 })),
          },
          { additionalProperties: false },
        ),
        response: { 201: NewKey, ...problems(400, 404, 409) },
      },
    },
    async (request, reply) => {
      request.auditNote = { resourceId: request.params.id };
      const client = await findClient(db, request.params.id);
      const key = await createKey(
        db,
        client,
        { scopes: request.body.scopes, expiresInDays: request.body.expires_in_days ?? config.apiKeyTtlDays },
        request.principal,
      );
      request.auditNote.recordCount = 1;
      return reply.code(201).send({ ...keyJson(key), key: key.key });
    },
  );

  app.get(
    '/clients/:id/keys',
    {
      config: manage('key.list', 'client'),
      schema: {
        tags: ['access'],
        operationId: 'listApiKeys',
        summary: "A client's keys (never the secrets)",
        params: IdParams,
        response: { 200: Type.Object({ items: Type.Array(Key) }), ...problems(400, 404, 409) },
      },
    },
    async (request) => {
      request.auditNote = { resourceId: request.params.id };
      const client = await findClient(db, request.params.id);
      const items = await listKeys(db, client.id);
      request.auditNote.recordCount = items.length;
      return { items: items.map(keyJson) };
    },
  );

  app.delete(
    '/keys/:id',
    {
      config: manage('key.revoke', 'key'),
      schema: {
        tags: ['access'],
        operationId: 'revokeApiKey',
        summary: 'Revoke a key at once',
        params: IdParams,
        response: { 200: Key, ...problems(400, 404, 409) },
      },
    },
    async (request) => {
      request.auditNote = { resourceId: request.params.id };
      const key = await revokeKey(db, request.params.id);
      app.clientChanges.changed(key.client_id);
      request.auditNote.recordCount = 1;
      return keyJson(key);
    },
  );
}
