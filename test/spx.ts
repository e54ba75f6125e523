import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { openDatabase, type Database } from '#platform/db/database';
import { testDatabaseUrl } from './db.ts';

/**
 * The `spx` command as an operator runs it: a real process running the built gateway (dist/, which
 * test/global-setup.ts brings up to date before the run), on a data directory of its own, and on
 * PostgreSQL (DATABASE_URL) a schema of its own, both removed by `remove()`.
 */

export interface SpxResult {
  code: number;
  stdout: string;
  stderr: string;
}

const SPX = ['bin/spx.js'];

/** Only PATH from this process: what the command reads is what the test gives it. */
const environment = (env: Record<string, string | undefined>) => ({ PATH: process.env['PATH'], ...env });

/** Runs `spx <args>` to its end with only `env` (and PATH); a failure is a result, not an error. */
export async function runSpx(
  args: string[],
  env: Record<string, string | undefined> = {},
): Promise<SpxResult> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [...SPX, ...args], {
      env: environment(env),
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as SpxResult;
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/** Starts `spx <args>` (a gateway, a receiver) with only `env` (and PATH); the caller stops it. */
export const spawnSpx = (args: string[], env: Record<string, string | undefined> = {}): ChildProcess =>
  spawn(process.execPath, [...SPX, ...args], { env: environment(env) });

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
    run: (args, extra = {}) => runSpx(args, { ...base, ...extra }),
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
