import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '#platform/db/database';
import { secretOf } from './app.ts';
import { testDatabaseUrl } from './db.ts';

const run = promisify(execFile);

/** The `spx` command as an operator runs it: a real process on a real database directory or schema. */
describe('spx command', () => {
  const dir = mkdtempSync(join(tmpdir(), 'spx-cli-'));
  const url = testDatabaseUrl();
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const env = {
    PATH: process.env['PATH'],
    SPX_DATA_DIR: dir,
    ...(url ? { DATABASE_URL: url, SPX_DB_SCHEMA: schema } : {}),
  };
  const spx = async (...args: string[]) => {
    try {
      const { stdout, stderr } = await run(process.execPath, ['bin/spx.js', ...args], {
        env,
        timeout: 60_000,
      });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
    }
  };

  afterAll(async () => {
    if (url) {
      const database = await openDatabase({ url, schema });
      await database.executeSql(`drop schema if exists ${schema} cascade`);
      await database.close();
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('migrates, then reports the database up to date', async () => {
    expect((await spx('migrate')).stdout).toMatch(/applied migrations 1, 2/);
    expect((await spx('migrate')).stdout).toMatch(/up to date/);
  });

  it('creates, lists and revokes keys, showing the secret once', async () => {
    const created = await spx(
      'keys',
      'create',
      '--client',
      'mis-north',
      '--role',
      'integrator',
      '--days',
      '30',
    );
    expect(created.code).toBe(0);
    const key = created.stdout.trim().split('\n').at(-1)!;
    expect(key).toMatch(/^spx_[a-z0-9]{12}_/);
    const keyId = /key ([0-9a-f-]{36})/.exec(created.stdout)![1]!;

    const listed = await spx('keys', 'list', '--client', 'mis-north');
    expect(listed.stdout).toContain(keyId);
    expect(listed.stdout).toContain('active');
    expect(listed.stdout).not.toContain(secretOf(key));

    expect((await spx('keys', 'revoke', keyId)).stdout).toContain('revoked');
    expect((await spx('keys', 'list', '--client', 'mis-north')).stdout).toContain('revoked');
  });

  it('refuses bad arguments with one clear line and a non-zero exit', async () => {
    const noRole = await spx('keys', 'create', '--client', 'unknown-system');
    expect(noRole.code).toBe(2);
    expect(noRole.stderr.trim()).toMatch(/^spx: client "unknown-system" does not exist: give --role/);
    const badScope = await spx('keys', 'create', '--client', 'mis-north', '--scopes', 'clients:manage');
    expect(badScope.stderr.trim()).toMatch(/^spx: scopes not granted to role integrator: clients:manage$/);
    expect((await spx('keys', 'revoke', 'nope')).code).toBe(2);
  });

  it('verifies the audit chain', async () => {
    const verified = await spx('audit', 'verify');
    expect(verified.code).toBe(0);
    expect(verified.stdout).toMatch(/audit chain intact/);
  });

  it('stops on a bad setting with one line naming the variable', async () => {
    const { code, stderr } = await run(process.execPath, ['bin/spx.js', 'start'], {
      env: { ...env, SPX_PORT: 'eighty' },
    }).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => error,
    );
    expect(code).toBe(1);
    expect(stderr.trim()).toBe('spx: SPX_PORT: must be a whole number from 0 to 65535 (got "eighty")');
  });
});
