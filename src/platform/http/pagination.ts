import { Type } from '@sinclair/typebox';
import { badRequest } from '#platform/problem';

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

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** How a list's key is written into a cursor, and read back (undefined: not a key of that shape). */
export interface KeyCodec<K> {
  write(key: K): string;
  read(text: string): K | undefined;
}

const idKey: KeyCodec<string> = { write: (id) => id, read: (text) => (UUID.test(text) ? text : undefined) };

const seqKey: KeyCodec<string> = {
  write: (seq) => seq,
  read: (text) => (/^[0-9]{1,15}$/.test(text) ? text : undefined),
};

const timeAndIdKey: KeyCodec<{ at: Date; id: string }> = {
  write: ({ at, id }) => `${at.toISOString()}|${id}`,
  read(text) {
    const [time = '', id = '', ...rest] = text.split('|');
    const at = new Date(time);
    return TIME.test(time) && UUID.test(id) && rest.length === 0 && !isNaN(at.getTime())
      ? { at, id }
      : undefined;
  },
};

/** The keys lists are ordered by. */
export const Keys = {
  /** A row id. */
  id: idKey,
  /** A sequence number (a string: bigint columns are read as strings). */
  seq: seqKey,
  /** A time and a row id, `2026-01-31T08:00:00.000Z|<id>`. */
  timeAndId: timeAndIdKey,
};

/** A page of items and the cursor of the page after it. */
export interface PageOf<T> {
  items: T[];
  next_cursor: string | null;
}

/**
 * The keyset cursors of one list. Cursors are opaque to clients (base64url of the list's name and
 * the last key seen), so the key can change later without breaking them; a keyset never skips or
 * repeats rows when others are inserted meanwhile. A cursor this list did not issue (malformed, or
 * another list's) is a 400 naming the parameter, never a value handed to a query.
 */
export interface Keyset<K> {
  /** The key a cursor carries; undefined without one. */
  after(cursor: string | undefined, parameter?: string): K | undefined;
  /** The cursor that resumes after `key`. */
  cursor(key: K): string;
  /** Takes `limit + 1` rows from a query and turns them into a page with the cursor of the last item. */
  page<T>(rows: T[], limit: number, keyOf: (row: T) => K): PageOf<T>;
}

/** The keyset cursors of the list `list` (a name unique among lists, e.g. `audit.events`). */
export function keyset<K>(list: string, key: KeyCodec<K>): Keyset<K> {
  const cursor = (k: K) => Buffer.from(JSON.stringify({ l: list, k: key.write(k) })).toString('base64url');
  return {
    cursor,
    after(text, parameter = 'cursor') {
      if (text === undefined) {
        return undefined;
      }
      const decoded = readCursor(text);
      const k = decoded?.l === list ? key.read(decoded.k) : undefined;
      if (k === undefined) {
        throw badRequest(`${parameter} is not one this API issued for this list`, [
          { pointer: parameter, detail: 'invalid cursor' },
        ]);
      }
      return k;
    },
    page(rows, limit, keyOf) {
      const items = rows.slice(0, limit);
      const last = items.at(-1);
      return { items, next_cursor: rows.length > limit && last ? cursor(keyOf(last)) : null };
    },
  };
}

function readCursor(text: string): { l: unknown; k: string } | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (typeof value === 'object' && value !== null && 'k' in value && typeof value.k === 'string') {
      return { l: 'l' in value ? value.l : undefined, k: value.k };
    }
  } catch {
    // not JSON: not a cursor
  }
  return undefined;
}
