import { Type } from '@sinclair/typebox';
import { badRequest } from './problem.ts';

/** Query parameters of every keyset-paginated list. */
export const PageQuery = {
  limit: Type.Optional(
    Type.Integer({ minimum: 1, maximum: 500, default: 50, description: 'Items per page' }),
  ),
  cursor: Type.Optional(
    Type.String({
      maxLength: 200,
      description: 'The `next_cursor` of the previous page, to read the page after it',
    }),
  ),
};

/** A page envelope around items of one schema. */
export const Page = <T extends Parameters<typeof Type.Array>[0]>(item: T) =>
  Type.Object({
    items: Type.Array(item),
    next_cursor: Type.Union([Type.String(), Type.Null()], { description: 'null on the last page' }),
  });

/**
 * Cursors are opaque to clients (base64url of the last key seen), so the key can change later
 * without breaking them. A keyset never skips or repeats rows when others are inserted meanwhile.
 */
export function encodeCursor(key: string): string {
  return Buffer.from(JSON.stringify({ k: key })).toString('base64url');
}

export function decodeCursor(cursor: string | undefined): string | undefined {
  if (cursor === undefined) {
    return undefined;
  }
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { k?: unknown };
    if (typeof parsed.k === 'string') {
      return parsed.k;
    }
  } catch {
    // fall through to the error below
  }
  throw badRequest('cursor is not one this API issued', [{ pointer: 'cursor', detail: 'invalid cursor' }]);
}

/** Takes `limit + 1` rows from a query and turns them into a page with the cursor of the last item. */
export function toPage<T>(
  rows: T[],
  limit: number,
  keyOf: (row: T) => string,
): { items: T[]; next_cursor: string | null } {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items, next_cursor: rows.length > limit && last ? encodeCursor(keyOf(last)) : null };
}
