import { ClientActivity, type ClientEvent } from './activity.ts';
import { addCounts, emptyBaseline, hourOf, zeroCounts, type Baseline, type HourCounts } from './baseline.ts';
import { KeyHasher } from './lookup-keys.ts';
import {
  checkFailures,
  checkOffHours,
  checkVolume,
  checkWindow,
  type Thresholds,
  type Trip,
} from './rules.ts';
import { minuteOf, SlidingCounts } from './window.ts';

/** Who a finding is about: a client, or the source of unauthenticated requests (`ip:...`, `key:<prefix>`). */
export type Subject = { clientId: string } | { source: string };

export interface Finding extends Trip {
  subject: Subject;
}

/** A failed authentication: no client, only where it came from and the public prefix of the key tried. */
export interface FailureEvent {
  at: number;
  address: string;
  keyPrefix?: string | undefined;
}

/** Counts of one client and hour not yet written to the database. */
export interface HourlyDelta {
  clientId: string;
  hour: number;
  counts: HourCounts;
}

/** Sources remembered at once; past this they start over (a flood of addresses cannot grow memory). */
const MAX_SOURCES = 10_000;

/**
 * The in-memory half of the anomaly guard, free of HTTP and of the database: it counts what each
 * client and source does, applies the rules (rules.ts) and answers findings. The hot path is a few
 * map updates and sums; what must survive a restart leaves through takePending().
 */
export class AnomalyDetector {
  readonly #clients = new Map<string, ClientActivity>();
  readonly #sources = new Map<string, SlidingCounts<'failures'>>();
  #pending = new Map<string, HourlyDelta>();
  readonly #hasher = new KeyHasher();

  constructor(readonly thresholds: Thresholds) {}

  /** Counts a request of an authenticated client and answers the rules it trips. */
  observeClient(clientId: string, event: ClientEvent): Finding[] {
    const t = this.thresholds;
    const activity = this.#activityOf(clientId, event.at);
    const delta = activity.record(event, this.#hasher, t.walkStep);
    this.#addPending(clientId, activity.hour, delta);
    const trips: Trip[] = [];
    if (activity.offHoursChecked !== activity.hour) {
      activity.offHoursChecked = activity.hour;
      trips.push(...present(checkOffHours(activity.hour, event.at, activity.baseline, t)));
    }
    const windowTrip = checkWindow(activity.windowCounts(event.at), activity.baseline, t);
    if (windowTrip) {
      activity.resetWindow();
      trips.push(windowTrip);
    } else {
      const volumeTrip = checkVolume(activity.counts.requests - activity.volumeJudged, activity.baseline, t);
      if (volumeTrip) {
        activity.volumeJudged = activity.counts.requests;
        trips.push(volumeTrip);
      }
    }
    return trips.map((trip) => ({ ...trip, subject: { clientId } }));
  }

  /** Counts a failed authentication by its address and key prefix; answers the rules it trips. */
  observeFailure(event: FailureEvent): Finding[] {
    const minute = minuteOf(event.at);
    const sources: ['auth_failures' | 'key_failures', string][] = [['auth_failures', `ip:${event.address}`]];
    if (event.keyPrefix) {
      sources.push(['key_failures', `key:${event.keyPrefix}`]);
    }
    const findings: Finding[] = [];
    for (const [rule, source] of sources) {
      const counts = this.#sourceCounts(source);
      counts.add(minute, { failures: 1 });
      const trip = checkFailures(rule, counts.sum(minute).failures, this.thresholds);
      if (trip) {
        counts.clear();
        findings.push({ ...trip, subject: { source } });
      }
    }
    return findings;
  }

  /** Hands over the counts not yet persisted (the next ones collect anew). */
  takePending(): HourlyDelta[] {
    const taken = [...this.#pending.values()];
    this.#pending = new Map();
    return taken;
  }

  /** Gives back counts whose write failed, to go with the next write. */
  restorePending(deltas: readonly HourlyDelta[]): void {
    deltas.forEach((d) => this.#addPending(d.clientId, d.hour, d.counts));
  }

  /**
   * The totals the database holds for a client's current hour (every gateway's counts), plus what
   * was counted here since they were written.
   */
  applyTotals(totals: readonly HourlyDelta[]): void {
    for (const { clientId, hour, counts } of totals) {
      const activity = this.#clients.get(clientId);
      if (activity?.hour === hour) {
        activity.counts = this.#withPending(clientId, hour, counts);
      }
    }
  }

  /**
   * Baselines and current-hour counts read from the database (at start, then hourly): they replace
   * what memory grew, which is how hours older than the baseline period drop out.
   */
  loadBaselines(baselines: Map<string, Baseline>, current: readonly HourlyDelta[], at: number): void {
    const hour = hourOf(at);
    const counts = new Map(current.filter((c) => c.hour === hour).map((c) => [c.clientId, c.counts]));
    for (const clientId of new Set([...baselines.keys(), ...counts.keys(), ...this.#clients.keys()])) {
      const activity = this.#activityOf(clientId, at);
      activity.baseline = baselines.get(clientId) ?? emptyBaseline();
      if (activity.hour !== hour) {
        activity.volumeJudged = 0;
      }
      activity.hour = hour;
      activity.counts = this.#withPending(clientId, hour, counts.get(clientId) ?? zeroCounts());
    }
  }

  /** What the guard currently knows of a client (undefined: nothing seen since the start). */
  activityOf(clientId: string): ClientActivity | undefined {
    return this.#clients.get(clientId);
  }

  /** Starts a client's judgement afresh (an admin lifted its throttle or re-enabled it). */
  forgetClient(clientId: string): void {
    const activity = this.#clients.get(clientId);
    activity?.resetWindow();
    if (activity) {
      activity.volumeJudged = activity.counts.requests;
    }
  }

  forgetSource(source: string): void {
    this.#sources.delete(source);
  }

  #activityOf(clientId: string, at: number): ClientActivity {
    let activity = this.#clients.get(clientId);
    if (!activity) {
      activity = new ClientActivity(this.thresholds.windowMinutes, at);
      this.#clients.set(clientId, activity);
    }
    return activity;
  }

  #sourceCounts(source: string): SlidingCounts<'failures'> {
    let counts = this.#sources.get(source);
    if (!counts) {
      if (this.#sources.size >= MAX_SOURCES) {
        this.#sources.clear();
      }
      counts = new SlidingCounts(this.thresholds.windowMinutes, ['failures']);
      this.#sources.set(source, counts);
    }
    return counts;
  }

  #addPending(clientId: string, hour: number, delta: HourCounts): void {
    const key = `${clientId}|${hour}`;
    const pending = this.#pending.get(key);
    if (pending) {
      addCounts(pending.counts, delta);
    } else {
      this.#pending.set(key, { clientId, hour, counts: { ...delta } });
    }
  }

  #withPending(clientId: string, hour: number, counts: HourCounts): HourCounts {
    const total = { ...counts };
    addCounts(total, this.#pending.get(`${clientId}|${hour}`)?.counts ?? {});
    return total;
  }
}

const present = <T>(value: T | undefined): T[] => (value === undefined ? [] : [value]);
