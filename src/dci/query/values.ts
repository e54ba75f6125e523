import { sql, type RawBuilder } from 'kysely';

/**
 * Readers of query values. The spec's `attribute_value` is any of string, integer, number, boolean
 * or object, and clients send numbers as strings to dodge the integer defect: each reader accepts
 * the spellings that unambiguously mean one value of its type and returns `undefined` otherwise.
 * `sql` turns a read value into a bound parameter, cast where the column type needs it.
 */
export interface ValueType {
  /** For messages: "a number", "a date (YYYY-MM-DD)". */
  describe: string;
  read(value: unknown): string | number | boolean | undefined;
  sql(value: string | number | boolean): RawBuilder<unknown>;
}

const param = (value: string | number | boolean) => sql`${value}`;
const MAX_TEXT = 200;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const NUMBER = /^-?\d{1,12}(\.\d{1,6})?$/;

export const text: ValueType = {
  describe: `a string of 1 to ${MAX_TEXT} characters`,
  read: (v) => {
    const s = typeof v === 'number' ? String(v) : v;
    return typeof s === 'string' && s.length > 0 && s.length <= MAX_TEXT ? s : undefined;
  },
  sql: param,
};

/** Case-insensitive text: compared as `lower(column) = lower(value)` (see the indexes in the report). */
export const textIgnoringCase: ValueType = { ...text, sql: (v) => sql`lower(${v})` };

export const number: ValueType = {
  describe: 'a number',
  read: (v) => {
    if (typeof v === 'number') {
      return Number.isFinite(v) ? v : undefined;
    }
    return typeof v === 'string' && NUMBER.test(v) ? Number(v) : undefined;
  },
  sql: (v) => sql`${v}::numeric`,
};

export const integer: ValueType = {
  describe: 'an integer',
  read: (v) => {
    const n = number.read(v);
    return typeof n === 'number' && Number.isSafeInteger(n) ? n : undefined;
  },
  sql: (v) => sql`${v}::int`,
};

/** A calendar date; a date-time is read as its date (DCI sends `1985-05-20T00:00:00Z` for dates). */
export const date: ValueType = {
  describe: 'a date (YYYY-MM-DD)',
  read: (v) => {
    if (typeof v !== 'string') {
      return undefined;
    }
    const day = v.slice(0, 10);
    return DATE.test(day) &&
      !Number.isNaN(Date.parse(day)) &&
      (v.length === 10 || !Number.isNaN(Date.parse(v)))
      ? day
      : undefined;
  },
  sql: (v) => sql`${v}::date`,
};

export const timestamp: ValueType = {
  describe: 'an ISO 8601 date-time with offset, or a date',
  read: (v) =>
    typeof v === 'string' && /^\d{4}-\d{2}-\d{2}/.test(v) && !Number.isNaN(Date.parse(v))
      ? new Date(v).toISOString()
      : undefined,
  sql: (v) => sql`${v}::timestamptz`,
};

export const year: ValueType = {
  describe: 'a year (e.g. 1985)',
  read: (v) => {
    const n = integer.read(v);
    return typeof n === 'number' && n >= 1800 && n <= 2200 ? n : undefined;
  },
  sql: param,
};

export const boolean: ValueType = {
  describe: 'true or false',
  read: (v) => {
    const spelled = new Map<unknown, boolean>([
      [true, true],
      [false, false],
      ['true', true],
      ['false', false],
      [1, true],
      [0, false],
      ['1', true],
      ['0', false],
    ]);
    return spelled.get(v);
  },
  sql: param,
};

/** One of a code list: the DCI codes (keys, any case) or the stored values, read as the stored value. */
export function oneOf(codes: Record<string, string>): ValueType {
  const known = new Map<string, string>();
  for (const [code, stored] of Object.entries(codes)) {
    known.set(code.toLowerCase(), stored);
    known.set(stored.toLowerCase(), stored);
  }
  return {
    describe: `one of ${Object.keys(codes).join(', ')}`,
    read: (v) =>
      typeof v === 'string' || typeof v === 'number' ? known.get(String(v).toLowerCase()) : undefined,
    sql: param,
  };
}

/** An admin area code (R01, R01-D03, R01-D03-V012): the area and all areas below it. */
export const areaCode: ValueType = {
  describe: 'an admin area code (letters, digits and -)',
  read: (v) => (typeof v === 'string' && /^[A-Za-z0-9-]{1,40}$/.test(v) ? v : undefined),
  sql: param,
};
