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

/** What a list's keys look like: a cursor whose key does not is not one this API issued. */
export const CursorKey = {
  /** A row id. */
  id: /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
  /** A sequence number. */
  seq: /^[0-9]{1,15}$/,
  /** A time and a row id, `2026-01-31T08:00:00.000Z|<id>` (timeCursor). */
  timeAndId:
    /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z\|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
} as const;

const invalidCursor = () =>
  badRequest('cursor is not one this API issued', [{ pointer: 'cursor', detail: 'invalid cursor' }]);

/**
 * The key of a cursor this API issued, checked against the list's key shape: a crafted cursor is a
 * 400 naming `cursor`, never a value handed to a query.
 */
export function decodeCursor(cursor: string | undefined, shape: RegExp): string | undefined {
  if (cursor === undefined) {
    return undefined;
  }
  let key: unknown;
  try {
    key = (JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { k?: unknown }).k;
  } catch {
    throw invalidCursor();
  }
  if (typeof key !== 'string' || !shape.test(key)) {
    throw invalidCursor();
  }
  return key;
}

/** The key of a list in (time, id) order: the time as ISO 8601, then the id. */
export const timeCursor = (at: Date, id: string): string => `${at.toISOString()}|${id}`;

/** A (time, id) cursor's time and id (see decodeCursor). */
export function decodeTimeCursor(cursor: string | undefined): { at: Date; id: string } | undefined {
  const key = decodeCursor(cursor, CursorKey.timeAndId);
  if (key === undefined) {
    return undefined;
  }
  const [time, id] = key.split('|') as [string, string];
  const at = new Date(time);
  if (isNaN(at.getTime())) {
    throw invalidCursor();
  }
  return { at, id };
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
