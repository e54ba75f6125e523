import { createHmac, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '#config/load';
import type { Config } from '#config/settings';

/**
 * The master key that encrypts our private keys at rest (key-vault.ts): SPX_MASTER_KEY when set
 * (production: from a secret store, the same on every gateway of a database), else the file
 * `master.key` in SPX_DATA_DIR, created on the first start with mode 0600 so that `npm start` works
 * with nothing configured. Whoever holds the database and this key holds our private keys.
 */

export interface MasterKey {
  /** A public name of the key (HMAC of a constant under it): tells which key sealed what, reveals nothing. */
  id: string;
  secret: Uint8Array;
  /** Where it came from (SPX_MASTER_KEY or the file), for error messages. */
  source: string;
}

export const MASTER_KEY_FILE = 'master.key';
const KEY_BYTES = 32;

/** The configured master key, or the data directory's (created when there is none). */
export function loadMasterKey(config: Pick<Config, 'masterKey' | 'dataDir'>): MasterKey {
  if (config.masterKey !== undefined) {
    return masterKeyOf(config.masterKey, 'SPX_MASTER_KEY');
  }
  const path = join(config.dataDir, MASTER_KEY_FILE);
  return masterKeyOf(readOrCreate(path), path);
}

/** A master key from its base64 text; a ConfigError naming `source` when it is not 32 bytes. */
export function masterKeyOf(base64: string, source: string): MasterKey {
  const secret = Buffer.from(base64.trim(), 'base64');
  if (secret.length !== KEY_BYTES) {
    throw new ConfigError(`${source}: the master key must be ${KEY_BYTES} bytes, base64-encoded`);
  }
  const id = createHmac('sha256', secret).update('spx master key id').digest('hex').slice(0, 16);
  return { id, secret: new Uint8Array(secret), source };
}

function readOrCreate(path: string): string {
  try {
    const mode = statSync(path).mode;
    // Like ssh with its private keys: a key others may read is refused rather than used.
    if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
      throw new ConfigError(`${path}: the master key file must be readable by its owner only (chmod 600)`);
    }
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw error;
    }
  }
  mkdirSync(join(path, '..'), { recursive: true });
  const text = randomBytes(KEY_BYTES).toString('base64');
  try {
    // 'wx': of two processes starting at once, the second reads the first one's key.
    writeFileSync(path, `${text}\n`, { mode: 0o600, flag: 'wx' });
    return text;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      return readFileSync(path, 'utf8');
    }
    throw error;
  }
}
