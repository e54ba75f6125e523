/**
 * PostgreSQL's unique violation (SQLSTATE 23505), on the index `index` when one is named. PGlite
 * reports the same code and constraint name as a server does.
 */
export const isUniqueViolation = (error: unknown, index?: string): boolean =>
  typeof error === 'object' &&
  error !== null &&
  (error as { code?: unknown }).code === '23505' &&
  (index === undefined || (error as { constraint?: unknown }).constraint === index);

/** Properties of a database error that carry a statement's values or a row's. */
const VALUE_PROPERTIES = ['params', 'parameters', 'queryParams', 'queryOptions', 'detail', 'where'];

/**
 * Takes the values out of a failed statement's error, in place, before anything logs or stores it
 * (defects issue, item 14: a whole ODK submission, searched identifiers). PGlite attaches the
 * parameters (`params`); PostgreSQL's `detail` and `where` quote the row or the value ("Key
 * (id_value)=(…)", "Failing row contains (…)", "COPY …, line 3: …"); the message may quote a value
 * ('invalid input syntax for type uuid: "…"'). What stays: the statement (`query`, placeholders
 * only), the SQLSTATE code, the constraint, table and column names.
 */
export function withoutValues(
  error: unknown,
  statement: { sql: string; parameters?: readonly unknown[] },
): void {
  if (typeof error !== 'object' || error === null) {
    return;
  }
  const fields = error as Record<string, unknown>;
  for (const property of VALUE_PROPERTIES) {
    delete fields[property];
  }
  fields['query'] = statement.sql;
  const quoted = (statement.parameters ?? []).flatMap(quotedForms);
  for (const property of ['message', 'stack']) {
    const text = fields[property];
    if (typeof text === 'string') {
      fields[property] = quoted.reduce((redacted, value) => redacted.replaceAll(value, '"…"'), text);
    }
  }
}

/** How PostgreSQL quotes a parameter it repeats in a message: `"value"`. */
function quotedForms(value: unknown): string[] {
  if (Array.isArray(value)) {
    return value.flatMap(quotedForms);
  }
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint'
    ? [`"${value}"`]
    : [];
}

/** Runs a statement; its failure is rethrown without its values (withoutValues). */
export async function valuesHidden<T>(
  sql: string,
  parameters: readonly unknown[],
  run: () => Promise<T>,
): Promise<T> {
  try {
    return await run();
  } catch (error) {
    withoutValues(error, { sql, parameters });
    throw error;
  }
}
