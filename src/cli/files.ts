import { chmodSync, writeFileSync } from 'node:fs';
import { UsageError } from './errors.ts';

/**
 * Writes a file the command creates (a key, a certificate) with this mode, refusing to replace one
 * that exists unless `force`: a key file may be the one registered, and losing it locks its owner out.
 */
export function writeOnce(path: string, text: string | Buffer, mode: number, force = false): void {
  try {
    writeFileSync(path, text, { mode, flag: force ? 'w' : 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new UsageError(`${path} exists: pass --force to replace it`);
    }
    throw error;
  }
  chmodSync(path, mode); // an overwritten file keeps its old mode otherwise
}
