import type { FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import type { Kysely } from 'kysely';
import type { ClientChanges } from '#platform/auth/client-changes';
import type { Principal } from '#platform/auth/principal';
import { FIELD_CLASSES, type FieldClass } from '#platform/auth/roles';
import { TtlCache } from '#platform/cache/ttl-cache';
import type { DB } from '#platform/db/types';
import { runPeriodically, type Periodic } from '#platform/jobs/periodic';
import { badRequest, forbidden, tooManyRequests } from '#platform/problem';
import type { Admission, GuardedAccess } from '#platform/http/access-control';
import type { App, RegistryName } from '#platform/http/types';
import { RateLimiter, secondsToNextDay, UsageCounter } from './limiter.ts';
import { findPolicy, type PolicyRow } from './queries.ts';
import {
  narrowed,
  notInForce,
  operationsMatcher,
  purposeInMessage,
  purposeRefusal,
  refusal,
  type AccessPolicy,
} from './rules.ts';
import { REGISTRIES } from './schemas.ts';

export interface PolicyOptions {
  /** How long a client's policy is reused, in ms (0: read on every request); a change here drops it. */
  cacheMs?: number;
  /** Requests per minute of a client whose policy sets none (0 or absent: unlimited). */
  defaultRateLimit?: number;
  /** Requests per UTC day of a client whose policy sets none (0 or absent: unlimited). */
  defaultDailyQuota?: number;
  /** How often the usage counts are written to client_usage, in ms. */
  usageFlushMs?: number;
  /** The clock of agreement dates, rate limits and quotas (tests pin it). */
  now?: () => number;
}

/**
 * Per-client policy on every authenticated request, the admission of access control: checks a
 * request whose permission was granted against its client's agreement and limits (a 4xx problem
 * when refused), counts it, and answers the principal as the agreement narrows it.
 */
export interface PolicyEnforcement extends Admission {
  /** The audit actions of the routes registered: what operation patterns may name. */
  readonly operations: ReadonlySet<string>;
}

/**
 * Loads each client's policy once per cache period (no database read per request), keeps the rate
 * limit and the daily quota in memory, and writes usage counts every `usageFlushMs` and on close.
 * Decorates the app with it as `accessPolicies`.
 */
export function createPolicyEnforcement(
  app: App,
  db: Kysely<DB>,
  changes: ClientChanges,
  options: PolicyOptions = {},
): PolicyEnforcement {
  const now = options.now ?? Date.now;
  // null: the client has no policy (cached too, so that clients without one cost no read either).
  const policies = new TtlCache<string, AccessPolicy | null>(options.cacheMs ?? 0);
  changes.onChange((clientId) => policies.deleteWhere((id) => id === clientId));
  const limiter = new RateLimiter(now);
  const usage = new UsageCounter(db, now);
  const operations = new Set<string>();
  app.addHook('onRoute', (route: RouteOptions) => {
    const access = route.config?.access;
    if (access && !('public' in access) && access.audit) {
      operations.add(access.audit.action);
    }
  });
  flushPeriodically(app, usage, options.usageFlushMs ?? 10_000);

  const limits = (policy: AccessPolicy | null) => ({
    rateLimit: policy?.rateLimit ?? (options.defaultRateLimit || undefined),
    dailyQuota: policy?.dailyQuota ?? (options.defaultDailyQuota || undefined),
  });

  const enforcement: PolicyEnforcement = {
    operations,
    async admit(request, reply, principal, access) {
      const policy = await policies.through(principal.clientId, async () => {
        const row = await findPolicy(db, principal.clientId);
        return row ? policyOf(row) : null;
      });
      if (policy) {
        checkAgreement(policy, request, access, now());
      }
      const { rateLimit, dailyQuota } = limits(policy);
      if (rateLimit) {
        applyRateLimit(limiter, reply, principal.clientId, rateLimit);
      }
      if (dailyQuota && (await usage.usedToday(principal.clientId)) >= dailyQuota) {
        throw tooManyRequests(
          `the daily quota of ${dailyQuota} requests is used up; it starts again at 00:00 UTC`,
          secondsToNextDay(now()),
        );
      }
      usage.count(principal.clientId);
      return policy ? narrowed(principal, policy) : principal;
    },
  };
  app.decorate('accessPolicies', enforcement);
  return enforcement;
}

/** Dates, operation, registry and purpose: a 403 (or 400 for a missing purpose) when refused. */
function checkAgreement(policy: AccessPolicy, request: FastifyRequest, access: GuardedAccess, now: number) {
  const action = access.audit ? access.audit.action : undefined;
  const refused = refusal(policy, { action, registry: access.registry, now });
  if (refused) {
    throw forbidden(refused);
  }
  const purpose = purposeRefusal(policy.purposes, request.purpose);
  // A DCI search or subscription may state its purpose in the message: the DCI core checks it there.
  if (purpose && !(purpose.missing && purposeInMessage(action))) {
    throw purpose.missing
      ? badRequest(purpose.detail, [
          { pointer: 'x-purpose', detail: 'required by the data sharing agreement' },
        ])
      : forbidden(purpose.detail);
  }
}

/** Takes a token, with RateLimit-* headers (draft-ietf-httpapi-ratelimit-headers) on the answer. */
function applyRateLimit(limiter: RateLimiter, reply: FastifyReply, clientId: string, perMinute: number) {
  const decision = limiter.take(clientId, perMinute);
  reply.header('ratelimit-limit', perMinute);
  reply.header('ratelimit-remaining', decision.remaining);
  reply.header('ratelimit-reset', decision.resetSeconds);
  if (!decision.allowed) {
    throw tooManyRequests(
      `the rate limit of ${perMinute} requests per minute is reached`,
      decision.retryAfterSeconds,
    );
  }
}

function flushPeriodically(app: App, usage: UsageCounter, intervalMs: number): void {
  const onError = (error: unknown) => app.log.error({ error: String(error) }, 'writing usage counts failed');
  let periodic: Periodic | undefined;
  app.addHook('onReady', async () => {
    periodic = runPeriodically(intervalMs, () => usage.flush(), onError);
  });
  // The last counts are written when the gateway stops, so a restart loses none of them.
  app.addHook('onClose', async () => {
    await periodic?.stop();
    await usage.flush().catch(onError);
  });
}

const isFieldClass = (value: string): value is FieldClass =>
  (FIELD_CLASSES as readonly string[]).includes(value);
const isRegistry = (value: string): value is RegistryName =>
  (REGISTRIES as readonly string[]).includes(value);
const optional = <T>(value: T | null): T | undefined => value ?? undefined;

/** A stored policy, compiled for the checks of every request. */
export function policyOf(row: PolicyRow): AccessPolicy {
  return {
    agreementRef: row.agreement_ref,
    operations: row.operations ? operationsMatcher(row.operations) : undefined,
    registries: row.registries ? new Set(row.registries.filter(isRegistry)) : undefined,
    hiddenFields: row.hidden_fields.filter(isFieldClass),
    purposes: optional(row.purposes),
    areaCodes: optional(row.area_codes),
    rateLimit: optional(row.rate_limit),
    dailyQuota: optional(row.daily_quota),
    validFrom: row.valid_from?.getTime(),
    validUntil: row.valid_until?.getTime(),
  };
}

/**
 * The principal of work done later for a client, without a request (async DCI answers,
 * subscription notifications): narrowed by its agreement as it stands now, or undefined when the
 * agreement is not in force any more. Operations and limits were checked when the request came in.
 */
export async function principalUnderPolicy(
  db: Kysely<DB>,
  principal: Principal,
  now = Date.now(),
): Promise<Principal | undefined> {
  const row = await findPolicy(db, principal.clientId);
  if (!row) {
    return principal;
  }
  const policy = policyOf(row);
  return notInForce(policy, now) ? undefined : narrowed(principal, policy);
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Per-client policy enforcement (decorated by createPolicyEnforcement). */
    accessPolicies: PolicyEnforcement;
  }
}
