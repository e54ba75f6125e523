import { sql, type Kysely } from 'kysely';
import type { DB } from '#platform/db/types';
import { badRequest } from '#platform/problem';
import { identifiersOf, memberCount } from '#registry/queries';
import type { HouseholdRow, IndividualRow } from '#registry/views';
import type { ExportPlan } from './plan.ts';
import { memberRecordsOf, recordsOf, type ExportRecord, type Pseudonymiser } from './source.ts';

/**
 * The changes of an export, in windows between two transaction snapshots (migration 0017): the
 * records written by transactions the `from` snapshot did not see and the `to` snapshot saw, read
 * in pages ordered by (writing transaction, id). A transaction still running at `to` falls in the
 * next window, so a reader that moves from window to window never misses a committed change,
 * whatever order transactions commit in. A position is where a reader stands: it resumes there.
 */

export interface FeedPosition {
  /** The snapshot whose changes were all read (pg_snapshot text). */
  from: string;
  /** The snapshot the window being read ends at. */
  to?: string;
  /** The last (change_xid, id) read in that window. */
  after?: [string, string];
}

const SNAPSHOT = /^\d{1,20}:\d{1,20}:(\d{1,20}(,\d{1,20})*)?$/;

export const encodePosition = (position: FeedPosition): string =>
  Buffer.from(JSON.stringify(position)).toString('base64url');

/** A cursor a client sent back; refused, naming it, when it is not one we gave. */
export function decodePosition(cursor: string): FeedPosition {
  let position: Partial<FeedPosition> | undefined;
  try {
    position = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Partial<FeedPosition>;
  } catch {
    position = undefined;
  }
  const valid =
    typeof position?.from === 'string' &&
    SNAPSHOT.test(position.from) &&
    (position.to === undefined || (typeof position.to === 'string' && SNAPSHOT.test(position.to))) &&
    (position.after === undefined ||
      (Array.isArray(position.after) &&
        position.after.length === 2 &&
        /^\d{1,20}$/.test(String(position.after[0])) &&
        /^[0-9a-f-]{36}$/.test(String(position.after[1]))));
  if (!valid) {
    throw badRequest('cursor is not a position this feed gave', [
      { pointer: 'cursor', detail: 'invalid cursor' },
    ]);
  }
  return position as FeedPosition;
}

/** Where a new reader starts: after everything committed now. */
export async function currentPosition(db: Kysely<DB>): Promise<FeedPosition> {
  const { rows } = await sql<{ snapshot: string }>`select pg_current_snapshot()::text as snapshot`.execute(
    db,
  );
  return { from: rows[0]!.snapshot };
}

export interface FeedPage {
  /** Each record with the position just after it. */
  changes: { record: ExportRecord; position: FeedPosition }[];
  next: FeedPosition;
  /** The window was read to its end: nothing newer until more is committed. */
  caughtUp: boolean;
}

export async function readChanges(
  db: Kysely<DB>,
  plan: ExportPlan,
  position: FeedPosition,
  pseudonym: Pseudonymiser | undefined,
  limit: number,
): Promise<FeedPage> {
  const window = { from: position.from, to: position.to ?? (await currentPosition(db)).from };
  const rows = await changedRows(db, plan, { ...window, after: position.after }, limit);
  const records =
    plan.entity === 'household_members'
      ? await memberRecordsOf(db, plan, rows as IndividualRow[], pseudonym)
      : await recordsOf(db, plan, rows, pseudonym);
  // Members are read in id order alone (their changes come from two tables); the others in
  // (writing transaction, id) order.
  const keyOf = (row: HouseholdRow | IndividualRow): [string, string] =>
    plan.entity === 'household_members' ? ['0', row.id] : [row.change_xid, row.id];
  const changes = rows.map((row, i) => ({
    record: records[i]!,
    position: { ...window, after: keyOf(row) },
  }));
  if (rows.length < limit) {
    return { changes, next: { from: window.to }, caughtUp: true };
  }
  return { changes, next: changes.at(-1)!.position, caughtUp: false };
}

type Window = Required<Pick<FeedPosition, 'from' | 'to'>> & Pick<FeedPosition, 'after'>;

/** Rows of the plan's entity written in the window, after `after`, in (change_xid, id) order. */
function changedRows(
  db: Kysely<DB>,
  plan: ExportPlan,
  window: Window,
  limit: number,
): Promise<HouseholdRow[] | IndividualRow[]> {
  if (plan.entity === 'household_members') {
    return changedMembers(db, plan, window, limit);
  }
  if (plan.entity === 'individuals') {
    return db
      .selectFrom('individuals as i')
      .selectAll('i')
      .select(identifiersOf)
      .where(changedIn('i', window, plan))
      .orderBy('i.change_xid')
      .orderBy('i.id')
      .limit(limit)
      .execute();
  }
  return db
    .selectFrom('households as h')
    .selectAll('h')
    .select(memberCount)
    .where(changedIn('h', window, plan))
    .orderBy('h.change_xid')
    .orderBy('h.id')
    .limit(limit)
    .execute();
}

/**
 * Members of the flat view whose row, or whose household's row, was written in the window: each
 * set found through its change_xid index, then read in id order.
 */
function changedMembers(
  db: Kysely<DB>,
  plan: ExportPlan,
  window: Window,
  limit: number,
): Promise<IndividualRow[]> {
  const after = window.after ? sql`and i.id > ${window.after[1]}::uuid` : sql``;
  return db
    .selectFrom('individuals as i')
    .selectAll('i')
    .select(identifiersOf)
    .where(
      sql<boolean>`i.id in (
        select x.id from individuals x where ${writtenIn('x', window)}
        union
        select y.id from individuals y join households z on z.id = y.household_id where ${writtenIn('z', window)})
      and i.household_id in (select h.id from households h where ${plan.where}) ${after}`,
    )
    .orderBy('i.id')
    .limit(limit)
    .execute();
}

function changedIn(alias: 'h' | 'i', window: Window, plan: ExportPlan) {
  const xid = sql.ref(`${alias}.change_xid`);
  const after = window.after
    ? sql`and (${xid}, ${sql.ref(`${alias}.id`)}) > (${window.after[0]}::xid8, ${window.after[1]}::uuid)`
    : sql``;
  return sql<boolean>`${writtenIn(alias, window)} ${after} and ${plan.where}`;
}

/** Rows (of `alias`) written by a transaction the window's first snapshot did not see and its last did. */
const writtenIn = (alias: string, window: Window) => {
  const xid = sql.ref(`${alias}.change_xid`);
  return sql<boolean>`${xid} >= pg_snapshot_xmin(${window.from}::pg_snapshot)
    and not pg_visible_in_snapshot(${xid}, ${window.from}::pg_snapshot)
    and pg_visible_in_snapshot(${xid}, ${window.to}::pg_snapshot)`;
};
