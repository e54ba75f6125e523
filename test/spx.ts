import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { openDatabase, type Database } from '#platform/db/database';
import { testDatabaseUrl } from './db.ts';

/**
 * The `spx` command as an operator runs it: a real process on a data directory of its own, and on
 * PostgreSQL (DATABASE_URL) a schema of its own, both removed by `remove()`.
 */

export interface SpxResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface SpxWorkspace {
  dir: string;
  /** The environment the command runs with: the data directory and, on PostgreSQL, the schemas. */
  env: Record<string, string>;
  /** The workspace's database, as the command opens it (close it before running a command on PGlite). */
  open(): Promise<Database>;
  /** Runs `spx <args>` with the workspace's environment and `extra`. */
  run(args: string[], extra?: Record<string, string>): Promise<SpxResult>;
  remove(): Promise<void>;
}

export function spxWorkspace(env: Record<string, string> = {}): SpxWorkspace {
  const dir = mkdtempSync(join(tmpdir(), 'spx-cli-'));
  const url = testDatabaseUrl();
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const base: Record<string, string> = {
    PATH: process.env['PATH'] ?? '',
    SPX_DATA_DIR: dir,
    ...(url ? { DATABASE_URL: url, SPX_DB_SCHEMA: schema, SPX_JOBS_SCHEMA: `${schema}_q` } : {}),
    ...env,
  };
  return {
    dir,
    env: base,
    open: () => openDatabase(url ? { url, schema } : { dataDir: join(dir, 'pglite'), schema: 'public' }),
    async run(args, extra = {}) {
      try {
        const { stdout, stderr } = await promisify(execFile)(process.execPath, ['bin/spx.js', ...args], {
          env: { ...base, ...extra },
          timeout: 60_000,
        });
        return { code: 0, stdout, stderr };
      } catch (error) {
        const failed = error as SpxResult;
        return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
      }
    },
    async remove() {
      if (url) {
        const database = await openDatabase({ url, schema });
        await database.executeSql(
          `drop schema if exists ${schema} cascade; drop schema if exists ${schema}_q cascade`,
        );
        await database.close();
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
