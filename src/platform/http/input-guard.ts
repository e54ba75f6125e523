import { badRequest, type FieldError } from '#platform/problem';
import type { App } from './types.ts';

/**
 * What no route takes, refused before any handler runs, with a 400 naming the field (defects issue,
 * item 16: each was a 500 from the database): the NUL character in a query value, a path parameter
 * or anywhere in a parsed body, value or property name (PostgreSQL text and jsonb cannot hold it);
 * and numbers a query string or JSON can spell but no column can hold: not finite (`1e309` reads as
 * Infinity, which the schema's bounds let through) or integers beyond ±(2^53 − 1), where doubles stop
 * counting exactly (I-JSON, RFC 7493 §2.2). NUL and body numbers are refused before validation, so
 * the answer names them whatever else is wrong; query and path numbers after it, once the schema
 * coerced them from text. Raw bodies (bytes) are the route's own business.
 */
export function installInputGuard(app: App): void {
  app.addHook('preValidation', async (request) => {
    refuse([
      ...unstorableIn(request.query, undefined),
      ...unstorableIn(request.params, undefined),
      ...unstorableIn(request.body, ''),
    ]);
  });
  app.addHook('preHandler', async (request) => {
    refuse([...unstorableIn(request.query, undefined), ...unstorableIn(request.params, undefined)]);
  });
}

function refuse(found: FieldError[]): void {
  if (found.length > 0) {
    const [first] = found;
    throw badRequest(`${first!.pointer} ${first!.detail}`, found);
  }
}

/** Enough errors to say what is wrong, not one per value of a large body. */
const MAX_ERRORS = 10;
const NUL = '\u0000';

/**
 * What of a value no field can hold (for input parsed beyond the request, such as a GraphQL `where`
 * string). Walks without recursion (a body may nest deeply). Query and path parameters are named as
 * validation errors name them (`limit`: rootPointer undefined), bodies by JSON pointer from
 * rootPointer (`/members/0/name`).
 */
export function unstorableIn(root: unknown, rootPointer: string | undefined): FieldError[] {
  const found: FieldError[] = [];
  const pending: [unknown, string | undefined][] = [[root, rootPointer]];
  while (pending.length > 0 && found.length < MAX_ERRORS) {
    const [value, pointer] = pending.pop()!;
    const name = pointer === '' ? '/' : (pointer ?? 'request');
    if (typeof value === 'string') {
      if (value.includes(NUL)) {
        found.push({ pointer: name, detail: 'contains the NUL character (U+0000), which no field can hold' });
      }
    } else if (typeof value === 'number') {
      const problem = numberProblem(value);
      if (problem) {
        found.push({ pointer: name, detail: problem });
      }
    } else if (typeof value === 'object' && value !== null && !Buffer.isBuffer(value)) {
      for (const [key, child] of Object.entries(value)) {
        if (key.includes(NUL)) {
          found.push({ pointer: name, detail: 'has a property name holding the NUL character (U+0000)' });
        } else {
          pending.push([child, pointer === undefined ? key : `${pointer}/${escapePointer(key)}`]);
        }
      }
    }
  }
  return found;
}

function numberProblem(value: number): string | undefined {
  if (!Number.isFinite(value)) {
    return 'is not a finite number';
  }
  return Number.isInteger(value) && !Number.isSafeInteger(value)
    ? `is beyond ±${Number.MAX_SAFE_INTEGER}, where numbers stop being exact`
    : undefined;
}

/** RFC 6901 §3: `~` and `/` in a property name. */
const escapePointer = (key: string) => key.replaceAll('~', '~0').replaceAll('/', '~1');
