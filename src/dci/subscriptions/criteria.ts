import { createHash } from 'node:crypto';
import { Cron } from 'croner';
import { sql, type SqlBool } from 'kysely';
import type { Principal } from '#platform/auth/principal';
import { agreedPurpose, consentCondition, statedPurpose } from '../consent.ts';
import { DciError, type SubscribeReasonCode } from '../errors.ts';
import type { RecordShape } from '../load.ts';
import type { Entity, Where } from '../query/attributes.ts';
import { DEFAULT_LIMITS, planSearch } from '../query/criteria.ts';
import type { Registry } from '../spec.ts';
import { eventSourceOf, eventTypeNames, eventTypeOf, type EventSource } from './events.ts';

/**
 * A `subscribe_criteria` read and checked: which events, on which records, matching which filter.
 * The filter (`SubscriptionInfo.filter` / `filter_type`) takes the three query forms of a search and
 * goes through the same compiler (query/criteria.ts planSearch): the same attribute whitelist, the
 * same field policy, failing closed. Its SQL is compiled again whenever events are matched.
 */

export interface SubscribeCriteria {
  version?: string;
  reg_type?: string;
  reg_event_type: string;
  frequency?: { start_time: string; end_time: string; frequency: string };
  filter_type?: string;
  filter: unknown;
  notify_record_type: string;
  authorize?: { purpose?: { code?: unknown } };
}

export interface SubscriptionPlan {
  regType: string;
  eventType: string;
  recordType: string;
  shape: RecordShape;
  entity: Entity;
  source: EventSource;
  filterType: string;
  filter: unknown;
  purpose?: string | undefined;
  window: { startsAt?: Date; endsAt?: Date; frequency?: SubscribeCriteria['frequency'] };
  /** The criteria in one text: the same criteria twice are one subscription. */
  fingerprint: string;
}

/** What the matching of events needs of a stored subscription. */
export interface StoredFilter {
  regType: string;
  recordType: string;
  filterType: string;
  filter: unknown;
}

const rejection = (code: SubscribeReasonCode, message: string) => new DciError(code, message);

/** Checks one item's criteria for this client; throws a DciError with a subscribe reason code. */
export function planSubscription(
  criteria: SubscribeCriteria,
  registry: Registry,
  principal: Principal,
  options: { now: Date; consentRequired: boolean },
): SubscriptionPlan {
  if (criteria.version !== undefined && criteria.version !== '1.0.0') {
    throw rejection(
      'rjct.notify_details.invalid',
      `subscribe_criteria.version ${criteria.version} is not supported (1.0.0)`,
    );
  }
  const eventType = eventTypeOf(registry, criteria.reg_event_type);
  if (!eventType) {
    throw rejection(
      'rjct.notify_types.invalid',
      `reg_event_type "${clip(criteria.reg_event_type)}" is not notified here (${eventTypeNames(registry).join(', ')})`,
    );
  }
  const filterType = criteria.filter_type ?? filterTypeOf(criteria.filter);
  const stored = {
    regType: criteria.reg_type,
    recordType: criteria.notify_record_type,
    filterType,
    filter: criteria.filter,
  };
  const plan = checkedFilter(registry, stored, principal);
  const source = eventSourceOf(registry, eventType, plan.entity);
  if (!source) {
    throw rejection('rjct.notify_types.invalid', `${eventType} is not notified with ${plan.shape} records`);
  }
  const purpose = asSubscribeError(() =>
    agreedPurpose(principal, statedPurpose({ authorize: criteria.authorize })),
  );
  if (options.consentRequired) {
    asSubscribeError(() => consentCondition(plan.entity, purpose));
  }
  const window = windowOf(criteria.frequency, options.now);
  return {
    regType: plan.regType,
    eventType,
    recordType: criteria.notify_record_type,
    shape: plan.shape,
    entity: plan.entity,
    source,
    filterType,
    filter: criteria.filter,
    purpose,
    window,
    fingerprint: fingerprintOf([
      registry,
      eventType,
      plan.shape,
      filterType,
      criteria.filter,
      purpose,
      window,
    ]),
  };
}

/**
 * The SQL condition of a stored subscription's filter, for its client as it stands now (its role
 * may have lost the right to filter on a field since), over the base alias of its entity; with the
 * consent condition when the client receives consented records only.
 */
export function subscriptionWhere(
  registry: Registry,
  stored: StoredFilter,
  principal: Principal,
  consent: { required: boolean; purpose: string | undefined },
): Where {
  const plan = checkedFilter(registry, stored, principal);
  // The client's agreement may have dropped the purpose since it subscribed.
  agreedPurpose(principal, consent.purpose);
  return consent.required
    ? sql<SqlBool>`(${plan.where}) and ${consentCondition(plan.entity, consent.purpose)}`
    : plan.where;
}

/** The filter as a search of the notified record type, through the search compiler. */
function checkedFilter(
  registry: Registry,
  stored: Omit<StoredFilter, 'regType'> & { regType?: string | undefined },
  principal: Principal,
) {
  if (!['idtype-value', 'expression', 'predicate'].includes(stored.filterType)) {
    throw rejection(
      'rjct.notify_details.invalid',
      `filter_type "${clip(stored.filterType)}" is not supported (idtype-value, expression, predicate)`,
    );
  }
  return asSubscribeError(() =>
    planSearch(
      {
        reg_type: stored.regType,
        reg_record_type: stored.recordType,
        query_type: stored.filterType,
        query: stored.filter,
      },
      registry,
      principal,
      DEFAULT_LIMITS,
    ),
  );
}

/**
 * Search rejections restated as subscribe reasons: what the record or registry type names is a
 * notify type; everything else (attributes, operators, values, the field policy, consent) the
 * notify details. planSearch names the offending part first in its messages.
 */
function asSubscribeError<T>(run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (error instanceof DciError && error.code.startsWith('rjct.')) {
      const types = /^(reg_record_type|reg_type) /.test(error.message);
      const message = error.message.replace(/^reg_record_type /, 'notify_record_type ');
      throw rejection(types ? 'rjct.notify_types.invalid' : 'rjct.notify_details.invalid', message);
    }
    throw error;
  }
}

/** filter_type is optional in the spec: the filter's shape tells which query form it is. */
function filterTypeOf(filter: unknown): string {
  if (Array.isArray(filter)) {
    return 'predicate';
  }
  const value = filter && typeof filter === 'object' ? (filter as { value?: unknown }).value : undefined;
  return value && typeof value === 'object' ? 'expression' : 'idtype-value';
}

/**
 * `frequency` bounds the window in which events are notified, and its cron expression (Quartz form,
 * seconds first, `?` and an optional year allowed, as in the spec's example "0 0 0 5,15 * ? *"; UTC)
 * says when the notifications of the events are sent: each at the first time the expression names
 * after it was matched (see nextNotificationTime).
 */
function windowOf(frequency: SubscribeCriteria['frequency'], now: Date): SubscriptionPlan['window'] {
  if (!frequency) {
    return {};
  }
  const startsAt = new Date(frequency.start_time);
  const endsAt = new Date(frequency.end_time);
  if (!(endsAt > startsAt)) {
    throw rejection('rjct.notify_details.invalid', 'frequency.end_time must be after frequency.start_time');
  }
  if (endsAt <= now) {
    throw rejection(
      'rjct.notify_details.invalid',
      'frequency.end_time has passed: nothing would be notified',
    );
  }
  if (frequency.frequency !== undefined && nextNotificationTime(frequency.frequency, now) === null) {
    throw rejection(
      'rjct.notify_details.invalid',
      'frequency.frequency must be a cron expression that names a time to come, e.g. "0 0 0 5,15 * ? *"',
    );
  }
  return { startsAt, endsAt, frequency };
}

/** The first time after `after` that a cron expression names (UTC), or null if it is invalid or names none. */
export function nextNotificationTime(expression: string, after: Date): Date | null {
  try {
    return new Cron(expression, { paused: true, timezone: 'UTC' }).nextRun(after);
  } catch {
    return null;
  }
}

/** SHA-256 of the JSON with object keys sorted, so that key order does not make criteria differ. */
function fingerprintOf(value: unknown): string {
  const canonical = (v: unknown): unknown => {
    if (Array.isArray(v)) {
      return v.map(canonical);
    }
    if (v instanceof Date) {
      return v.toISOString();
    }
    if (v && typeof v === 'object') {
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
      );
    }
    return v;
  };
  return createHash('sha256')
    .update(JSON.stringify(canonical(value)))
    .digest('hex');
}

const clip = (s: string) => (s.length > 60 ? `${s.slice(0, 60)}...` : s);
