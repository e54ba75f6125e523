import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spxProgram } from '#cli/program';
import { runningGateway } from '#cli/local-gateway';
import { loadConfig } from '#config/load';
import { verifyAuditChain } from '#platform/audit/audit-log';
import { LOCAL_ADMIN } from '#platform/auth/bootstrap';
import { lockFileOf } from '#platform/db/lock';
import { testDatabaseUrl } from '#test/db';
import { spawnSpx, spxWorkspace } from '#test/spx';

/**
 * `spx` beside a running gateway on the embedded database (issue "A newcomer's first hour", item 1):
 * PGlite lets one process open its directory, so every command that needs the database either goes
 * through the gateway's admin API (with the local key the gateway wrote for its owner) or is refused
 * at once. A real gateway process and real spx processes of the built CLI, one spawn per command.
 */

/** What each command does beside a running gateway (docs/cli.md says the same). */
const BESIDE_GATEWAY: Record<string, 'admin API' | 'refused' | 'no database'> = {
  start: 'refused',
  migrate: 'refused',
  seed: 'refused',
  'keys create': 'admin API',
  'keys list': 'admin API',
  'keys revoke': 'admin API',
  'audit verify': 'admin API',
  'gateway-keys list': 'admin API',
  'gateway-keys rotate': 'admin API',
  export: 'admin API',
  config: 'no database',
  'dci keygen': 'no database',
  'dci sign': 'no database',
  'dci receiver': 'no database',
  'certs ca': 'no database',
  'certs server': 'no database',
  'certs client': 'no database',
};

const pglite = !testDatabaseUrl();
if (!pglite) {
  console.warn(
    '[spx] spx beside a running gateway SKIPPED: DATABASE_URL is set, and only the embedded PGlite ' +
      'directory is locked (a PostgreSQL server is shared: spx opens it as the gateway does)',
  );
}

describe('spx commands and the data directory lock', () => {
  it('every command has a decision for when the gateway runs', () => {
    const leaves = (command: ReturnType<typeof spxProgram>, prefix = ''): string[] =>
      command.commands.flatMap((sub) =>
        sub.commands.length > 0 ? leaves(sub, `${prefix}${sub.name()} `) : [`${prefix}${sub.name()}`],
      );
    expect(leaves(spxProgram()).sort()).toEqual(Object.keys(BESIDE_GATEWAY).sort());
  });

  it('on PostgreSQL spx never looks for a gateway: the server is shared', async () => {
    const workspace = spxWorkspace();
    try {
      const config = { ...loadConfig({}), dataDir: workspace.dir };
      const holder = process.ppid; // a live process other than this one, as a gateway would be
      writeFileSync(lockFileOf(join(workspace.dir, 'pglite')), `${holder}\n`);
      writeFileSync(
        join(workspace.dir, 'gateway.local.json'),
        JSON.stringify({ pid: holder, url: 'http://127.0.0.1:1', key: 'spx_x' }),
      );
      expect(runningGateway(config)).toMatchObject({ pid: holder });
      expect(runningGateway({ ...config, databaseUrl: 'postgres://db.invalid/x' })).toBeUndefined();
    } finally {
      await workspace.remove();
    }
  });
});

describe.skipIf(!pglite)('spx beside a running gateway (embedded database)', () => {
  const workspace = spxWorkspace({ SPX_LOG_LEVEL: 'warn' });
  const spx = (...args: string[]) => workspace.run(args);
  let gateway: ChildProcess;
  let url = '';
  let adminKey = '';
  const api = async (path: string, key = adminKey, init: RequestInit = {}) => {
    const response = await fetch(`${url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const auditActions = async () =>
    ((await api('/api/v1/audit?limit=100')).body['items'] as { action: string; client_name: string }[]).map(
      (entry) => `${entry.client_name} ${entry.action}`,
    );

  beforeAll(async () => {
    gateway = spawnSpx(['start'], { SPX_DATA_DIR: workspace.dir, SPX_PORT: '0', SPX_DEMO_HOUSEHOLDS: '3' });
    let banner = '';
    gateway.stdout!.on('data', (chunk: Buffer) => (banner += chunk.toString()));
    while (!/spx_\S+/.test(banner.split('First admin API key')[1] ?? '')) {
      if (gateway.exitCode !== null) {
        throw new Error(`the gateway stopped: ${banner}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    url = /URL: +(\S+)/.exec(banner)![1]!;
    adminKey = /First admin API key[^\n]*\n\s+(spx_\S+)/.exec(banner)![1]!;
    const saved = await api('/api/v1/export-definitions', adminKey, {
      method: 'POST',
      body: JSON.stringify({ name: 'people', entity: 'individuals', fields: ['id', 'sex'], format: 'csv' }),
    });
    expect(saved.status).toBe(201);
  });

  afterAll(async () => {
    if (gateway.exitCode === null) {
      gateway.kill('SIGKILL');
    }
    await workspace.remove();
  });

  it('creates a key the gateway accepts at once, lists it and revokes it, through the admin API', async () => {
    const created = await spx('keys', 'create', '--client', 'field-app', '--role', 'field_agent');
    expect(created.code, created.stderr).toBe(0);
    const key = created.stdout.trim().split('\n').at(-1)!;
    const keyId = /key ([0-9a-f-]{36})/.exec(created.stdout)![1]!;
    expect((await api('/api/v1/households?limit=1', key)).status).toBe(200);

    const listed = await spx('keys', 'list');
    const clients = (await api('/api/v1/clients')).body['items'] as { name: string; id: string }[];
    for (const client of clients) {
      expect(listed.stdout).toContain(`${client.name} `);
    }
    expect(listed.stdout).toMatch(new RegExp(`${keyId} .* active`));

    expect((await spx('keys', 'revoke', keyId)).stdout).toContain(`key ${keyId} revoked`);
    expect((await api('/api/v1/households?limit=1', key)).status).toBe(401);
    expect(await auditActions()).toEqual(
      expect.arrayContaining([`${LOCAL_ADMIN} key.create`, `${LOCAL_ADMIN} key.revoke`]),
    );
  });

  it('verifies the audit chain, lists and rotates our keys, through the admin API', async () => {
    const rotated = await spx('gateway-keys', 'rotate', 'dci-signing', '--grace-hours', '1');
    expect(rotated.code, rotated.stderr).toBe(0);
    const kid = /^new dci-signing {2}(\S+)/.exec(rotated.stdout)![1]!;
    const [listed, verified] = await Promise.all([spx('gateway-keys', 'list'), spx('audit', 'verify')]);
    const keys = (await api('/api/v1/gateway-keys')).body['items'] as { kid: string; status: string }[];
    expect(keys).toContainEqual(expect.objectContaining({ kid, status: 'current' }));
    expect(listed.stdout).toContain(`dci-signing  ${kid}  ed25519  current`);
    expect(verified.stdout).toMatch(/^audit chain intact: \d+ entries verified/);
    expect(await auditActions()).toEqual(
      expect.arrayContaining([`${LOCAL_ADMIN} gateway_key.rotate`, `${LOCAL_ADMIN} audit.verify`]),
    );
  });

  it('writes an export the gateway streams, of a definition saved through the API', async () => {
    const out = join(workspace.dir, 'people.csv');
    const exported = await spx(
      ...['export', '--definition', 'people', '--out', out],
      ...['--purpose', 'first hour', '--legal-basis', 'public_task'],
    );
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stdout).toMatch(`through the gateway at ${url}`);
    expect(readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(1 + 11); // header, 11 people
    expect(await auditActions()).toContain(`${LOCAL_ADMIN} export.download`);
  });

  it('refuses at once, in one line, what needs the database to itself', async () => {
    const [migrate, seed, start] = await Promise.all([spx('migrate'), spx('seed'), spx('start')]);
    const running = `spx: the gateway is running on this data directory (pid ${gateway.pid}, ${url}): `;
    expect(migrate).toMatchObject({ code: 1, stderr: expect.stringMatching(`^${escape(running)}.*stop it`) });
    expect(seed).toMatchObject({ code: 1, stderr: expect.stringMatching(`^${escape(running)}stop it`) });
    expect(start).toMatchObject({ code: 1, stderr: expect.stringMatching(`^${escape(running)}.*stop it`) });
    for (const refused of [migrate, seed, start]) {
      expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    }
  });

  it('stops cleanly, and the data directory opens again with everything either process wrote', async () => {
    gateway.kill('SIGTERM');
    const [code] = (await once(gateway, 'exit')) as [number];
    expect(code).toBe(0);
    expect(existsSync(lockFileOf(join(workspace.dir, 'pglite')))).toBe(false);
    expect(existsSync(join(workspace.dir, 'gateway.local.json'))).toBe(false);

    const database = await workspace.open();
    try {
      const keys = await database.db
        .selectFrom('api_keys')
        .innerJoin('api_clients', 'api_clients.id', 'api_keys.client_id')
        .select(['api_clients.name', 'api_keys.revoked_at'])
        .where('api_clients.name', 'in', ['field-app', LOCAL_ADMIN])
        .execute();
      expect(keys.filter((k) => k.name === 'field-app')).toHaveLength(1);
      // Revoked: the one written by spx through the gateway; the local key, at shutdown.
      expect(keys.every((k) => k.revoked_at !== null)).toBe(true);
      const definition = await database.db
        .selectFrom('export_definitions')
        .select('name')
        .where('name', '=', 'people')
        .executeTakeFirst();
      expect(definition).toBeDefined();
      expect(await verifyAuditChain(database.db)).toMatchObject({ ok: true });
    } finally {
      await database.close();
    }
  });
});

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
