/**
 * Field encoders for COPY ... WITH (FORMAT csv): RFC 4180 quoting, with PostgreSQL's reading of it
 * (https://www.postgresql.org/docs/current/sql-copy.html#id-1.9.3.55.9.4): an unquoted empty field is
 * NULL and a quoted empty field ("") is the empty string.
 */

const NEEDS_QUOTES = /[",\r\n]/;

/** A text field: NULL as nothing, quoted when it holds a comma, a quote or a line break. */
export function csvText(value: string | null): string {
  if (value === null) {
    return '';
  }
  if (value === '') {
    return '""';
  }
  return NEEDS_QUOTES.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}

/** A boolean in the form PostgreSQL prints and reads. */
export const csvBool = (value: boolean): string => (value ? 't' : 'f');

/** A number, or NULL. */
export const csvNumber = (value: number | null): string => (value === null ? '' : String(value));

// Array elements need double quotes when empty, when spelling NULL, or when holding a character the
// array syntax gives a meaning to (https://www.postgresql.org/docs/current/arrays.html#ARRAYS-IO).
const ELEMENT_NEEDS_QUOTES = /[{},"\\\s]/;

function arrayElement(value: string): string {
  if (value !== '' && value.toLowerCase() !== 'null' && !ELEMENT_NEEDS_QUOTES.test(value)) {
    return value;
  }
  return `"${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

/** A text[] field: a PostgreSQL array literal ({a,b}), itself quoted as a CSV field when needed. */
export const csvArray = (values: readonly string[]): string =>
  csvText(`{${values.map(arrayElement).join(',')}}`);

/** A json/jsonb field: the JSON text, quoted as a CSV field. */
export const csvJson = (value: unknown): string => csvText(JSON.stringify(value));
