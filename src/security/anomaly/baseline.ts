/**
 * A client's usual traffic: totals over the hours it was active in the last days, and how its
 * requests spread over the hours of the day (UTC). Built from the persisted hourly counts
 * (anomaly_hourly) and grown in memory as hours end, so the hot path never reads the database.
 */

export const HOUR_MS = 3_600_000;

/** What is counted per client and hour. */
export interface HourCounts {
  requests: number;
  errors: number;
  /** Records asked for by key, and how many of them matched nothing. */
  lookups: number;
  misses: number;
}

export interface Baseline {
  /** Past hours with at least one request. */
  activeHours: number;
  totals: HourCounts;
  /** Requests per hour of the day (UTC), 24 entries. */
  hourOfDay: number[];
  /** Start of the oldest hour counted (ms), undefined without history. */
  firstHour: number | undefined;
}

export const zeroCounts = (): HourCounts => ({ requests: 0, errors: 0, lookups: 0, misses: 0 });

export const emptyBaseline = (): Baseline => ({
  activeHours: 0,
  totals: zeroCounts(),
  hourOfDay: Array.from({ length: 24 }, () => 0),
  firstHour: undefined,
});

export const addCounts = (into: HourCounts, more: Partial<HourCounts>): void => {
  into.requests += more.requests ?? 0;
  into.errors += more.errors ?? 0;
  into.lookups += more.lookups ?? 0;
  into.misses += more.misses ?? 0;
};

/** The hour (number of whole hours since the epoch) a time falls in. */
export const hourOf = (ms: number): number => Math.floor(ms / HOUR_MS);

/** The hour of the day in UTC (the epoch starts at midnight UTC). */
export const hourOfDay = (hour: number): number => ((hour % 24) + 24) % 24;

/** Adds a finished hour (or hours of one hour of the day, as the database sums them) to a baseline. */
export function foldHours(baseline: Baseline, hour: number, hours: number, counts: HourCounts): void {
  if (counts.requests === 0) {
    return;
  }
  baseline.activeHours += hours;
  addCounts(baseline.totals, counts);
  baseline.hourOfDay[hourOfDay(hour)]! += counts.requests;
  const start = hour * HOUR_MS;
  baseline.firstHour = baseline.firstHour === undefined ? start : Math.min(baseline.firstHour, start);
}

/** Mean requests per active hour: what "usual volume" means for the volume rule. */
export const usualHourly = (baseline: Baseline): number =>
  baseline.activeHours === 0 ? 0 : baseline.totals.requests / baseline.activeHours;

/** Share of a count in a total, 0 when there is no total. */
export const share = (part: number, total: number): number => (total === 0 ? 0 : part / total);

/** Shares and factors as alerts and the API show them: two decimals. */
export const round = (value: number): number => Math.round(value * 100) / 100;
