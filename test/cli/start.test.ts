import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '#config/load';
import type { Config } from '#config/settings';
import { openDatabase } from '#platform/db/database';
import { startGateway } from '#cli/gateway';
import { testDatabaseUrl } from '#test/db';

/** The gateway as `npm start` runs it: real port, real database directory or schema, demo data. */
describe('gateway start and shutdown', () => {
  const dir = mkdtempSync(join(tmpdir(), 'spx-start-'));
  const url = testDatabaseUrl();
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const config: Config = {
    ...loadConfig({}),
    port: 0,
    dataDir: dir,
    databaseUrl: url,
    databaseSchema: url ? schema : 'public',
    jobsSchema: `${schema}_q`,
    demoHouseholds: 30,
    logLevel: 'silent',
  };

  afterAll(async () => {
    if (url) {
      const database = await openDatabase({ url, schema });
      await database.executeSql(
        `drop schema if exists ${schema} cascade; drop schema if exists ${schema}_q cascade`,
      );
      await database.close();
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('loads demo data, creates a first admin key once, serves health, docs and authenticated reads', async () => {
    const gateway = await startGateway(config);
    try {
      expect(gateway.firstAdminKey).toMatch(/^spx_/);
      const health = await fetch(`${gateway.url}/health`);
      expect(health.status).toBe(200);
      expect((await fetch(`${gateway.url}/docs/`)).status).toBe(200);
      const households = await fetch(`${gateway.url}/api/v1/households?limit=100`, {
        headers: { authorization: `Bearer ${gateway.firstAdminKey}` },
      });
      expect(households.status).toBe(200);
      expect(((await households.json()) as { items: unknown[] }).items).toHaveLength(30);
      expect((await fetch(`${gateway.url}/api/v1/households`)).status).toBe(401);
    } finally {
      await gateway.shutdown();
    }
  });

  it('on the next start keeps the data, loads no second demo and prints no new key', async () => {
    const gateway = await startGateway(config);
    try {
      expect(gateway.firstAdminKey).toBeUndefined();
      const { rows } = await gateway.database.executeSql<{ n: number }>(
        'select count(*)::int as n from households',
      );
      expect(rows[0]!.n).toBe(30);
    } finally {
      await gateway.shutdown();
    }
  });

  it('lets an in-flight request finish on shutdown, then refuses new connections', async () => {
    let finished = false;
    let arrived!: () => void;
    const reached = new Promise<void>((resolve) => (arrived = resolve));
    const gateway = await startGateway(config, {
      extend: (app) =>
        app.get('/test/slow', { config: { access: { public: true } } }, async () => {
          arrived();
          await new Promise((resolve) => setTimeout(resolve, 400));
          finished = true;
          return { done: true };
        }),
    });
    const inFlight = fetch(`${gateway.url}/test/slow`);
    // Shut down once the request is being handled (a fixed delay lost the race on a loaded machine).
    await reached;
    await gateway.shutdown();
    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(finished).toBe(true);
    await expect(fetch(`${gateway.url}/health`)).rejects.toThrow();
  });
});
