/**
 * PostgreSQL's unique violation (SQLSTATE 23505), on the index `index` when one is named. PGlite
 * reports the same code and constraint name as a server does.
 */
export const isUniqueViolation = (error: unknown, index?: string): boolean =>
  typeof error === 'object' &&
  error !== null &&
  (error as { code?: unknown }).code === '23505' &&
  (index === undefined || (error as { constraint?: unknown }).constraint === index);
