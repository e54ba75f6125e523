import { afterAll, describe, expect, it } from 'vitest';
import { secretOf } from '#test/app';
import { spxWorkspace } from '#test/spx';

/**
 * The `spx` command as an operator runs it: a real process on a real database directory or schema.
 * A test runs up to four of them one after the other, each loading the sources through tsx and
 * opening PGlite (5–10 s each on a loaded 2-core machine), hence more time than the suite's default.
 */
describe('spx command', { timeout: 120_000 }, () => {
  const workspace = spxWorkspace();
  const spx = (...args: string[]) => workspace.run(args);
  afterAll(() => workspace.remove());

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
    const { code, stderr } = await workspace.run(['start'], { SPX_PORT: 'eighty' });
    expect(code).toBe(1);
    expect(stderr.trim()).toBe('spx: SPX_PORT: must be a whole number from 0 to 65535 (got "eighty")');
  });
});
