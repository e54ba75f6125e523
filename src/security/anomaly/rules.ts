import type { Config } from '#config/settings';
import { HOUR_MS, hourOfDay, round, share, usualHourly, type Baseline } from './baseline.ts';

/**
 * The anomaly guard's rules, their thresholds and what each does when it trips. Pure functions of
 * counts: the detector keeps the counts, the guard acts. docs/security/anomaly-guard.md explains
 * every rule; thresholds with a setting are tuned per deployment, the others are constants here.
 */

export const RULES = [
  'record_enumeration',
  'sequential_walk',
  'volume_spike',
  'error_rate',
  'auth_failures',
  'key_failures',
  'off_hours',
] as const;
export type RuleName = (typeof RULES)[number];

export const SEVERITIES = ['info', 'warning', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const ACTIONS = ['alert', 'throttle', 'suspend'] as const;
export type Action = (typeof ACTIONS)[number];

/**
 * What a rule does: only record an alert; throttle the client or source; or throttle, and suspend
 * the client when it trips again while an earlier throttle of an escalating rule still counts.
 */
export type Response = 'alert' | 'throttle' | 'escalate';

export const ruleDefinitions: Record<RuleName, { severity: Severity; response: Response }> = {
  record_enumeration: { severity: 'critical', response: 'escalate' },
  sequential_walk: { severity: 'critical', response: 'escalate' },
  volume_spike: { severity: 'warning', response: 'throttle' },
  error_rate: { severity: 'warning', response: 'throttle' },
  auth_failures: { severity: 'critical', response: 'throttle' },
  // Throttling a key prefix would let anyone who saw a key's public part lock its owner out.
  key_failures: { severity: 'warning', response: 'alert' },
  off_hours: { severity: 'info', response: 'alert' },
};

export interface Thresholds {
  /** Length of the sliding window of the enumeration, walk, error and auth-failure rules. */
  windowMinutes: number;
  /** How long a throttle lasts. */
  throttleSeconds: number;
  /** A second escalating trip within this time of a (not lifted) escalating throttle suspends. */
  escalationHours: number;
  /** Enumeration: distinct keys in the window, with at least this share of them not found. */
  enumerationDistinct: number;
  enumerationMissShare: number;
  /** Walk: lookups of numbered keys in the window, with this share a short step from an earlier one. */
  walkLookups: number;
  walkShare: number;
  /** Largest difference between two numbers that counts as a step of a walk. */
  walkStep: number;
  /** Volume: this many times the usual hourly volume, and at least the floor, within one hour. */
  volumeFactor: number;
  volumeFloor: number;
  /** Past active hours needed before the volume, error-rate and off-hours rules judge a client. */
  baselineHours: number;
  /** Days of hourly counts the baselines cover (older ones are deleted). */
  baselineDays: number;
  /** Error rate: requests in the window, and the share of errors (other than not-found lookups). */
  errorMinRequests: number;
  errorShare: number;
  /** Failed authentications in the window from one address (throttled) or for one key (alert). */
  authFailures: number;
  /** Off hours: history spanning at least this many days, and no traffic before at this hour of the day. */
  offHoursDays: number;
}

/** The thresholds of a configuration (settings), with the constants the docs explain. */
export function thresholdsFrom(config: Config): Thresholds {
  return {
    windowMinutes: config.anomalyWindowMinutes,
    throttleSeconds: config.anomalyThrottleSeconds,
    escalationHours: 24,
    enumerationDistinct: config.anomalyEnumerationDistinct,
    enumerationMissShare: 0.5,
    walkLookups: config.anomalyWalkLookups,
    walkShare: 0.6,
    walkStep: 10,
    volumeFactor: config.anomalyVolumeFactor,
    volumeFloor: config.anomalyVolumeFloor,
    baselineHours: 3,
    baselineDays: 7,
    errorMinRequests: 50,
    errorShare: 0.5,
    authFailures: config.anomalyAuthFailures,
    offHoursDays: 3,
  };
}

/** A rule that tripped, with its evidence: counts only, never keys or record ids. */
export interface Trip {
  rule: RuleName;
  evidence: Record<string, number>;
}

/** What a client did within the sliding window. */
export interface WindowCounts {
  requests: number;
  errors: number;
  lookups: number;
  misses: number;
  /** Lookups of keys ending in a number, and how many were a short step from a recent one. */
  numbered: number;
  steps: number;
  /** Distinct keys asked for. */
  distinct: number;
}

/** Enumeration, then a walk, then an error-rate spike: the first that trips (one action per request). */
export function checkWindow(w: WindowCounts, baseline: Baseline, t: Thresholds): Trip | undefined {
  const missShare = share(w.misses, w.lookups);
  if (w.distinct >= t.enumerationDistinct && missShare >= t.enumerationMissShare) {
    return trip('record_enumeration', w, { distinct_keys: w.distinct, miss_share: round(missShare) });
  }
  const walkShare = share(w.steps, w.numbered);
  if (w.numbered >= t.walkLookups && walkShare >= t.walkShare) {
    return trip('sequential_walk', w, { numbered_lookups: w.numbered, walk_share: round(walkShare) });
  }
  // A spike against the client's own history: a new client (or a test suite probing every route
  // with bad input) has none; one that usually errs a lot is judged against twice its error share.
  if (baseline.activeHours < t.baselineHours) {
    return undefined;
  }
  const usualErrors = share(baseline.totals.errors, baseline.totals.requests);
  const errorShare = share(w.errors, w.requests);
  if (w.requests >= t.errorMinRequests && errorShare >= Math.max(t.errorShare, 2 * usualErrors)) {
    return trip('error_rate', w, { error_share: round(errorShare), usual_error_share: round(usualErrors) });
  }
  return undefined;
}

const trip = (rule: RuleName, w: WindowCounts, extra: Record<string, number>): Trip => ({
  rule,
  evidence: { requests: w.requests, lookups: w.lookups, misses: w.misses, errors: w.errors, ...extra },
});

/** Volume: requests this hour (since the last volume trip) against the usual hourly volume. */
export function checkVolume(requests: number, baseline: Baseline, t: Thresholds): Trip | undefined {
  if (baseline.activeHours < t.baselineHours) {
    return undefined;
  }
  const usual = usualHourly(baseline);
  if (requests < t.volumeFloor || requests <= t.volumeFactor * usual) {
    return undefined;
  }
  return {
    rule: 'volume_spike',
    evidence: {
      requests_this_hour: requests,
      usual_per_hour: round(usual),
      factor: round(requests / usual),
      baseline_hours: baseline.activeHours,
    },
  };
}

/** Off hours: traffic at an hour of the day the client never used in a history of some days. */
export function checkOffHours(
  hour: number,
  now: number,
  baseline: Baseline,
  t: Thresholds,
): Trip | undefined {
  const span = baseline.firstHour === undefined ? 0 : (now - baseline.firstHour) / (24 * HOUR_MS);
  if (baseline.activeHours < t.baselineHours || span < t.offHoursDays) {
    return undefined;
  }
  if (baseline.hourOfDay[hourOfDay(hour)]! > 0) {
    return undefined;
  }
  return {
    rule: 'off_hours',
    evidence: {
      hour_of_day_utc: hourOfDay(hour),
      baseline_hours: baseline.activeHours,
      baseline_days: Math.floor(span),
    },
  };
}

/** Failed authentications from one source (an address or a key prefix) within the window. */
export function checkFailures(
  rule: 'auth_failures' | 'key_failures',
  failures: number,
  t: Thresholds,
): Trip | undefined {
  return failures >= t.authFailures
    ? { rule, evidence: { failures, window_minutes: t.windowMinutes } }
    : undefined;
}
