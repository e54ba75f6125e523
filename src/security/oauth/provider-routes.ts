import { Type, type Static } from '@sinclair/typebox';
import type { Kysely } from 'kysely';
import type { DB } from '#platform/db/types';
import { badRequest, conflict, notFound, type FieldError } from '#platform/problem';
import type { App } from '#platform/http/types';
import { accessTo, IdParams, problems } from '#platform/http/kit';
import { parseHttpUrl } from '#platform/outbound/address';
import {
  disableProvider,
  findClashingProvider,
  findProvider,
  insertProvider,
  listProviders,
  updateProvider,
  type ProviderSettings,
} from './providers.ts';
import { Provider, ProviderInput, providerJson } from './schemas.ts';
import type { OAuth } from './service.ts';
import { jwksUriProblem } from './urls.ts';

/**
 * Admin routes of the external identity providers whose tokens we accept (under /api/v1,
 * permission clients:manage, audited): register, list, read, replace, disable. A change applies at
 * once on this gateway. A client uses a provider's tokens once linked to its identity there
 * (POST /clients/{id}/oauth/identities).
 */

const manage = accessTo('clients:manage', 'identity_provider');

export async function oauthProviderRoutes(
  app: App,
  { db, oauth }: { db: Kysely<DB>; oauth: OAuth },
): Promise<void> {
  /** Checked settings, or a 400 naming every field in error, or a 409 for a taken name or issuer. */
  const settingsOf = async (input: Static<typeof ProviderInput>, exceptId: string | null) => {
    const settings = withDefaults(input);
    const errors = problemsOf(settings, oauth.endpoints().issuer);
    if (errors.length > 0) {
      throw badRequest('invalid identity provider', errors);
    }
    const clash = await findClashingProvider(db, settings, exceptId);
    if (clash) {
      throw conflict(
        clash.name === settings.name
          ? `an identity provider named "${settings.name}" already exists`
          : `an identity provider with the issuer ${settings.issuer} already exists`,
      );
    }
    return settings;
  };

  app.post(
    '/identity-providers',
    {
      config: manage('identity_provider.create'),
      schema: {
        tags: ['security'],
        operationId: 'createIdentityProvider',
        summary: 'Register an external identity provider whose access tokens are accepted',
        body: ProviderInput,
        response: { 201: Provider, ...problems(400, 404, 409) },
      },
    },
    async (request, reply) => {
      const settings = await settingsOf(request.body, null);
      const row = await insertProvider(db, settings, request.principal?.clientId);
      if (!row) {
        throw conflict('an identity provider with this name or issuer was registered meanwhile');
      }
      oauth.providersChanged();
      request.auditNote = { resourceId: row.id, recordCount: 1 };
      return reply.code(201).send(providerJson(row));
    },
  );

  app.get(
    '/identity-providers',
    {
      config: manage('identity_provider.list'),
      schema: {
        tags: ['security'],
        operationId: 'listIdentityProviders',
        summary: 'List the external identity providers (disabled ones too)',
        response: { 200: Type.Object({ items: Type.Array(Provider) }) },
      },
    },
    async (request) => {
      const items = await listProviders(db);
      request.auditNote = { recordCount: items.length };
      return { items: items.map(providerJson) };
    },
  );

  app.get(
    '/identity-providers/:id',
    {
      config: manage('identity_provider.read'),
      schema: {
        tags: ['security'],
        operationId: 'getIdentityProvider',
        summary: 'An external identity provider',
        params: IdParams,
        response: { 200: Provider, ...problems(400, 404, 409) },
      },
    },
    async (request) => {
      request.auditNote = { resourceId: request.params.id };
      const row = await findProvider(db, request.params.id);
      if (!row) {
        throw notFound('identity provider');
      }
      request.auditNote.recordCount = 1;
      return providerJson(row);
    },
  );

  app.put(
    '/identity-providers/:id',
    {
      config: manage('identity_provider.update'),
      schema: {
        tags: ['security'],
        operationId: 'replaceIdentityProvider',
        summary: "Replace an identity provider's settings (omitted optional fields take their defaults)",
        params: IdParams,
        body: ProviderInput,
        response: { 200: Provider, ...problems(400, 404, 409) },
      },
    },
    async (request) => {
      request.auditNote = { resourceId: request.params.id };
      if (!(await findProvider(db, request.params.id))) {
        throw notFound('identity provider');
      }
      const row = await updateProvider(
        db,
        request.params.id,
        await settingsOf(request.body, request.params.id),
      );
      if (!row) {
        throw notFound('identity provider');
      }
      oauth.providersChanged();
      request.auditNote.recordCount = 1;
      return providerJson(row);
    },
  );

  app.delete(
    '/identity-providers/:id',
    {
      config: manage('identity_provider.disable'),
      schema: {
        tags: ['security'],
        operationId: 'disableIdentityProvider',
        summary: 'Disable an identity provider at once (its tokens are refused)',
        params: IdParams,
        response: { 200: Provider, ...problems(400, 404, 409) },
      },
    },
    async (request) => {
      request.auditNote = { resourceId: request.params.id };
      const row = await disableProvider(db, request.params.id);
      if (!row) {
        throw notFound('identity provider');
      }
      oauth.providersChanged();
      request.auditNote.recordCount = 1;
      return providerJson(row);
    },
  );
}

const withDefaults = (input: Static<typeof ProviderInput>): ProviderSettings => ({
  name: input.name,
  issuer: input.issuer,
  jwks_uri: input.jwks_uri,
  audience: input.audience,
  client_claim: input.client_claim ?? 'azp',
  permissions_claim: input.permissions_claim ?? 'scope',
  permissions_map: input.permissions_map ?? {},
  allow_private_addresses: input.allow_private_addresses ?? false,
});

/** What the schema cannot say: URLs that may be used, an issuer that is not ours. */
function problemsOf(settings: ProviderSettings, ourIssuer: string): FieldError[] {
  const errors: FieldError[] = [];
  const issuer = parseHttpUrl(settings.issuer);
  if (!issuer || issuer.search !== '' || issuer.hash !== '') {
    errors.push({
      pointer: '/issuer',
      detail: 'must be an http(s) URL without credentials, query or fragment',
    });
  } else if (settings.issuer === ourIssuer) {
    errors.push({ pointer: '/issuer', detail: "is this gateway's own issuer" });
  }
  const jwksProblem = jwksUriProblem(settings.jwks_uri, settings.allow_private_addresses);
  if (jwksProblem) {
    errors.push({ pointer: '/jwks_uri', detail: jwksProblem });
  }
  return errors;
}
