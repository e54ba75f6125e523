import { createHash } from 'node:crypto';
import { CompiledQuery, sql, type Insertable, type Kysely, type Selectable } from 'kysely';
import { Batcher } from '#platform/db/batch';
import { preparedStatement } from '#platform/db/database';
import { isUniqueViolation } from '#platform/db/errors';
import type { AuditLogTable, DB } from '#platform/db/types';

export type AuditOutcome = 'success' | 'denied' | 'error' | 'invalid';

/** One data access or change, as recorded. No personal data: ids and counts only. */
export interface AuditEntry {
  requestId?: string | undefined;
  clientId?: string | undefined;
  clientName?: string | undefined;
  action: string;
  purpose?: string | undefined;
  resourceType?: string | undefined;
  resourceId?: string | undefined;
  recordCount?: number | undefined;
  /** Ids of the records returned, when the access returned registry records. */
  subjectIds?: readonly string[] | undefined;
  /** The legal basis the access stated (exports: GDPR art. 6). */
  legalBasis?: string | undefined;
  outcome: AuditOutcome;
  statusCode?: number | undefined;
}

export const GENESIS_HASH = '0'.repeat(64);

/** The stored columns an entry's hash covers: all but its position and its own hash. */
type HashedFields = Omit<Selectable<AuditLogTable>, 'seq' | 'hash'>;

/**
 * SHA-256 over the entry's fields in a fixed order and the previous entry's hash. Subject ids
 * (migration 0007) and the legal basis (0016) came later: they are hashed when present, so entries
 * written before still verify.
 */
export function hashEntry(fields: HashedFields): string {
  const canonical = JSON.stringify([
    ...(fields.subject_ids === null ? [] : [fields.subject_ids]),
    fields.at.toISOString(),
    fields.request_id,
    fields.client_id,
    fields.client_name,
    fields.action,
    fields.purpose,
    fields.resource_type,
    fields.resource_id,
    fields.record_count,
    fields.outcome,
    fields.status_code,
    fields.prev_hash,
    // An object, where every other member is a string, number or null: no entry without a legal
    // basis hashes the same list.
    ...(fields.legal_basis === null ? [] : [{ legal_basis: fields.legal_basis }]),
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}

type UnchainedFields = Omit<HashedFields, 'prev_hash'>;

/** An entry to append, with the rows to write in the same statement. */
interface Pending {
  fields: UnchainedFields;
  alongside?: AlongsideRow | undefined;
}

const fieldsOf = (entry: AuditEntry): UnchainedFields => ({
  at: new Date(),
  request_id: entry.requestId ?? null,
  client_id: entry.clientId ?? null,
  client_name: entry.clientName ?? null,
  action: entry.action,
  purpose: entry.purpose ?? null,
  resource_type: entry.resourceType ?? null,
  resource_id: entry.resourceId ?? null,
  record_count: entry.recordCount ?? 0,
  outcome: entry.outcome,
  status_code: entry.statusCode ?? null,
  subject_ids: entry.subjectIds ? [...entry.subjectIds] : null,
  legal_basis: entry.legalBasis ?? null,
});

/** The entries linked after `previous`, each with its hash. */
function linkAfter(previous: string, entries: readonly UnchainedFields[]) {
  let hash = previous;
  return entries.map((entry) => {
    const fields: HashedFields = { ...entry, prev_hash: hash };
    hash = hashEntry(fields);
    return { ...fields, hash };
  });
}

/**
 * A row written in the same statement as an audit entry, so that the record of an exchange and the
 * audit entry of the request that made it commit together, in one round trip (the DCI sync search).
 * Should the row be refused (a unique index), the entry is not written either.
 */
export type AlongsideRow = { [T in keyof DB]: { into: T; values: Insertable<DB[T]> } }[keyof DB];

// The unique index on prev_hash (migration 0012) refuses a second entry after the same one: the chain
// cannot fork, whoever writes it. Such a refusal is the signal to read the head again.
const isForkRefused = (error: unknown) => isUniqueViolation(error, 'audit_log_prev_hash');

const CHAIN_ATTEMPTS = 20;
/** Batches up to this many entries run as prepared statements (at most 4 × 5 shapes per connection). */
const PREPARED_BATCH = 4;

/**
 * Appends entries after the current head, read in a transaction under an advisory lock that
 * serialises the writers taking this path; retried when a writer that knew the head (AuditWriter)
 * got there first. Answers the new head.
 */
async function appendLocked(db: Kysely<DB>, entries: readonly Pending[]): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction().execute(async (trx) => {
        await sql`select pg_advisory_xact_lock(hashtext(current_schema() || '.audit_log'))`.execute(trx);
        const last = await trx
          .selectFrom('audit_log')
          .select('hash')
          .orderBy('seq', 'desc')
          .limit(1)
          .executeTakeFirst();
        return appendAfter(trx, last?.hash ?? GENESIS_HASH, entries);
      });
    } catch (error) {
      if (!isForkRefused(error) || attempt >= CHAIN_ATTEMPTS) {
        throw error;
      }
    }
  }
}

/**
 * One statement: the entries linked after `previous` (refused if another entry already follows it),
 * and the rows to write alongside them, each table's in a data-modifying WITH query of its own.
 */
async function appendAfter(db: Kysely<DB>, previous: string, entries: readonly Pending[]): Promise<string> {
  const rows = linkAfter(
    previous,
    entries.map((entry) => entry.fields),
  );
  const byTable = new Map<string, Record<string, unknown>[]>();
  for (const { alongside } of entries) {
    if (alongside) {
      byTable.set(alongside.into, [...(byTable.get(alongside.into) ?? []), alongside.values]);
    }
  }
  // Written out here rather than built with Kysely: this runs for every audited request, and the
  // text is a plain multi-row insert (building it took the gateway a few tens of µs per request).
  const parameters: unknown[] = [];
  const alongside = [...byTable].map(
    ([table, values]) => `${quoted(`alongside_${table}`)} as (${insertText(table, values, parameters)})`,
  );
  // Identity values follow the order of the VALUES list, so seq order is chain order.
  const audit = insertText('audit_log', rows, parameters);
  const query = CompiledQuery.raw(
    alongside.length ? `with ${alongside.join(', ')} ${audit}` : audit,
    parameters,
  );
  // Batches are mostly of one to a few entries: those few shapes are prepared once per connection.
  await db.executeQuery(entries.length <= PREPARED_BATCH ? preparedStatement(query) : query);
  return rows.at(-1)!.hash;
}

const quoted = (name: string): string => {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) {
    throw new Error(`not a plain SQL name: ${name}`);
  }
  return `"${name}"`;
};

/**
 * `insert into <table> (<columns>) values (...), ...` for these rows, their values appended to
 * `parameters`: the columns are those any row gives a value; a row that gives none takes the
 * column's default (as Kysely writes it).
 */
export function insertText(
  table: string,
  rows: readonly Record<string, unknown>[],
  parameters: unknown[],
): string {
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row).filter((c) => row[c] !== undefined)))];
  const tuples = rows.map(
    (row) =>
      `(${columns.map((c) => (row[c] === undefined ? 'default' : `$${parameters.push(row[c])}`)).join(', ')})`,
  );
  return `insert into ${quoted(table)} (${columns.map(quoted).join(', ')}) values ${tuples.join(', ')}`;
}

/** Appends one entry to the hash chain (jobs and CLI; the HTTP path batches through AuditWriter). */
export const recordAudit = async (db: Kysely<DB>, entry: AuditEntry): Promise<void> => {
  await appendLocked(db, [{ fields: fieldsOf(entry) }]);
};

/**
 * Appends entries in batches (Batcher): concurrent requests share one statement and one commit
 * instead of queueing for the chain one by one. The writer remembers the head it wrote last, so a
 * batch is one insert; when another writer (a job, another gateway) appended meanwhile, that insert
 * is refused and the batch goes the locked way, which reads the head again. `record` resolves only
 * once its entry is committed, so a response never leaves before its audit entry is durable. An
 * entry may bring a row to write in the same statement (`alongside`); a batch refused for one of
 * those is written again entry by entry, so that the refusal fails only its own request.
 */
export class AuditWriter {
  readonly #batcher: Batcher<Pending, undefined>;
  #head: string | undefined;

  constructor(db: Kysely<DB>) {
    const write = async (entries: Pending[]) => {
      this.#head = await this.#append(db, entries);
      return entries.map(() => undefined);
    };
    this.#batcher = new Batcher(write, { writeOne: async (entry) => (await write([entry]))[0] });
  }

  record(entry: AuditEntry, alongside?: AlongsideRow): Promise<void> {
    return this.#batcher.submit({ fields: fieldsOf(entry), alongside });
  }

  async #append(db: Kysely<DB>, entries: readonly Pending[]): Promise<string> {
    const head = this.#head;
    this.#head = undefined;
    if (head !== undefined) {
      try {
        return await appendAfter(db, head, entries);
      } catch (error) {
        if (!isForkRefused(error)) {
          throw error;
        }
      }
    }
    return appendLocked(db, entries);
  }
}

export interface ChainVerification {
  ok: boolean;
  checked: number;
  /** The first entry whose hash or link does not match, when ok is false. */
  firstBrokenSeq?: number;
  reason?: string;
}

/** Walks the whole chain in pages and recomputes every hash. */
export async function verifyAuditChain(db: Kysely<DB>, pageSize = 5000): Promise<ChainVerification> {
  let previous = GENESIS_HASH;
  let after = 0;
  let checked = 0;
  for (;;) {
    const rows = await db
      .selectFrom('audit_log')
      .selectAll()
      .where('seq', '>', after)
      .orderBy('seq')
      .limit(pageSize)
      .execute();
    for (const row of rows) {
      if (row.prev_hash !== previous) {
        return {
          ok: false,
          checked,
          firstBrokenSeq: row.seq,
          reason: 'link to the previous entry is broken (entry removed or reordered)',
        };
      }
      if (hashEntry(row) !== row.hash) {
        return {
          ok: false,
          checked,
          firstBrokenSeq: row.seq,
          reason: 'entry content does not match its hash (entry altered)',
        };
      }
      previous = row.hash;
      checked += 1;
    }
    if (rows.length < pageSize) {
      return { ok: true, checked };
    }
    after = rows.at(-1)!.seq;
  }
}
