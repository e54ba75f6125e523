import { mkdirSync } from 'node:fs';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { PGlite } from '@electric-sql/pglite';
import { createHash } from 'node:crypto';
import { CompiledQuery, Kysely, PostgresDialect, type LogEvent } from 'kysely';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { lockDataDirectory } from './lock.ts';
import { valuesHidden, withoutValues } from './errors.ts';
import { Mutex } from './mutex.ts';
import { PgliteDialect } from './pglite-dialect.ts';
import { typeParsers } from './type-parsers.ts';
import type { DB } from './types.ts';

export type Engine = 'pglite' | 'postgres';

/** Rows of a bulk load, as CSV text chunks (RFC 4180, no header), in table column order. */
export type CsvChunks = AsyncIterable<string> | Iterable<string>;
export type CopyInto = (table: string, columns: readonly string[], chunks: CsvChunks) => Promise<void>;

/** The storage port: typed queries through Kysely, raw SQL for the queue, and bulk COPY loads. */
export interface Database {
  readonly engine: Engine;
  readonly schema: string;
  readonly db: Kysely<DB>;
  /** Raw SQL. Without values the text may hold several statements (migrations, pg-boss). */
  executeSql<R = Record<string, unknown>>(text: string, values?: unknown[]): Promise<{ rows: R[] }>;
  /** Runs COPY loads in one transaction: all rows land, or none do. */
  bulkLoad(load: (copy: CopyInto) => Promise<void>): Promise<void>;
  /**
   * PostgreSQL only: `COPY (query) TO STDOUT WITH (options)` as a byte stream, read as the consumer
   * reads. COPY takes no bind parameters: the query's are written into it as quoted literals.
   */
  copyOut?(query: CompiledQuery, options: string): Readable;
  close(): Promise<void>;
  /** PGlite only: the whole data directory as a tar file, to start other instances from. */
  dumpDataDir?(): Promise<Blob>;
}

export interface DatabaseOptions {
  /** postgres://… for a server; undefined for embedded PGlite. */
  url?: string | undefined;
  /** PGlite data directory; undefined (or 'memory://') keeps the database in memory. */
  dataDir?: string | undefined;
  schema: string;
  poolSize?: number;
  /** PGlite only: start from this dumped data directory instead of running initdb (tests use it). */
  pgliteTemplate?: Blob | undefined;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** The comment that asks for a named statement (preparedStatement). */
const PREPARED = '/* prepared */ ';

/**
 * The query, to run as a named (prepared) statement on PostgreSQL: each connection parses and plans
 * its text once, then only binds and executes it (for an insert of a few wide rows this halves what
 * the server spends on it). Only for a statement run very often whose text takes few shapes: every
 * shape stays prepared on every connection of the pool. PGlite runs it as any other query.
 */
export const preparedStatement = ({ sql, parameters }: CompiledQuery): CompiledQuery =>
  CompiledQuery.raw(PREPARED + sql, [...parameters]);

/** Statement names by text (few: see preparedStatement), shared by every connection. */
const statementNames = new Map<string, string>();
const statementName = (text: string): string => {
  let name = statementNames.get(text);
  if (name === undefined) {
    name = `spx_${createHash('sha256').update(text).digest('hex').slice(0, 32)}`;
    statementNames.set(text, name);
  }
  return name;
};

/** A pg client that runs queries marked by preparedStatement as named statements. */
class PreparingClient extends pg.Client {}
const plainQuery = pg.Client.prototype.query as (this: pg.Client, ...args: unknown[]) => unknown;
PreparingClient.prototype.query = function query(this: pg.Client, ...args: unknown[]) {
  const [text, values] = args;
  if (args.length === 2 && typeof text === 'string' && text.startsWith(PREPARED) && Array.isArray(values)) {
    return plainQuery.call(this, { name: statementName(text), text, values });
  }
  return plainQuery.apply(this, args);
} as typeof pg.Client.prototype.query;

/**
 * Kysely's log hook, for errors only: a failed query's error loses its values before anyone logs it
 * (errors.ts). Kysely calls it with the error it then throws.
 */
const hideFailedValues = (event: LogEvent): void => {
  if (event.level === 'error') {
    withoutValues(event.error, event.query);
  }
};

/** Opens the configured engine and makes sure the schema exists and is first on the search path. */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  if (!IDENTIFIER.test(options.schema)) {
    throw new Error(`invalid schema name "${options.schema}"`);
  }
  return options.url ? openPostgres(options.url, options) : openPglite(options);
}

async function openPglite(options: DatabaseOptions): Promise<Database> {
  const inMemory = !options.dataDir || options.dataDir.startsWith('memory://');
  if (!inMemory) {
    mkdirSync(options.dataDir!, { recursive: true });
  }
  const unlock = inMemory ? () => undefined : lockDataDirectory(options.dataDir!);
  let pglite: PGlite;
  try {
    pglite = new PGlite({
      ...(inMemory ? {} : { dataDir: options.dataDir }),
      parsers: typeParsers,
      ...(options.pgliteTemplate ? { loadDataDir: options.pgliteTemplate } : {}),
    });
    await pglite.exec(`create schema if not exists ${options.schema}; set search_path to ${options.schema}`);
  } catch (error) {
    unlock();
    throw error;
  }
  const mutex = new Mutex();

  const executeSql = <R>(text: string, values: unknown[] = []) =>
    mutex.run(() =>
      valuesHidden(text, values, async () => {
        if (values.length > 0) {
          return { rows: (await pglite.query<R>(text, values)).rows };
        }
        const results = await pglite.exec(text);
        return { rows: (results.at(-1)?.rows ?? []) as R[] };
      }),
    );

  const bulkLoad = (load: (copy: CopyInto) => Promise<void>) =>
    mutex.run(async () => {
      await pglite.exec('begin');
      try {
        await load(async (table, columns, chunks) => {
          const copy = `copy ${table} (${columns.join(',')}) from '/dev/blob' with (format csv)`;
          for await (const chunk of chunks) {
            await valuesHidden(copy, [], () => pglite.query(copy, [], { blob: new Blob([chunk]) }));
          }
        });
        await pglite.exec('commit');
      } catch (error) {
        await pglite.exec('rollback');
        throw error;
      }
    });

  const db = new Kysely<DB>({ dialect: new PgliteDialect(pglite, mutex), log: hideFailedValues });
  return {
    engine: 'pglite',
    schema: options.schema,
    db,
    executeSql,
    bulkLoad,
    close: async () => {
      try {
        await mutex.run(() => pglite.close());
      } finally {
        unlock();
      }
    },
    dumpDataDir: () => mutex.run(() => pglite.dumpDataDir('none')),
  };
}

/**
 * A compiled query with its parameters written in as literals (pg's escapeLiteral: quotes doubled,
 * backslashes escaped in an E'' string, whatever standard_conforming_strings says). Kysely writes
 * parameters as $n and never inside a string literal of its own.
 */
function withLiterals({ sql, parameters }: CompiledQuery): string {
  return sql.replace(/\$(\d+)/g, (_match, n: string) => {
    const value: unknown = parameters[Number(n) - 1];
    if (value === null || value === undefined) {
      return 'null';
    }
    if (typeof value === 'number' && Number.isFinite(value)) {
      return String(value);
    }
    if (typeof value === 'boolean') {
      return value ? 'true' : 'false';
    }
    const text = value instanceof Date ? value.toISOString() : typeof value === 'string' ? value : undefined;
    if (text === undefined) {
      throw new Error(`a COPY query parameter of type ${typeof value} cannot be written as a literal`);
    }
    return pg.escapeLiteral(text);
  });
}

async function openPostgres(url: string, options: DatabaseOptions): Promise<Database> {
  const setup = new pg.Client({ connectionString: url });
  await setup.connect();
  try {
    await setup.query(`create schema if not exists ${options.schema}`);
  } finally {
    await setup.end();
  }
  const pool = new pg.Pool({
    Client: PreparingClient,
    connectionString: url,
    max: options.poolSize ?? 10,
    options: `-c search_path=${options.schema}`,
    types: {
      getTypeParser: ((oid: number, format?: string) =>
        typeParsers[oid] ?? pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
    },
  });

  const bulkLoad = async (load: (copy: CopyInto) => Promise<void>) => {
    const client = await pool.connect();
    try {
      await client.query('begin');
      await load(async (table, columns, chunks) => {
        const copy = `copy ${table} (${columns.join(',')}) from stdin with (format csv)`;
        await valuesHidden(copy, [], () => pipeline(Readable.from(chunks), client.query(copyFrom(copy))));
      });
      await client.query('commit');
    } catch (error) {
      await client.query('rollback');
      throw error;
    } finally {
      client.release();
    }
  };

  const copyOut = (query: CompiledQuery, copyOptions: string): Readable => {
    const out = new PassThrough();
    const copy = (text: string) => `copy (${text}) to stdout with (${copyOptions})`;
    void pool.connect().then(
      (client) => {
        const source = client.query(copyTo(copy(withLiterals(query))));
        // Its values are in the statement's text: out of its error before the reader sees (and logs) it.
        source.on('error', (error) => withoutValues(error, { ...query, sql: copy(query.sql) }));
        pipeline(source, out).then(
          () => client.release(),
          // A copy broken off (the reader went away) leaves the connection mid-protocol: discard it.
          (error: unknown) => client.release(error instanceof Error ? error : true),
        );
      },
      (error: unknown) => out.destroy(error instanceof Error ? error : new Error(String(error))),
    );
    return out;
  };

  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }), log: hideFailedValues });
  return {
    engine: 'postgres',
    copyOut,
    schema: options.schema,
    db,
    executeSql: async <R>(text: string, values: unknown[] = []) => {
      const result = await valuesHidden(text, values, () => pool.query(text, values));
      // A multi-statement text returns one result per statement: keep the last, as PGlite's side does.
      const last = Array.isArray(result) ? (result.at(-1) as pg.QueryResult) : result;
      return { rows: (last?.rows ?? []) as R[] };
    },
    bulkLoad,
    close: async () => {
      await db.destroy();
      // Kysely ends the pool only if it ran a query itself: a process that used executeSql alone
      // (`spx migrate`) kept an idle connection open, and ran on until the pool's idle timeout.
      if (!pool.ending) {
        await pool.end();
      }
    },
  };
}
