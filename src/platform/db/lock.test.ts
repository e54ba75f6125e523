import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { openDatabase } from './database.ts';
import { DataDirectoryLockedError, lockDataDirectory, lockFileOf, lockHolder } from './lock.ts';

/** One process at a time on a PGlite directory (the gateway beside `spx` commands: test/cli/cli-beside-gateway.test.ts). */
describe('data directory lock', () => {
  const root = mkdtempSync(join(tmpdir(), 'spx-lock-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('is held by one holder at a time, in this process too, and given back on release', () => {
    const dir = join(root, 'one');
    const release = lockDataDirectory(dir);
    expect(readFileSync(lockFileOf(dir), 'utf8').trim()).toBe(String(process.pid));
    expect(lockHolder(dir)).toBe(process.pid);
    expect(() => lockDataDirectory(dir)).toThrow(DataDirectoryLockedError);
    release();
    expect(existsSync(lockFileOf(dir))).toBe(false);
    expect(lockHolder(dir)).toBeUndefined();
    lockDataDirectory(dir)();
  });

  it('refuses to open a PGlite directory that another live process holds, before touching it', async () => {
    const dir = join(root, 'busy');
    writeFileSync(lockFileOf(dir), `${process.ppid}\n`);
    const opening = openDatabase({ dataDir: dir, schema: 'public' });
    await expect(opening).rejects.toThrow(DataDirectoryLockedError);
    await expect(opening).rejects.toThrow(`is in use by process ${process.ppid}`);
    expect(readFileSync(lockFileOf(dir), 'utf8').trim()).toBe(String(process.ppid));
  });

  it('takes over, with a warning, a lock left by a process that no longer runs', () => {
    const dir = join(root, 'stale');
    const gone = spawnSync(process.execPath, ['-e', '']).pid;
    writeFileSync(lockFileOf(dir), `${gone}\n`);
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      expect(lockHolder(dir)).toBeUndefined();
      const release = lockDataDirectory(dir);
      expect(warn).toHaveBeenCalledWith(
        expect.stringContaining(`left by process ${gone}, which no longer runs`),
      );
      expect(lockHolder(dir)).toBe(process.pid);
      release();
    } finally {
      warn.mockRestore();
    }
  });
});
