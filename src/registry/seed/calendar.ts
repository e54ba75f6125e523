/**
 * Dates of the synthetic population as whole days since 1970-01-01 (UTC): generation does integer
 * arithmetic and formats once per row. Nothing here reads the clock: the data is "as of" a fixed day,
 * so the same seed gives the same rows whenever it runs.
 */

const MS_PER_DAY = 86_400_000;

/** The day number of an ISO calendar date ('YYYY-MM-DD'). */
export const dayOf = (iso: string): number => Math.round(Date.parse(`${iso}T00:00:00Z`) / MS_PER_DAY);

/** Registrations in the generated registry happen between these days (both included). */
export const REGISTRATION_START = dayOf('2019-01-01');
/** The generated registry describes the population on this day: ages, payments and statuses are "as of". */
export const AS_OF = dayOf('2026-06-30');
/** Programmes, areas and other reference rows were set up before the first registration. */
export const SETUP_DAY = dayOf('2018-07-01');

/** [year, month 1-12, day 1-31] of a day number (Howard Hinnant's civil_from_days). */
export function civil(day: number): [number, number, number] {
  const z = day + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, d];
}

/** The day number of a civil date; months and days out of range roll over as in Date.UTC. */
export const dayFromCivil = (year: number, month: number, day: number): number =>
  Math.round(Date.UTC(year, month - 1, day) / MS_PER_DAY);

// A million rows share a few tens of thousands of distinct days: format each day once.
const formatted = new Map<number, string>();

/** 'YYYY-MM-DD', the text form of a Postgres date. */
export function formatDay(day: number): string {
  let text = formatted.get(day);
  if (text === undefined) {
    const [y, m, d] = civil(day);
    text = `${String(y).padStart(4, '0')}-${m < 10 ? '0' : ''}${m}-${d < 10 ? '0' : ''}${d}`;
    formatted.set(day, text);
  }
  return text;
}

const two = (n: number) => (n < 10 ? `0${n}` : String(n));

// Rows often carry the same instant twice (registered_at and updated_at): remember the last one.
let last = { day: NaN, second: NaN, text: '' };

/** 'YYYY-MM-DD HH:MM:SS+00', a timestamptz in UTC. */
export function formatTimestamp(day: number, secondOfDay: number): string {
  if (day !== last.day || secondOfDay !== last.second) {
    const h = Math.floor(secondOfDay / 3600);
    const m = Math.floor((secondOfDay % 3600) / 60);
    last = {
      day,
      second: secondOfDay,
      text: `${formatDay(day)} ${two(h)}:${two(m)}:${two(secondOfDay % 60)}+00`,
    };
  }
  return last.text;
}

/** Completed years between two days: a person's age on `on` when born on `birth`. */
export function yearsBetween(birth: number, on: number): number {
  const [by, bm, bd] = civil(birth);
  const [y, m, d] = civil(on);
  return y - by - (m < bm || (m === bm && d < bd) ? 1 : 0);
}
