/**
 * One set of type parsers for both engines, so that a row read through PGlite and through `pg`
 * has the same JavaScript shape (the suite runs on both and must see identical results).
 */
export const PG_TYPE = { INT8: 20, NUMERIC: 1700, DATE: 1082 } as const;

/** int8 counts and sequences fit a double in this product; numeric amounts carry 2 decimals. */
export const typeParsers: Record<number, (value: string) => unknown> = {
  [PG_TYPE.INT8]: (value) => Number(value),
  [PG_TYPE.NUMERIC]: (value) => Number(value),
  // A calendar date stays a 'YYYY-MM-DD' string: turning it into a Date shifts it by the time zone.
  [PG_TYPE.DATE]: (value) => value,
};
