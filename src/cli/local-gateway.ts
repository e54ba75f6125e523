import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Config } from '#config/settings';
import { DataDirectoryLockedError, lockHolder } from '#platform/db/lock';

/**
 * The gateway's note to its owner's `spx` commands: PGlite lets one process at a time open the data
 * directory, so while the gateway runs, a command that needs the database goes through the gateway's
 * admin API with this local key (an administrator key of the `spx-local-admin` client, issued at each
 * start and revoked at shutdown; only its hash is in the database). The file is the owner's only
 * (mode 0600) and lives in SPX_DATA_DIR beside the database it stands for.
 */
export interface LocalGateway {
  pid: number;
  /** Where this machine reaches the gateway (its own listener, not SPX_PUBLIC_URL). */
  url: string;
  key: string;
}

const FILE = 'gateway.local.json';

/** The embedded database's directory under SPX_DATA_DIR. */
export const pgliteDir = (config: Pick<Config, 'dataDir'>): string => join(config.dataDir, 'pglite');

/** Writes the note for this process (atomically: a reader never sees half of it). */
export function writeLocalGateway(config: Pick<Config, 'dataDir'>, url: string, key: string): void {
  const file = join(config.dataDir, FILE);
  const partial = `${file}.${process.pid}`;
  const note: LocalGateway = { pid: process.pid, url, key };
  writeFileSync(partial, `${JSON.stringify(note)}\n`, { mode: 0o600 });
  renameSync(partial, file);
}

/** Removes the note if it is this process's. */
export function removeLocalGateway(config: Pick<Config, 'dataDir'>): void {
  if (readLocalGateway(config)?.pid === process.pid) {
    rmSync(join(config.dataDir, FILE), { force: true });
  }
}

function readLocalGateway(config: Pick<Config, 'dataDir'>): LocalGateway | undefined {
  try {
    const note = JSON.parse(readFileSync(join(config.dataDir, FILE), 'utf8')) as Partial<LocalGateway>;
    return typeof note.pid === 'number' && typeof note.url === 'string' && typeof note.key === 'string'
      ? (note as LocalGateway)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The gateway that has this configuration's PGlite directory open, or undefined when no process
 * does (the command may open it) or the database is a PostgreSQL server (shared by any number of
 * processes). Throws DataDirectoryLockedError when another process holds it: a gateway still
 * starting, or another spx command.
 */
export function runningGateway(config: Config): LocalGateway | undefined {
  if (config.databaseUrl) {
    return undefined;
  }
  const dir = pgliteDir(config);
  const holder = lockHolder(dir);
  if (holder === undefined) {
    return undefined;
  }
  const note = readLocalGateway(config);
  if (note?.pid !== holder) {
    throw new DataDirectoryLockedError(dir, holder);
  }
  return note;
}

/** The URL of a listener as this machine reaches it (a wildcard address through loopback). */
export function localUrlOf(address: AddressInfo): string {
  const host =
    address.address === '0.0.0.0'
      ? '127.0.0.1'
      : address.address === '::'
        ? '[::1]'
        : address.family === 'IPv6'
          ? `[${address.address}]`
          : address.address;
  return `http://${host}:${address.port}`;
}
