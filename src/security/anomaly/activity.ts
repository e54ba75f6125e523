import type { Lookups } from '#platform/http/types';
import {
  addCounts,
  emptyBaseline,
  foldHours,
  hourOf,
  zeroCounts,
  type Baseline,
  type HourCounts,
} from './baseline.ts';
import { isStep, type KeyHasher, type NumberedKey } from './lookup-keys.ts';
import type { WindowCounts } from './rules.ts';
import { minuteOf, SlidingCounts } from './window.ts';

/** One answered request of an authenticated client, as the guard sees it. */
export interface ClientEvent {
  at: number;
  status: number;
  lookups?: Lookups | undefined;
}

const WINDOW_FIELDS = ['requests', 'errors', 'lookups', 'misses', 'numbered', 'steps'] as const;
type WindowField = (typeof WINDOW_FIELDS)[number];

/** Numbered keys remembered to recognise steps of a walk: the most recent ones within the window. */
const RECENT_NUMBERED = 64;
/** Distinct keys remembered per client; past this the count starts over, so memory stays bounded. */
const MAX_KEYS = 20_000;

/**
 * What the guard knows of one client: the sliding window (counts, distinct key hashes, recent
 * numbered keys), this hour's counts, and its baseline. Memory only; the hour's counts reach the
 * database through the detector's pending deltas.
 */
export class ClientActivity {
  readonly #window: SlidingCounts<WindowField>;
  /** Key hash → the minute it was last asked for. */
  readonly #keys = new Map<string, number>();
  #prunedMinute = -Infinity;
  #recent: { key: NumberedKey; minute: number }[] = [];
  /** The current hour and its counts over every gateway, as far as known here. */
  hour: number;
  counts: HourCounts = zeroCounts();
  /** Requests of this hour already judged by a volume trip (the rule re-arms above them). */
  volumeJudged = 0;
  /** The last hour the off-hours rule looked at. */
  offHoursChecked = -1;

  constructor(
    private readonly windowMinutes: number,
    at: number,
    public baseline: Baseline = emptyBaseline(),
  ) {
    this.#window = new SlidingCounts(windowMinutes, WINDOW_FIELDS);
    this.hour = hourOf(at);
  }

  /** Counts one request; answers what it adds to this hour's counts. */
  record(event: ClientEvent, hasher: KeyHasher, walkStep: number): HourCounts {
    this.rollTo(hourOf(event.at));
    const minute = minuteOf(event.at);
    this.#prune(minute);
    const keys = event.lookups?.keys ?? [];
    const misses = event.lookups ? Math.max(0, keys.length - event.lookups.found) : 0;
    // A lookup that found nothing is a miss, not an error: the enumeration rule judges misses.
    const error = event.status >= 400 && !(event.status === 404 && event.lookups) ? 1 : 0;
    let numbered = 0;
    let steps = 0;
    for (const key of keys) {
      if (this.#keys.size >= MAX_KEYS) {
        this.#keys.clear();
      }
      this.#keys.set(hasher.hash(key), minute);
      const number = hasher.numbered(key);
      if (number) {
        numbered += 1;
        steps += this.#recent.some((r) => isStep(r.key, number, walkStep)) ? 1 : 0;
        this.#recent.push({ key: number, minute });
      }
    }
    if (this.#recent.length > RECENT_NUMBERED) {
      this.#recent = this.#recent.slice(-RECENT_NUMBERED);
    }
    this.#window.add(minute, { requests: 1, errors: error, lookups: keys.length, misses, numbered, steps });
    const delta = { requests: 1, errors: error, lookups: keys.length, misses };
    addCounts(this.counts, delta);
    return delta;
  }

  windowCounts(at: number): WindowCounts {
    const minute = minuteOf(at);
    this.#prune(minute);
    return { ...this.#window.sum(minute), distinct: this.#keys.size };
  }

  /** Moves to a later hour, adding the finished one to the baseline. */
  rollTo(hour: number): void {
    if (hour <= this.hour) {
      return;
    }
    foldHours(this.baseline, this.hour, 1, this.counts);
    this.hour = hour;
    this.counts = zeroCounts();
    this.volumeJudged = 0;
  }

  /** Starts the window afresh (after a trip, so the same requests do not trip again). */
  resetWindow(): void {
    this.#window.clear();
    this.#keys.clear();
    this.#recent = [];
  }

  #prune(minute: number): void {
    if (minute === this.#prunedMinute) {
      return;
    }
    this.#prunedMinute = minute;
    const oldest = minute - this.windowMinutes;
    for (const [key, seen] of this.#keys) {
      if (seen <= oldest) {
        this.#keys.delete(key);
      }
    }
    this.#recent = this.#recent.filter((r) => r.minute > oldest);
  }
}
