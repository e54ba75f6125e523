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
import type { DB } from '#platform/db/types';
import { unauthorized } from '#platform/http/problem';
import type { App } from '#platform/http/types';

/**
 * Signing in to the admin console (issue 9): a person presents an API key once; the gateway answers
 * with a session in an HttpOnly, SameSite=Strict cookie (Secure over HTTPS), and the console then calls
 * the same admin API as scripts do, with that cookie. The session rests on the key: revoking the key
 * or disabling its client ends it. Requests that change anything must also carry the session's CSRF
 * token (`X-CSRF-Token`), which a page of another site cannot read. Sessions last 8 hours.
 */

export const SESSION_COOKIE = 'spx_session';
const SESSION_HOURS = 8;
const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

const hashOf = (token: string) => createHash('sha256').update(token).digest();
/** The CSRF token of a session: derived from its token, so nothing more is stored. */
const csrfOf = (token: string) => createHash('sha256').update(`csrf:${token}`).digest('base64url');

/** The session token of the request's cookie, if any. */
function sessionToken(request: FastifyRequest): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === SESSION_COOKIE && value.length > 0) {
      return decodeURIComponent(value.join('='));
    }
  }
  return undefined;
}

const sameToken = (a: string, b: string) =>
  a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

const ENDED: Authentication = { ok: false, reason: 'the console session has ended: sign in again' };

/** The session of a token, if it has not ended, and the principal of the key it rests on. */
async function liveSession(db: Kysely<DB>, token: string) {
  const session = await db
    .selectFrom('console_sessions')
    .select(['key_id', 'expires_at', 'ended_at'])
    .where('token_hash', '=', hashOf(token))
    .executeTakeFirst();
  if (!session || session.ended_at || session.expires_at.getTime() <= Date.now()) {
    return { authentication: ENDED, expiresAt: undefined };
  }
  return { authentication: await principalOfKey(db, session.key_id), expiresAt: session.expires_at };
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
    if (UNSAFE.has(request.method)) {
      const presented = request.headers['x-csrf-token'];
      if (typeof presented !== 'string' || !sameToken(presented, csrfOf(token))) {
        return { ok: false, reason: 'this change needs the console session’s CSRF token (X-CSRF-Token)' };
      }
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

function setCookie(reply: FastifyReply, request: FastifyRequest, value: string, maxAgeSeconds: number) {
  const secure = request.protocol === 'https' ? '; Secure' : '';
  reply.header(
    'set-cookie',
    `${SESSION_COOKIE}=${encodeURIComponent(value)}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure}`,
  );
}

export async function consoleSessionRoutes(app: App, { db }: { db: Kysely<DB> }): Promise<void> {
  const problems = { 400: { $ref: 'Problem#' }, 401: { $ref: 'Problem#' } };

  app.post(
    '/console/session',
    {
      config: { access: { public: true, checksCredentials: true } },
      schema: {
        tags: ['access'],
        summary: 'Sign in to the admin console with an API key: a session cookie and its CSRF token',
        body: Type.Object(
          { api_key: Type.String({ minLength: 1, maxLength: 200 }) },
          { additionalProperties: false },
        ),
        response: { 201: Who, ...problems },
      },
    },
    async (request, reply) => {
      const result = await verifyApiKey(db, request.body.api_key);
      if (!result.ok) {
        throw unauthorized(result.reason);
      }
      const principal = result.principal;
      const token = randomBytes(32).toString('base64url');
      const expiresAt = new Date(Date.now() + SESSION_HOURS * 3600_000);
      await db
        .insertInto('console_sessions')
        .values({
          id: randomUUID(),
          token_hash: hashOf(token),
          key_id: principal.keyId,
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
        statusCode: 201,
      });
      setCookie(reply, request, token, SESSION_HOURS * 3600);
      return reply.code(201).send(whoView(principal, token, expiresAt));
    },
  );

  app.get(
    '/console/session',
    {
      config: { access: { public: true } },
      schema: {
        tags: ['access'],
        summary: 'Who is signed in to the console, with the CSRF token of the session (401 when nobody)',
        response: { 200: Who, 401: { $ref: 'Problem#' } },
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
      schema: { tags: ['access'], summary: 'Sign out of the console', response: { 204: Type.Null() } },
    },
    async (request, reply) => {
      const token = sessionToken(request);
      if (token) {
        await db
          .updateTable('console_sessions')
          .set({ ended_at: new Date() })
          .where('token_hash', '=', hashOf(token))
          .where('ended_at', 'is', null)
          .execute();
      }
      setCookie(reply, request, '', 0);
      return reply.code(204).send(null);
    },
  );
}
