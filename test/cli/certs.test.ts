import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '#config/load';
import type { Config } from '#config/settings';
import { openDatabase } from '#platform/db/database';
import { startGateway } from '#cli/gateway';
import { testDatabaseUrl } from '#test/db';
import { runSpx } from '#test/spx';
import { httpsCall } from '#test/tls';

/**
 * `spx certs` as an operator runs it, and a gateway started with the files it wrote. Each test runs
 * real spx processes (5–10 s each on a loaded 2-core machine): more than the suite's default time.
 */
describe('spx certs and the mutual-TLS listener of a started gateway', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'spx-certs-'));
  const pki = join(dir, 'pki');
  const url = testDatabaseUrl();
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const database = url ? { DATABASE_URL: url, SPX_DB_SCHEMA: schema } : {};
  let thumbprint = '';

  const spx = (args: string[], env: Record<string, string> = {}) =>
    runSpx(args, { SPX_DATA_DIR: join(dir, 'data'), ...database, ...env });
  const tlsFiles = {
    tlsCert: join(pki, 'server.crt'),
    tlsKey: join(pki, 'server.key'),
    tlsClientCa: join(pki, 'ca.crt'),
  };

  afterAll(async () => {
    if (url) {
      const db = await openDatabase({ url, schema });
      await db.executeSql(
        ['', '_q', '_f'].map((suffix) => `drop schema if exists ${schema}${suffix} cascade`).join('; '),
      );
      await db.close();
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes a CA, a server and a client certificate, keys readable by their owner only', async () => {
    const ca = await spx(['certs', 'ca', '--out', pki]);
    expect(ca).toMatchObject({
      code: 0,
      stdout: expect.stringContaining(`SPX_TLS_CLIENT_CA=${tlsFiles.tlsClientCa}`),
    });
    const server = await spx(['certs', 'server', '--ca', pki, '--out', pki, '--host', '127.0.0.1,localhost']);
    expect(server.stdout).toContain(`SPX_TLS_CERT=${tlsFiles.tlsCert} SPX_TLS_KEY=${tlsFiles.tlsKey}`);
    const client = await spx(['certs', 'client', '--ca', pki, '--name', 'mis north', '--out', pki]);
    expect(client.code).toBe(0);
    thumbprint = /Thumbprint \(x5t#S256\): (\S+)/.exec(client.stdout)![1]!;
    expect(client.stdout).toContain(`-d '{"thumbprint": "${thumbprint}"}'`);
    for (const key of ['ca.key', 'server.key', 'mis-north.key']) {
      expect(statSync(join(pki, key)).mode & 0o777).toBe(0o600);
    }
  });

  it('never replaces files without --force, and names a wrong argument in one line', async () => {
    const again = await spx(['certs', 'ca', '--out', pki]);
    expect(again.code).toBe(2);
    expect(again.stderr.trim()).toBe(`spx: ${join(pki, 'ca.key')} exists: pass --force to replace it`);
    const other = join(dir, 'other');
    expect((await spx(['certs', 'ca', '--out', other])).code).toBe(0);
    expect((await spx(['certs', 'ca', '--out', other, '--force'])).code).toBe(0);
    expect((await spx(['certs', 'ca', '--out', other, '--days', '0'])).stderr.trim()).toBe(
      'spx: --days must be a whole number from 1 to 3650',
    );
    const noCa = await spx(['certs', 'client', '--ca', join(dir, 'nowhere'), '--name', 'x1', '--out', other]);
    expect(noCa.code).toBe(2);
    expect(noCa.stderr).toContain('no CA in');
  });

  it('stops `spx start` with one line naming a TLS file it cannot read', async () => {
    const start = await spx(['start'], {
      SPX_PORT: '0',
      SPX_DEMO_HOUSEHOLDS: '0',
      SPX_TLS_PORT: '0',
      SPX_TLS_CERT: join(dir, 'missing.crt'),
      SPX_TLS_KEY: tlsFiles.tlsKey,
      SPX_TLS_CLIENT_CA: tlsFiles.tlsClientCa,
      // A database of its own: the start below must be the first on its database.
      SPX_DATA_DIR: join(dir, 'failed'),
      ...(url ? { SPX_DB_SCHEMA: `${schema}_f` } : {}),
    });
    expect(start.code).toBe(1);
    expect(start.stderr.trim()).toBe(`spx: SPX_TLS_CERT: cannot read ${join(dir, 'missing.crt')} (ENOENT)`);
  });

  it('serves both listeners; the CLI certificate, registered by its thumbprint, is accepted; shutdown closes both', async () => {
    const config: Config = {
      ...loadConfig({}),
      port: 0,
      dataDir: join(dir, 'data'),
      databaseUrl: url,
      databaseSchema: url ? schema : 'public',
      jobsSchema: `${schema}_q`,
      demoHouseholds: 0,
      logLevel: 'silent',
      tlsPort: 0,
      tlsHost: '127.0.0.1',
      ...tlsFiles,
    };
    const gateway = await startGateway(config);
    const admin = { authorization: `Bearer ${gateway.firstAdminKey}`, 'content-type': 'application/json' };
    const client = await fetch(`${gateway.url}/api/v1/clients`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ name: 'mis north', role: 'integrator' }),
    });
    const { id } = (await client.json()) as { id: string };
    const registered = await fetch(`${gateway.url}/api/v1/clients/${id}/certificates`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ thumbprint }),
    });
    expect(registered.status).toBe(201);

    expect(gateway.tlsUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const options = {
      serverCa: readFileSync(tlsFiles.tlsClientCa, 'utf8'),
      certificate: {
        certificatePem: readFileSync(join(pki, 'mis-north.crt'), 'utf8'),
        keyPem: readFileSync(join(pki, 'mis-north.key'), 'utf8'),
      },
    };
    expect((await httpsCall(`${gateway.tlsUrl}/api/v1/programs`, options)).status).toBe(200);
    expect((await fetch(`${gateway.url}/health`)).status).toBe(200);

    await gateway.shutdown();
    await expect(httpsCall(`${gateway.tlsUrl}/health`, options)).rejects.toThrow(/ECONNREFUSED/);
    await expect(fetch(`${gateway.url}/health`)).rejects.toThrow();
  });
});
