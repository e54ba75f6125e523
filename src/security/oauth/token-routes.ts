import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { certificateThumbprint, peerCertificateOf } from '#platform/auth/peer-certificate';
import { PERMISSIONS, roleDefinitions, type Permission } from '#platform/auth/roles';
import { recordAudit, type AuditOutcome } from '#platform/audit/audit-log';
import type { App } from '#platform/http/types';
import { ASSERTION_ALGS } from './assertion.ts';
import { AUTH_METHODS, authenticateClient, type AuthenticatedClient } from './client-auth.ts';
import { handleTokenError, OAuthError, TokenErrorSchema } from './errors.ts';
import type { OAuth } from './service.ts';

/**
 * `POST /oauth/token` (RFC 6749 §4.4, the client credentials grant, form-urlencoded) and the
 * authorization server metadata (RFC 8414). Public routes: the client authenticates in the request
 * itself. Every token request is audited (action oauth.token), granted or refused.
 */

export const GRANT_TYPE = 'client_credentials';
/** A token request is a few parameters and at most an assertion of a few kB. */
const TOKEN_BODY_LIMIT = 16 * 1024;
const FORM = 'application/x-www-form-urlencoded';

const TokenRequest = Type.Object(
  {
    grant_type: Type.String({ minLength: 1, description: 'client_credentials' }),
    scope: Type.Optional(Type.String({ description: 'Space-separated permissions; default: all granted' })),
    client_id: Type.Optional(Type.String({ description: 'The client id (client_secret_post, or checked)' })),
    client_secret: Type.Optional(Type.String({ description: 'client_secret_post' })),
    client_assertion_type: Type.Optional(Type.String({ description: 'private_key_jwt: urn:...:jwt-bearer' })),
    client_assertion: Type.Optional(Type.String({ description: 'private_key_jwt: the signed JWT' })),
  },
  { additionalProperties: true },
);

const TokenResponse = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer(),
  scope: Type.String(),
});

const Metadata = Type.Object({
  issuer: Type.String(),
  token_endpoint: Type.String(),
  jwks_uri: Type.String(),
  grant_types_supported: Type.Array(Type.String()),
  response_types_supported: Type.Array(Type.String()),
  token_endpoint_auth_methods_supported: Type.Array(Type.String()),
  token_endpoint_auth_signing_alg_values_supported: Type.Array(Type.String()),
  scopes_supported: Type.Array(Type.String()),
  service_documentation: Type.String(),
  tls_client_certificate_bound_access_tokens: Type.Optional(Type.Boolean()),
});

export async function oauthRoutes(app: App, { oauth }: { oauth: OAuth }): Promise<void> {
  app.clientChanges.onChange((clientId) => oauth.forget(clientId));

  const metadata = () => {
    const endpoints = oauth.endpoints();
    return {
      issuer: endpoints.issuer,
      token_endpoint: endpoints.tokenEndpoint,
      jwks_uri: endpoints.jwksUri,
      grant_types_supported: [GRANT_TYPE],
      // No authorization endpoint: the client credentials grant uses none (RFC 8414 §2 asks for the list).
      response_types_supported: [],
      token_endpoint_auth_methods_supported: [...AUTH_METHODS],
      token_endpoint_auth_signing_alg_values_supported: ASSERTION_ALGS,
      scopes_supported: [...PERMISSIONS],
      service_documentation: `${endpoints.issuer}/docs`,
      ...(oauth.mtls ? { tls_client_certificate_bound_access_tokens: true } : {}),
    };
  };
  app.get(
    '/.well-known/oauth-authorization-server',
    {
      config: { access: { public: true } },
      schema: {
        tags: ['security'],
        operationId: 'getAuthorizationServerMetadata',
        summary: 'OAuth 2.0 authorization server metadata (RFC 8414)',
        response: { 200: Metadata },
      },
    },
    metadata,
  );
  // The same metadata where OpenID Connect clients look first (RFC 8414 §5), so that they discover
  // the token endpoint from the issuer alone. We are no OpenID provider (no ID tokens, no
  // authorization endpoint): the document says only what the OAuth metadata says.
  app.get(
    '/.well-known/openid-configuration',
    {
      config: { access: { public: true } },
      schema: {
        tags: ['security'],
        operationId: 'getOpenIdConfiguration',
        summary: 'The authorization server metadata at the OpenID Connect discovery address',
        response: { 200: Metadata },
      },
    },
    metadata,
  );

  await app.register(async (token: App) => {
    token.setErrorHandler(handleTokenError);
    token.addContentTypeParser(
      FORM,
      { parseAs: 'string', bodyLimit: TOKEN_BODY_LIMIT },
      (_req, body, done) => {
        try {
          done(null, parseForm(body as string));
        } catch (error) {
          done(error as Error, undefined);
        }
      },
    );
    token.addHook('onSend', async (request, reply) => auditTokenRequest(oauth, request, reply));
    token.post(
      '/oauth/token',
      {
        config: { access: { public: true, checksCredentials: true } },
        bodyLimit: TOKEN_BODY_LIMIT,
        schema: {
          tags: ['security'],
          operationId: 'requestAccessToken',
          summary: 'Issue an access token (OAuth 2.0 client credentials grant)',
          description:
            'Form-urlencoded. Client authentication by client_secret_basic, client_secret_post or private_key_jwt ' +
            '(RFC 7523). Over the mutual-TLS listener the token is bound to the client certificate (RFC 8705).',
          consumes: [FORM],
          body: TokenRequest,
          response: { 200: TokenResponse, 400: TokenErrorSchema, 401: TokenErrorSchema },
        },
      },
      async (request, reply) => {
        if (!request.headers['content-type']?.toLowerCase().startsWith(FORM)) {
          throw new OAuthError('invalid_request', `the body must be ${FORM}`);
        }
        const params = request.body as Record<string, string>;
        const authenticated = await authenticateClient(
          oauth.assertionDeps(),
          request.headers.authorization,
          params,
        );
        authenticatedClients.set(request, authenticated);
        if (params['grant_type'] !== GRANT_TYPE) {
          throw new OAuthError('unsupported_grant_type', `only ${GRANT_TYPE} is supported`);
        }
        const scopes = tokenScopes(authenticated, params['scope']);
        const peer = peerCertificateOf(request);
        const accessToken = await oauth.issue({
          clientId: authenticated.client.id,
          credentialId: authenticated.credential.id,
          scopes,
          certificateThumbprint: peer ? certificateThumbprint(peer.der) : undefined,
        });
        return reply.header('pragma', 'no-cache').send({
          access_token: accessToken,
          token_type: 'Bearer' as const,
          expires_in: oauth.ttlSeconds,
          scope: scopes.join(' '),
        });
      },
    );
  });
}

/**
 * The form body: a parameter sent twice is refused (RFC 6749 §3.1: parameters MUST NOT be included
 * more than once), parameters without a value are ignored (§3.1: "treated as if omitted").
 */
export function parseForm(body: string): Record<string, string> {
  const params: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(body)) {
    if (Object.hasOwn(params, name)) {
      throw new OAuthError('invalid_request', `the parameter ${name} is repeated`);
    }
    if (value !== '') {
      params[name] = value;
    }
  }
  return params;
}

/** The scopes of the token: those asked, each granted to the credential and the role; default all. */
function tokenScopes({ client, credential }: AuthenticatedClient, asked: string | undefined): Permission[] {
  const role = new Set<string>(roleDefinitions[client.role].permissions);
  const grantable = credential.scopes.filter((scope): scope is Permission => role.has(scope));
  if (grantable.length === 0) {
    throw new OAuthError('unauthorized_client', 'no scope is granted to this credential');
  }
  if (asked === undefined) {
    return grantable;
  }
  const wanted = [...new Set(asked.split(' ').filter(Boolean))];
  const refused = wanted.filter((scope) => !grantable.includes(scope as Permission));
  if (wanted.length === 0 || refused.length > 0) {
    throw new OAuthError(
      'invalid_scope',
      `${wanted.length === 0 ? 'the scope is empty' : `not granted: ${refused.join(' ')}`}; granted: ${grantable.join(' ')}`,
    );
  }
  return wanted as Permission[];
}

/**
 * The client a token request authenticated, for its audit entry. Not `request.principal`: the
 * client has not been granted anything on this request yet, and hooks that act on principals
 * (policies, the anomaly guard) must not count it as an API call.
 */
const authenticatedClients = new WeakMap<FastifyRequest, AuthenticatedClient>();

function auditTokenRequest(oauth: OAuth, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const authenticated = authenticatedClients.get(request);
  const status = reply.statusCode;
  let outcome: AuditOutcome = status === 200 ? 'success' : authenticated ? 'invalid' : 'denied';
  if (status >= 500) {
    outcome = 'error';
  }
  return recordAudit(oauth.db, {
    requestId: request.id,
    clientId: authenticated?.client.id,
    clientName: authenticated?.client.name,
    action: 'oauth.token',
    resourceType: 'oauth_credential',
    resourceId: authenticated?.credential.id,
    outcome,
    statusCode: status,
  });
}
