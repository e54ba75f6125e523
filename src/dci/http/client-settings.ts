import { Type, type Static } from '@sinclair/typebox';
import type { Kysely } from 'kysely';
import { findClient } from '#platform/auth/clients';
import type { DB } from '#platform/db/types';
import { badRequest, type FieldError } from '#platform/http/problem';
import type { App } from '#platform/http/types';
import {
  findCallbackSettings,
  parseHttpUrl,
  saveCallbackSettings,
  type CallbackSettings,
} from '../callback/policy.ts';
import { consentRequired, saveConsentRequired } from '../consent.ts';

/**
 * Admin routes for a client's DCI callback settings (`/clients/{id}/dci`, mounted under /api/v1):
 * the origins its callbacks may go to, its default callback base URI, and whether callback hosts
 * may resolve to private addresses. Errors are the gateway's RFC 9457 problems.
 */

const Settings = Type.Object({
  client_id: Type.String({ format: 'uuid' }),
  callback_origins: Type.Array(Type.String()),
  callback_uri: Type.Union([Type.String(), Type.Null()]),
  allow_private_addresses: Type.Boolean(),
  updated_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

const SettingsInput = Type.Object(
  {
    callback_origins: Type.Array(Type.String({ minLength: 1, maxLength: 300 }), {
      maxItems: 20,
      uniqueItems: true,
      description: 'Origins (scheme://host[:port]) that callbacks may go to',
    }),
    callback_uri: Type.Optional(
      Type.Union([Type.String({ minLength: 1, maxLength: 1000 }), Type.Null()], {
        description:
          "Base URI of the client's DCI endpoints, for requests without sender_uri: <callback_uri>/registry/on-search",
      }),
    ),
    allow_private_addresses: Type.Optional(
      Type.Boolean({
        description: 'Callback hosts may resolve to loopback or private addresses (default false)',
      }),
    ),
  },
  { additionalProperties: false },
);

const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
const problems = { 400: { $ref: 'Problem#' }, 404: { $ref: 'Problem#' } };
const manage = (action: string) => ({
  access: { permission: 'clients:manage' as const, audit: { action, resourceType: 'client' } },
});

const json = (clientId: string, s: CallbackSettings): Static<typeof Settings> => ({
  client_id: clientId,
  callback_origins: s.callbackOrigins,
  callback_uri: s.callbackUri,
  allow_private_addresses: s.allowPrivateAddresses,
  updated_at: s.updatedAt?.toISOString() ?? null,
});

export async function dciClientSettingsRoutes(app: App, { db }: { db: Kysely<DB> }): Promise<void> {
  app.put(
    '/clients/:id/dci',
    {
      config: manage('client.dci_settings.update'),
      schema: {
        tags: ['access'],
        summary: "Set a client's DCI callback origins and default callback URI",
        params: IdParams,
        body: SettingsInput,
        response: { 200: Settings, ...problems },
      },
    },
    async (request) => {
      request.auditNote = { resourceId: request.params.id };
      const client = await findClient(db, request.params.id);
      await saveCallbackSettings(db, client.id, checked(request.body), request.principal?.clientId);
      request.auditNote.recordCount = 1;
      return json(client.id, await findCallbackSettings(db, client.id));
    },
  );

  app.get(
    '/clients/:id/dci',
    {
      config: manage('client.dci_settings.read'),
      schema: {
        tags: ['access'],
        summary: "A client's DCI callback settings",
        params: IdParams,
        response: { 200: Settings, ...problems },
      },
    },
    async (request) => {
      request.auditNote = { resourceId: request.params.id };
      const client = await findClient(db, request.params.id);
      request.auditNote.recordCount = 1;
      return json(client.id, await findCallbackSettings(db, client.id));
    },
  );
  consentRoutes(app, db);
}

const Consent = Type.Object({
  client_id: Type.String({ format: 'uuid' }),
  consent_required: Type.Boolean({
    description:
      'The client receives only records whose subjects consented to the purpose its search states (search_criteria.consent.purpose.code)',
  }),
});
const ConsentInput = Type.Object({ consent_required: Type.Boolean() }, { additionalProperties: false });

/**
 * Whether a client gets records only with their subjects' consent. Its own route, so that updating
 * callback settings can never drop the requirement by leaving a field out.
 */
function consentRoutes(app: App, db: Kysely<DB>): void {
  app.put(
    '/clients/:id/dci/consent',
    {
      config: manage('client.dci_consent.update'),
      schema: {
        tags: ['access'],
        summary: 'Require (or not) the subjects’ consent for the records a client receives over DCI',
        params: IdParams,
        body: ConsentInput,
        response: { 200: Consent, ...problems },
      },
    },
    async (request) => {
      request.auditNote = { resourceId: request.params.id };
      const client = await findClient(db, request.params.id);
      await saveConsentRequired(db, client.id, request.body.consent_required, request.principal?.clientId);
      request.auditNote.recordCount = 1;
      return { client_id: client.id, consent_required: await consentRequired(db, client.id) };
    },
  );

  app.get(
    '/clients/:id/dci/consent',
    {
      config: manage('client.dci_consent.read'),
      schema: {
        tags: ['access'],
        summary: 'Whether a client receives DCI records only with their subjects’ consent',
        params: IdParams,
        response: { 200: Consent, ...problems },
      },
    },
    async (request) => {
      request.auditNote = { resourceId: request.params.id };
      const client = await findClient(db, request.params.id);
      request.auditNote.recordCount = 1;
      return { client_id: client.id, consent_required: await consentRequired(db, client.id) };
    },
  );
}

/** Origins normalised (scheme://host[:port]); the base URI inside one of them, without a trailing slash. */
function checked(input: Static<typeof SettingsInput>): CallbackSettings {
  const errors: FieldError[] = [];
  const origins = input.callback_origins.map((text, i) => {
    const url = parseHttpUrl(text);
    if (!url || url.pathname !== '/' || url.search !== '' || url.hash !== '') {
      errors.push({
        pointer: `/callback_origins/${i}`,
        detail: 'must be an http(s) origin: scheme://host[:port]',
      });
    }
    return url?.origin ?? text;
  });
  const base = input.callback_uri ? parseHttpUrl(input.callback_uri) : undefined;
  if (
    input.callback_uri &&
    (!base || base.search !== '' || base.hash !== '' || !origins.includes(base.origin))
  ) {
    errors.push({
      pointer: '/callback_uri',
      detail: 'must be an http(s) URL without query, inside one of callback_origins',
    });
  }
  if (errors.length > 0) {
    throw badRequest('invalid DCI callback settings', errors);
  }
  return {
    callbackOrigins: [...new Set(origins)],
    callbackUri: base ? base.href.replace(/\/+$/, '') : null,
    allowPrivateAddresses: input.allow_private_addresses ?? false,
  };
}
