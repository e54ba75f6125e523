import { Type } from '@sinclair/typebox';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { Config } from '#config/settings';
import { recordAudit } from '#platform/audit/audit-log';
import type { DB } from '#platform/db/types';
import { handleError } from '#platform/http/errors';
import { notFound } from '#platform/problem';
import type { App } from '#platform/http/types';
import { problems } from '#platform/http/kit';
import type { OAuth } from '#security/oauth/service';
import { readCookie, setCookie } from '../cookies.ts';
import { openSession } from '../session.ts';
import {
  consoleOidcSettings,
  consoleProvider,
  finishSignIn,
  SignInError,
  startSignIn,
  type ConsoleOidc,
} from './flow.ts';
import { OpenIdProvider } from './provider.ts';

/**
 * Console sign-in through the identity provider named by SPX_CONSOLE_OIDC_PROVIDER (under
 * /api/v1/console/oidc; public: they check what the browser brings themselves). The console asks
 * whether it is on, sends the browser to `start`, which redirects to the provider; the provider
 * sends it back to `callback`, which opens the session and redirects to the console. A refusal
 * redirects to `/console/?sign_in_error=<code>`: nothing the provider wrote reaches the page.
 */

const BASE = '/console/oidc';
/**
 * The browser's binding to its login. SameSite=Lax, not Strict: the provider's redirect back is a
 * cross-site top-level navigation, on which a Strict cookie would not be sent.
 */
const BINDING_COOKIE = 'spx_oidc_login';
const BINDING_SECONDS = 600;
const CONSOLE = '/console/';

const Status = Type.Object({
  enabled: Type.Boolean({ description: 'Whether the console offers sign-in through the provider' }),
  provider: Type.Optional(Type.String({ description: "The provider's registered name" })),
});

// The provider may add parameters of its own (session_state...): they are allowed, and ignored.
const Answer = Type.Object(
  {
    state: Type.Optional(Type.String({ maxLength: 512 })),
    code: Type.Optional(Type.String({ maxLength: 4096 })),
    error: Type.Optional(Type.String({ maxLength: 256 })),
    iss: Type.Optional(Type.String({ maxLength: 1000 })),
  },
  { additionalProperties: true },
);

export async function consoleOidcRoutes(
  app: App,
  { db, oauth, config }: { db: Kysely<DB>; oauth: OAuth; config: Config },
): Promise<void> {
  const settings = consoleOidcSettings(config);
  const oidc: ConsoleOidc | undefined = settings && {
    db,
    settings,
    providers: oauth.providers,
    providerJwks: oauth.providerJwks,
    provider: new OpenIdProvider(oauth.outbound),
  };
  const publicAccess = { access: { public: true, checksCredentials: true } as const };

  app.get(
    BASE,
    {
      config: { access: { public: true } },
      schema: {
        tags: ['access'],
        operationId: 'getConsoleOidc',
        summary: 'Whether the console offers sign-in through an identity provider, and which',
        response: { 200: Status },
      },
    },
    async () => {
      const provider = oidc && (await consoleProvider(oidc));
      return provider ? { enabled: true, provider: provider.name } : { enabled: false };
    },
  );

  app.get(
    `${BASE}/start`,
    {
      config: publicAccess,
      schema: {
        tags: ['access'],
        operationId: 'startConsoleOidcSignIn',
        summary: 'Sign in to the console through the identity provider: a redirect to its sign-in page',
        response: {
          302: Type.Null({ description: "To the provider's authorization endpoint" }),
          ...problems(404),
        },
      },
    },
    async (request, reply) => {
      if (!oidc) {
        throw notFound(
          'sign-in through an identity provider: it is off (SPX_CONSOLE_OIDC_PROVIDER is not set)',
        );
      }
      const { location, binding } = await startSignIn(oidc, callbackUrl(config, request));
      setBinding(reply, request, binding, BINDING_SECONDS);
      return reply.redirect(location, 302);
    },
  );

  app.get(
    `${BASE}/callback`,
    {
      config: publicAccess,
      schema: {
        // The provider's redirect target, not an API to call: it takes whatever parameters the
        // provider adds, which the walk of documented routes (bad input) would rightly refuse.
        hide: true,
        querystring: Answer,
        response: { 302: Type.Null() },
      },
    },
    async (request, reply) => {
      const binding = readCookie(request, BINDING_COOKIE);
      setBinding(reply, request, '', 0);
      if (!oidc) {
        return reply.redirect(`${CONSOLE}?sign_in_error=unavailable`, 302);
      }
      const { principal, credentialId } = await finishSignIn(oidc, { ...request.query, binding });
      await openSession(db, { request, reply, statusCode: 302 }, principal, { credentialId });
      return reply.redirect(CONSOLE, 302);
    },
  );

  // A refusal of the sign-in is a redirect to the console (a malformed answer at the callback too),
  // every other error a problem as anywhere.
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const atCallback = request.routeOptions.url?.endsWith('/callback') === true;
    if (error instanceof SignInError || (atCallback && error.validation)) {
      const refusal =
        error instanceof SignInError ? error : new SignInError('provider', 'a malformed answer');
      return refuse(refusal, request, reply);
    }
    return handleError(error, request, reply);
  });

  /** A refusal: logged (code and reason), audited when a client is known, the console told the code. */
  async function refuse(error: SignInError, request: FastifyRequest, reply: FastifyReply) {
    request.log.info(
      { code: error.code, reason: error.message },
      'console sign-in through the provider refused',
    );
    if (error.client) {
      await recordAudit(db, {
        requestId: request.id,
        clientId: error.client.id,
        clientName: error.client.name,
        action: 'console.sign_in',
        resourceType: 'console_session',
        recordCount: 0,
        outcome: 'denied',
        statusCode: 302,
      });
    }
    return reply.redirect(`${CONSOLE}?sign_in_error=${error.code}`, 302);
  }
}

/** Where the provider sends the browser back: under SPX_PUBLIC_URL, else the URL the browser used. */
const callbackUrl = (config: Config, request: FastifyRequest) =>
  `${config.publicUrl?.replace(/\/+$/, '') ?? `${request.protocol}://${request.host}`}/api/v1${BASE}/callback`;

const setBinding = (reply: FastifyReply, request: FastifyRequest, value: string, maxAgeSeconds: number) =>
  setCookie(reply, request, {
    name: BINDING_COOKIE,
    value,
    maxAgeSeconds,
    sameSite: 'Lax',
    path: `/api/v1${BASE}`,
  });
