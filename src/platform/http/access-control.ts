import type { FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import type { Kysely } from 'kysely';
import { apiKeyAuthenticator, type Authenticator } from '#platform/auth/authenticate';
import { ClientChanges } from '#platform/auth/client-changes';
import type { Principal } from '#platform/auth/principal';
import {
  AuditWriter,
  type AlongsideRow,
  type AuditEntry,
  type AuditOutcome,
} from '#platform/audit/audit-log';
import type { DB } from '#platform/db/types';
import { httpBasicCheck } from './http-basic.ts';
import { forbidden, unauthorized, badRequest } from '#platform/problem';
import type { App, RouteAccess } from './types.ts';
import { problems } from '#platform/http/kit';

// Routes added by the API docs plugin are static pages and the spec: public by nature.
const DOCS_PREFIX = '/docs';
/** A stated purpose (X-Purpose, or an export's purpose): letters, digits, spaces and _.,:/()-. */
export const PURPOSE = /^[\p{L}\p{N} _.,:/()-]{1,200}$/u;

export interface AccessControlOptions {
  /** How long an authenticated key's row is reused, in ms (0: read on every request). */
  authCacheMs?: number;
  /** Ways to authenticate tried before the API key, in order (OAuth tokens, client certificates). */
  authenticators?: readonly Authenticator[];
  /** Checks of an authenticated principal against its request (e.g. the client certificate's owner). */
  principalChecks?: readonly PrincipalCheck[];
  /**
   * What admits a request whose permission was granted (per-client agreements, rate limits and
   * quotas: the security capability's policy enforcement), made once with the client changes its
   * caches follow. Without one, a granted permission is enough.
   */
  admission?: (changes: ClientChanges) => Admission;
  /** Runs before authentication; may refuse by throwing (the anomaly guard's throttled addresses). */
  screen?: (request: FastifyRequest) => void;
}

/** Route access that needs credentials (not public). */
export type GuardedAccess = Exclude<RouteAccess, { public: true }>;

/**
 * Checks a request whose permission was granted (a 4xx problem when refused) and answers the
 * principal it is served as (narrowed, e.g. by the client's agreement).
 */
export interface Admission {
  admit(
    request: FastifyRequest,
    reply: FastifyReply,
    principal: Principal,
    access: GuardedAccess,
  ): Promise<Principal>;
}

/** Says why an authenticated principal may not make this request (401), or undefined. */
export type PrincipalCheck = (request: FastifyRequest, principal: Principal) => Promise<string | undefined>;

/**
 * Deny by default (STYLE habit 4): every route must declare its access; every call to a non-public
 * route is authenticated (API key, or another authenticator given), checked against the declared
 * permission, and audited. Decorates the app with `clientChanges`, which routes that change a client
 * call so that cached credentials and policies are read afresh.
 */
export function installAccessControl(app: App, db: Kysely<DB>, options: AccessControlOptions = {}): void {
  const audit = new AuditWriter(db);
  const changes = new ClientChanges();
  app.decorate('clientChanges', changes);
  const authenticators = [
    ...(options.authenticators ?? []),
    apiKeyAuthenticator(db, { cacheMs: options.authCacheMs ?? 0, changes }),
  ];
  const admission = options.admission?.(changes);
  const principalChecks = [httpBasicCheck(db), ...(options.principalChecks ?? [])];
  app.addHook('onRoute', (route: RouteOptions) => {
    const access = route.config?.access;
    if (!access && !route.url.startsWith(DOCS_PREFIX)) {
      throw new Error(`route ${String(route.method)} ${route.url} declares no access (config.access)`);
    }
    // Documented in OpenAPI from the same declaration that enforces it; a public route says that it
    // needs no credentials (an empty list), rather than leaving it unsaid.
    if (access && 'public' in access) {
      route.schema = { ...route.schema, security: [] };
    } else if (access) {
      route.schema = {
        ...route.schema,
        security: [{ apiKey: [] }, { bearer: [] }, { oauth2: [access.permission] }],
        response: { ...problems(401, 403), ...(route.schema?.response ?? {}) },
      };
    }
  });

  app.addHook('onRequest', async (request, reply) => {
    const access = accessOf(request);
    if (!access || 'public' in access) {
      if (access && 'public' in access && access.checksCredentials) {
        options.screen?.(request);
      }
      return;
    }
    options.screen?.(request);
    const result = await authenticate(authenticators, request);
    if (!result) {
      throw unauthorized(
        'credentials are required: an API key or access token (header "Authorization: Bearer <token>" or "X-API-Key")',
      );
    }
    if (!result.ok) {
      throw unauthorized(result.reason, result.challenge);
    }
    for (const check of principalChecks) {
      const refusal = await check(request, result.principal);
      if (refusal) {
        throw unauthorized(refusal);
      }
    }
    request.principal = result.principal;
    request.purpose = purposeOf(request);
    if (!result.principal.scopes.has(access.permission)) {
      throw forbidden(`this key lacks the permission ${access.permission}`);
    }
    // The client's data sharing agreement, rate limit and quota, in this one place for every API.
    if (admission) {
      request.principal = await admission.admit(request, reply, result.principal, access);
    }
  });

  app.decorateRequest('answerRecorded', undefined);
  app.decorateRequest(
    'recordAnswer',
    async function recordAnswer(this: FastifyRequest, statusCode: number, alongside: AlongsideRow) {
      const entry = auditEntryOf(this, statusCode);
      if (!entry) {
        throw new Error(`route ${this.routeOptions.url} is not audited: nothing to record its answer with`);
      }
      await audit.record(entry, alongside);
      this.answerRecorded = statusCode;
    },
  );

  app.addHook('onSend', async (request, reply) => {
    // A handler that recorded its answer (recordAnswer) is audited already, unless the answer
    // changed on its way out (an error while serialising it): that one is recorded too.
    const entry =
      request.answerRecorded === reply.statusCode ? undefined : auditEntryOf(request, reply.statusCode);
    if (entry) {
      await audit.record(entry);
    }
  });
}

/** The audit entry of a request answered with `statusCode`; undefined for routes not audited. */
function auditEntryOf(request: FastifyRequest, statusCode: number): AuditEntry | undefined {
  const access = accessOf(request);
  if (!access || 'public' in access || access.audit === false) {
    return undefined;
  }
  return {
    requestId: request.id,
    clientId: request.principal?.clientId,
    clientName: request.principal?.clientName,
    action: access.audit.action,
    purpose: request.purpose ?? request.auditNote?.purpose,
    resourceType: access.audit.resourceType,
    resourceId: request.auditNote?.resourceId,
    recordCount: statusCode < 400 ? (request.auditNote?.recordCount ?? 0) : 0,
    subjectIds: statusCode < 400 ? request.auditNote?.subjectIds : undefined,
    legalBasis: request.auditNote?.legalBasis,
    outcome: outcomeOf(statusCode),
    statusCode,
  };
}

const accessOf = (request: FastifyRequest): RouteAccess | undefined => request.routeOptions.config.access;

/** The first authenticator that recognises a credential of its kind decides. */
async function authenticate(authenticators: readonly Authenticator[], request: FastifyRequest) {
  for (const authenticator of authenticators) {
    const result = await authenticator(request);
    if (result) {
      return result;
    }
  }
  return undefined;
}

/** The declared purpose of the access (header X-Purpose), recorded in the audit trail. */
function purposeOf(request: FastifyRequest): string | undefined {
  const purpose = request.headers['x-purpose'];
  if (purpose === undefined) {
    return undefined;
  }
  if (typeof purpose !== 'string' || !PURPOSE.test(purpose)) {
    throw badRequest('X-Purpose must be 1 to 200 letters, digits, spaces or _.,:/()-', [
      { pointer: 'x-purpose', detail: 'invalid purpose' },
    ]);
  }
  return purpose;
}

function outcomeOf(status: number): AuditOutcome {
  if (status === 401 || status === 403) {
    return 'denied';
  }
  if (status >= 500) {
    return 'error';
  }
  return status >= 400 ? 'invalid' : 'success';
}
