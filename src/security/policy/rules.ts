import type { Principal } from '#platform/auth/principal';
import type { FieldClass } from '#platform/auth/roles';
import type { RegistryName } from '#platform/http/types';

/**
 * The rules of a client's data sharing agreement, free of HTTP and storage: which operations and
 * registries it may use, when it is in force, which purposes it may state, and how it narrows what
 * the client sees. enforce.ts applies them to every request; the DCI core shares purposeRefusal.
 */

/** A client's policy as read once and kept in the cache: lists compiled, dates as epoch ms. */
export interface AccessPolicy {
  agreementRef: string;
  /** The allowed operations as one expression over audit actions; absent: every operation. */
  operations?: RegExp;
  registries?: ReadonlySet<RegistryName>;
  hiddenFields: readonly FieldClass[];
  purposes?: readonly string[];
  areaCodes?: readonly string[];
  rateLimit?: number;
  dailyQuota?: number;
  validFrom?: number;
  validUntil?: number;
}

/**
 * An operation pattern matches audit actions segment by segment: `*` stands for one whole segment,
 * so `dci.*.search` matches `dci.social.search` and `dci.ibr.search`, not `dci.social.search.async`.
 */
const patternSource = (pattern: string): string =>
  pattern
    .split('.')
    .map((segment) => (segment === '*' ? '[^.]+' : segment.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&')))
    .join('\\.');

/** One expression matching any of the patterns (their syntax is checked by the schema). */
export const operationsMatcher = (patterns: readonly string[]): RegExp =>
  new RegExp(`^(?:${patterns.map(patternSource).join('|')})$`);

/**
 * DCI searches and subscriptions may state their purpose inside the message (consent or authorize
 * purpose code) rather than in X-Purpose; the DCI core then checks it with purposeRefusal.
 */
const PURPOSE_IN_MESSAGE = operationsMatcher(['dci.*.search', 'dci.*.search.async', 'dci.*.subscribe']);

const agreement = (policy: AccessPolicy) => `the data sharing agreement ${policy.agreementRef}`;

/** Why the agreement is not in force at this time (not yet valid, or expired), or undefined. */
export function notInForce(policy: AccessPolicy, now: number): string | undefined {
  if (policy.validFrom !== undefined && now < policy.validFrom) {
    return `${agreement(policy)} is in force from ${new Date(policy.validFrom).toISOString()}`;
  }
  if (policy.validUntil !== undefined && now >= policy.validUntil) {
    return `${agreement(policy)} expired at ${new Date(policy.validUntil).toISOString()}`;
  }
  return undefined;
}

/** Why the request may not go on under this agreement, or undefined. */
export function refusal(
  policy: AccessPolicy,
  request: { action: string | undefined; registry: RegistryName | undefined; now: number },
): string | undefined {
  const expired = notInForce(policy, request.now);
  if (expired) {
    return expired;
  }
  const ref = agreement(policy);
  // Operational routes (no audit action) are not in any list: an agreement naming operations denies them.
  if (policy.operations && !(request.action && policy.operations.test(request.action))) {
    return `${ref} does not allow the operation ${request.action ?? '(operational route)'}`;
  }
  if (policy.registries && request.registry && !policy.registries.has(request.registry)) {
    return `${ref} does not cover the ${request.registry} registry`;
  }
  return undefined;
}

/** Whether this operation's messages may carry their purpose themselves (see PURPOSE_IN_MESSAGE). */
export const purposeInMessage = (action: string | undefined): boolean =>
  action !== undefined && PURPOSE_IN_MESSAGE.test(action);

export interface PurposeRefusal {
  /** No purpose stated (the caller must state one), as opposed to one the agreement does not list. */
  missing: boolean;
  detail: string;
}

/**
 * The one purpose check, for X-Purpose and for purposes DCI messages state: when the client's
 * agreement lists purposes, the access must state one of them (exact, case-sensitive match).
 */
export function purposeRefusal(
  allowed: readonly string[] | undefined,
  purpose: string | undefined,
): PurposeRefusal | undefined {
  if (!allowed) {
    return undefined;
  }
  if (purpose === undefined) {
    return { missing: true, detail: `a purpose is required, one of: ${allowed.join(', ')}` };
  }
  return allowed.includes(purpose)
    ? undefined
    : { missing: false, detail: `the purpose "${purpose}" is not allowed; allowed: ${allowed.join(', ')}` };
}

/** The principal as the agreement narrows it: more hidden fields, an area scope, its purposes. */
export function narrowed(principal: Principal, policy: AccessPolicy): Principal {
  return {
    ...principal,
    hiddenFields: new Set([...principal.hiddenFields, ...policy.hiddenFields]),
    ...(policy.areaCodes ? { areaScope: policy.areaCodes } : {}),
    ...(policy.purposes ? { purposes: policy.purposes } : {}),
  };
}
