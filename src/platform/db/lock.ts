import { linkSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * One process at a time on a PGlite data directory. PGlite is a whole PostgreSQL inside each process
 * that opens it, with no shared memory between two of them: each caches pages and writes over the
 * other's files. Beside a running gateway, `spx keys create` printed a key the gateway refused and
 * `spx keys list` crashed with `RuntimeError: Aborted()` (issue "A newcomer's first hour", item 1).
 * The lock is a file beside the directory holding the owner's pid, created atomically.
 */

/** Another live process has the data directory open. */
export class DataDirectoryLockedError extends Error {
  override name = 'DataDirectoryLockedError';

  constructor(
    readonly dir: string,
    readonly pid: number,
  ) {
    super(
      `the database directory ${dir} is in use by process ${pid}: wait for it to finish or stop it ` +
        `(if no spx process runs there, delete ${lockFileOf(dir)})`,
    );
  }
}

/** The lock file of a data directory: beside it, not in it (the directory is PostgreSQL's). */
export const lockFileOf = (dir: string): string => `${resolve(dir)}.lock`;

/** Lock files this process holds: its own pid in a lock file is a stale one unless listed here. */
const held = new Set<string>();

/** The pid of the live process that holds the directory, or undefined when none does. */
export function lockHolder(dir: string): number | undefined {
  const file = lockFileOf(dir);
  const pid = pidIn(file);
  if (pid === undefined) {
    return undefined;
  }
  return (pid === process.pid ? held.has(file) : isAlive(pid)) ? pid : undefined;
}

/**
 * Takes the directory for this process and returns the function that gives it back; throws
 * DataDirectoryLockedError when a live process holds it. A lock left by a process that is gone (it
 * was killed before closing the database) is taken over with a warning.
 */
export function lockDataDirectory(dir: string): () => void {
  const file = lockFileOf(dir);
  while (!tryCreate(file)) {
    const holder = lockHolder(dir);
    if (holder !== undefined) {
      throw new DataDirectoryLockedError(dir, holder);
    }
    process.emitWarning(
      `taking over the lock of ${dir} left by process ${pidIn(file) ?? '(unknown)'}, which no longer runs`,
    );
    rmSync(file, { force: true });
  }
  held.add(file);
  return () => {
    held.delete(file);
    if (pidIn(file) === process.pid) {
      rmSync(file, { force: true });
    }
  };
}

/**
 * Creates the lock file with our pid in it, or returns false when it exists. The pid is written to a
 * file of our own first and then linked into place (link fails if the name exists), so nobody ever
 * reads a lock file without its pid.
 */
function tryCreate(file: string): boolean {
  const own = `${file}.${process.pid}`;
  writeFileSync(own, `${process.pid}\n`, { mode: 0o600 });
  try {
    linkSync(own, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      return false;
    }
    throw error;
  } finally {
    rmSync(own, { force: true });
  }
}

function pidIn(file: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0); // signal 0: only asks whether the process exists
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // it exists, under another user
  }
}
