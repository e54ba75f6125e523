import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import type { Config } from '#config/settings';
import { seedRegistry } from '#registry/seed/load';
import { createTestApp, type TestApp } from '#test/app';

/** The export tests' gateway: a seeded demo registry, and a data directory of the file's own. */
export interface ExportTestApp extends TestApp {
  dataDir: string;
  /** Saves a definition (as admin unless a key is given), expecting it to be accepted. */
  define(definition: Record<string, unknown>, key?: string): Promise<Record<string, unknown>>;
  /** Downloads an export; query parameters beyond the legal basis as given. */
  download(name: string, query?: Record<string, string>, key?: string): Promise<LightMyRequestResponse>;
  send(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    url: string,
    payload?: unknown,
    key?: string,
  ): Promise<LightMyRequestResponse>;
}

export async function createExportTestApp(
  households = 60,
  overrides: Partial<Config> = {},
): Promise<ExportTestApp> {
  const dataDir = mkdtempSync(join(tmpdir(), 'spx-exports-'));
  const t = await createTestApp({ dataDir, ...overrides });
  await seedRegistry(t.database, { households, seed: 11 });
  const send: ExportTestApp['send'] = (method, url, payload, key = t.adminKey) =>
    t.app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${key}` },
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
  return {
    ...t,
    dataDir,
    send,
    async define(definition, key) {
      const res = await send('POST', '/api/v1/export-definitions', definition, key);
      expect(res.statusCode, res.body).toBe(201);
      return res.json();
    },
    download(name, query = {}, key = t.adminKey) {
      const params = new URLSearchParams({ legal_basis: 'public_task', purpose: 'test', ...query });
      return t.get(`/api/v1/export-definitions/${name}/data?${params}`, key);
    },
    async close() {
      await t.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
