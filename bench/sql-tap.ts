/**
 * Which SQL statements a request runs: recorded from the gateway's Kysely instance (a plugin that
 * compiles each query as it passes) or from a baseline's own executor, so that a benchmark can show,
 * and check on every run, that its baseline runs the same statements as the path it measures.
 */
import type { Kysely } from 'kysely';
import type { DB } from '#platform/db/types';

export interface Statement {
  sql: string;
  parameters: readonly unknown[];
}

/** Records statements while `record` runs; passes everything through untouched otherwise. */
export class StatementTap {
  readonly db: Kysely<DB>;
  private recording: Statement[] | undefined;
  private lastActivity = performance.now();

  constructor(db: Kysely<DB>) {
    const executor = db.getExecutor();
    this.db = db.withPlugin({
      transformQuery: ({ node, queryId }) => {
        this.lastActivity = performance.now();
        if (this.recording) {
          const { sql, parameters } = executor.compileQuery(node, queryId);
          this.recording.push({ sql, parameters });
        }
        return node;
      },
      transformResult: ({ result }) => {
        this.lastActivity = performance.now();
        return Promise.resolve(result);
      },
    });
  }

  /** Runs `work` alone (nothing else may use the database meanwhile) and returns what it ran. */
  async record(work: () => Promise<unknown>): Promise<Statement[]> {
    const statements: Statement[] = [];
    this.recording = statements;
    try {
      await work();
    } finally {
      this.recording = undefined;
    }
    return statements;
  }

  /** Records a statement run outside Kysely (a baseline's raw SQL). */
  note(sql: string, parameters: readonly unknown[]): void {
    this.lastActivity = performance.now();
    this.recording?.push({ sql, parameters });
  }

  /**
   * Waits until no statement has started or finished for `ms`. A load generator that stops leaves
   * requests in flight (it closes its connections; the server finishes them anyway): they must not
   * run into the next measurement, a recording, or the removal of the schema.
   */
  async quiet(ms = 1000, timeoutMs = 120_000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() - this.lastActivity < ms && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** A statement's text with its layout (line breaks, indentation) taken out. */
export const flat = (sql: string): string =>
  sql.replace(/\s+/g, ' ').replace(/\( /g, '(').replace(/ \)/g, ')').trim();

/** Where two statement lists differ (text, ignoring layout, or parameters), or undefined. */
export function difference(expected: Statement[], actual: Statement[]): string | undefined {
  for (let i = 0; i < Math.max(expected.length, actual.length); i++) {
    const [e, a] = [expected[i], actual[i]];
    if (!e || !a) {
      return `statement ${i + 1} ${e ? 'missing' : 'unexpected'}: ${flat((e ?? a)!.sql)}`;
    }
    if (flat(e.sql) !== flat(a.sql)) {
      return `statement ${i + 1} differs:\n  expected ${flat(e.sql)}\n  actual   ${flat(a.sql)}`;
    }
    if (JSON.stringify(e.parameters) !== JSON.stringify(a.parameters)) {
      return `statement ${i + 1} has other parameters: expected ${JSON.stringify(e.parameters)}, actual ${JSON.stringify(a.parameters)}`;
    }
  }
  return undefined;
}
