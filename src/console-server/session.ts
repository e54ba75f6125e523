import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import { recordAudit } from '#platform/audit/audit-log';
import {
  principalOfKey,
  verifyApiKey,
  type Authentication,
  type Authenticator,
} from '#platform/auth/authenticate';
import type { Principal } from '#platform/auth/principal';
import { principalOfCredential } from '#security/stored-credential';
import type { DB } from '#platform/db/types';
import { unauthorized } from '#platform/problem';
import type { App } from '#platform/http/types';
import { problems } from '#platform/http/kit';
import { readCookie, setCookie } from './cookies.ts';

/**
 * Signing in to the admin console (issue 9): a person presents an API key once; the gateway answers
 * with a session in an HttpOnly, SameSite=Strict cookie (Secure over HTTPS), and the console then calls
 * the same admin API as scripts do, with that cookie. The session rests on the key: revoking the key
 * or disabling its client ends it. Requests that change anything must also carry the session's CSRF
 * token (`X-CSRF-Token`), which a page of another site cannot read. Sessions last 8 hours. A person
 * may also sign in through an OpenID provider (oidc/): that session rests on the identity link
 * (identity_provider credential) of their subject at the provider, and ends the same ways.
 */

export const SESSION_COOKIE = 'spx_session';
const SESSION_HOURS = 8;
const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

const hashOf = (token: string) => createHash('sha256').update(token).digest();
/** The CSRF token of a session: derived from its token, so nothing more is stored. */
const csrfOf = (token: string) => createHash('sha256').update(`csrf:${token}`).digest('base64url');

/** The session token of the request's cookie, if any. */
const sessionToken = (request: FastifyRequest) => readCookie(request, SESSION_COOKIE);

const sameToken = (a: string, b: string) =>
  a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

const ENDED: Authentication = { ok: false, reason: 'the console session has ended: sign in again' };

const NO_CSRF = 'this change needs the console session’s CSRF token (X-CSRF-Token)';

/** Whether the request carries the CSRF token of this session (every change, sign-out included). */
function carriesCsrf(request: FastifyRequest, token: string): boolean {
  const presented = request.headers['x-csrf-token'];
  return typeof presented === 'string' && sameToken(presented, csrfOf(token));
}

const UNLINKED: Authentication = {
  ok: false,
  reason: 'the identity link of this session is revoked or expired',
};

/** The session of a token, if it has not ended, and the principal of the key or identity link it rests on. */
async function liveSession(db: Kysely<DB>, token: string) {
  const session = await db
    .selectFrom('console_sessions as s')
    .leftJoin('oauth_credentials as c', 'c.id', 's.credential_id')
    .select(['s.key_id', 's.credential_id', 'c.client_id', 's.expires_at', 's.ended_at'])
    .where('s.token_hash', '=', hashOf(token))
    .executeTakeFirst();
  if (!session || session.ended_at || session.expires_at.getTime() <= Date.now()) {
    return { authentication: ENDED, expiresAt: undefined };
  }
  return { authentication: await principalOfGround(db, session), expiresAt: session.expires_at };
}

/**
 * The principal of what the session rests on, as it is now: an identity link counts as the OAuth
 * credential it is (the principal a token obtained through it would have, with all the link grants).
 */
async function principalOfGround(
  db: Kysely<DB>,
  ground: { key_id: string | null; credential_id: string | null; client_id: string | null },
): Promise<Authentication> {
  if (ground.key_id !== null) {
    return principalOfKey(db, ground.key_id);
  }
  if (ground.credential_id === null || ground.client_id === null) {
    return UNLINKED;
  }
  const principal = await principalOfCredential(db, {
    clientId: ground.client_id,
    method: 'access_token',
    credentialId: ground.credential_id,
    scopes: null,
  });
  return principal ? { ok: true, principal } : UNLINKED;
}

/**
 * Authenticates by console session cookie when the request presents no other credential (a token or
 * key wins); unsafe methods need the session's CSRF token.
 */
export function consoleSessionAuthenticator(db: Kysely<DB>): Authenticator {
  return async (request) => {
    const token = sessionToken(request);
    if (!token || request.headers.authorization || request.headers['x-api-key']) {
      return undefined;
    }
    if (UNSAFE.has(request.method) && !carriesCsrf(request, token)) {
      return { ok: false, reason: NO_CSRF };
    }
    return (await liveSession(db, token)).authentication;
  };
}

const Who = Type.Object({
  client: Type.Object({ id: Type.String(), name: Type.String(), role: Type.String() }),
  permissions: Type.Array(Type.String()),
  csrf_token: Type.String({ description: 'Send it as X-CSRF-Token with every change' }),
  expires_at: Type.String({ format: 'date-time' }),
});

const whoView = (principal: Principal, token: string, expiresAt: Date) => ({
  client: { id: principal.clientId, name: principal.clientName, role: principal.role },
  permissions: [...principal.scopes].sort(),
  csrf_token: csrfOf(token),
  expires_at: expiresAt.toISOString(),
});

const setSessionCookie = (
  reply: FastifyReply,
  request: FastifyRequest,
  value: string,
  maxAgeSeconds: number,
) => setCookie(reply, request, { name: SESSION_COOKIE, value, maxAgeSeconds, sameSite: 'Strict', path: '/' });

/** What a new session rests on: the API key presented, or the identity link of an OpenID sign-in. */
export type SessionGround = { keyId: string } | { credentialId: string };

/**
 * Opens a console session for the principal: stores the hash of a new token, audits the sign-in,
 * sets the session cookie. Returns the token and when the session ends.
 */
export async function openSession(
  db: Kysely<DB>,
  { request, reply, statusCode }: { request: FastifyRequest; reply: FastifyReply; statusCode: number },
  principal: Principal,
  ground: SessionGround,
): Promise<{ token: string; expiresAt: Date }> {
  const token = randomBytes(32).toString('base64url');
  const expiresAt = new Date(Date.now() + SESSION_HOURS * 3600_000);
  await db
    .insertInto('console_sessions')
    .values({
      id: randomUUID(),
      token_hash: hashOf(token),
      key_id: 'keyId' in ground ? ground.keyId : null,
      credential_id: 'credentialId' in ground ? ground.credentialId : null,
      expires_at: expiresAt,
    })
    .execute();
  await recordAudit(db, {
    requestId: request.id,
    clientId: principal.clientId,
    clientName: principal.clientName,
    action: 'console.sign_in',
    resourceType: 'console_session',
    recordCount: 0,
    outcome: 'success',
    statusCode,
  });
  setSessionCookie(reply, request, token, SESSION_HOURS * 3600);
  return { token, expiresAt };
}

export async function consoleSessionRoutes(app: App, { db }: { db: Kysely<DB> }): Promise<void> {
  app.post(
    '/console/session',
    {
      config: { access: { public: true, checksCredentials: true } },
      schema: {
        tags: ['access'],
        operationId: 'createConsoleSession',
        summary: 'Sign in to the admin console with an API key: a session cookie and its CSRF token',
        body: Type.Object(
          { api_key: Type.String({ minLength: 1, maxLength: 200 }) },
          { additionalProperties: false },
        ),
        response: { 201: Who, ...problems(400, 401) },
      },
    },
    async (request, reply) => {
      const result = await verifyApiKey(db, request.body.api_key);
      if (!result.ok) {
        throw unauthorized(result.reason);
      }
      const principal = result.principal;
      const { token, expiresAt } = await openSession(db, { request, reply, statusCode: 201 }, principal, {
        keyId: principal.keyId,
      });
      return reply.code(201).send(whoView(principal, token, expiresAt));
    },
  );

  app.get(
    '/console/session',
    {
      config: { access: { public: true } },
      schema: {
        tags: ['access'],
        operationId: 'getConsoleSession',
        summary: 'Who is signed in to the console, with the CSRF token of the session (401 when nobody)',
        response: { 200: Who, ...problems(401) },
      },
    },
    async (request) => {
      const token = sessionToken(request);
      const session = token ? await liveSession(db, token) : undefined;
      if (!token || !session?.expiresAt) {
        throw unauthorized('not signed in to the console');
      }
      if (!session.authentication.ok) {
        throw unauthorized(session.authentication.reason);
      }
      return whoView(session.authentication.principal, token, session.expiresAt);
    },
  );

  app.delete(
    '/console/session',
    {
      config: { access: { public: true } },
      schema: {
        tags: ['access'],
        operationId: 'deleteConsoleSession',
        summary: 'Sign out of the console (with the CSRF token of the session, like every change)',
        response: { 204: Type.Null(), ...problems(401) },
      },
    },
    async (request, reply) => {
      const token = sessionToken(request);
      // SameSite=Strict keeps other sites' requests from carrying the cookie; the token is asked
      // all the same, as of every change, so that sign-out rests on no single defence.
      if (token && !carriesCsrf(request, token)) {
        throw unauthorized(NO_CSRF);
      }
      if (token) {
        await db
          .updateTable('console_sessions')
          .set({ ended_at: new Date() })
          .where('token_hash', '=', hashOf(token))
          .where('ended_at', 'is', null)
          .execute();
      }
      setSessionCookie(reply, request, '', 0);
      return reply.code(204).send(null);
    },
  );
}
