import { randomBytes } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { buildApp, type AppDependencies } from '#app';
import { loadConfig } from '#config/load';
import type { Config } from '#config/settings';
import { createClient, createKey } from '#platform/auth/clients';
import type { Role } from '#platform/auth/roles';
import { KeyVault } from '#platform/crypto/key-vault';
import { masterKeyOf } from '#platform/crypto/master-key';
import type { JobKind } from '#platform/jobs/queue';
import type { TSchema } from '@sinclair/typebox';
import type { App } from '#platform/http/types';
import { createTestDatabase, type TestDatabase } from './db.ts';

/** The secret part of an API key `spx_<prefix>_<secret>` (the secret itself may contain '_'). */
export const secretOf = (key: string): string => key.split('_').slice(2).join('_');

export interface TestApp extends TestDatabase {
  app: App;
  config: Config;
  adminKey: string;
  /** The key vault of the app's master key (a random one per test file): to read our sealed keys. */
  vault: KeyVault;
  /** A new client of this role (random name) and a key for it. */
  keyFor(role: Role, scopes?: string[]): Promise<string>;
  /** GET with a key, returning the response. */
  get(url: string, key?: string, headers?: Record<string, string>): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

/** The whole gateway on a fresh database, exercised through `app.inject()` (real routes, real SQL). */
export async function createTestApp(
  overrides: Partial<Config> = {},
  jobKinds: JobKind<TSchema>[] = [],
  /** A pinned clock (rate limits, quotas, agreement dates); a logger (tests that read the logs). */
  { now, logger }: Pick<AppDependencies, 'now' | 'logger'> = {},
): Promise<TestApp> {
  const test = await createTestDatabase();
  const config: Config = {
    ...loadConfig({}),
    jobsEnabled: false,
    jobsPollSeconds: 0.5,
    // On PostgreSQL the queue lives beside this file's schema and is dropped with it.
    jobsSchema: test.url ? `${test.schema}_q` : 'spx_queue',
    databaseUrl: test.url,
    // Never a master key file in the working directory: a random key of this file's own.
    masterKey: randomBytes(32).toString('base64'),
    ...overrides,
  };
  // SPX_TEST_LOG=1 shows the gateway's error logs while debugging a test.
  const app = await buildApp({
    config,
    database: test.database,
    logger: logger ?? (process.env['SPX_TEST_LOG'] ? { level: 'error' } : false),
    jobKinds,
    now,
  });
  await app.ready();
  const db = test.database.db;
  const keyFor = async (role: Role, scopes?: string[]) => {
    const client = await createClient(db, { name: `${role}-${randomBytes(4).toString('hex')}`, role });
    return (await createKey(db, client, { scopes, expiresInDays: 1 })).key;
  };
  const adminKey = await keyFor('admin');
  return {
    ...test,
    app,
    config,
    adminKey,
    vault: new KeyVault(masterKeyOf(config.masterKey!, 'SPX_MASTER_KEY')),
    keyFor,
    get: (url, key, headers = {}) =>
      app.inject({
        method: 'GET',
        url,
        headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...headers },
      }),
    close: async () => {
      await app.close();
      await test.drop();
    },
  };
}
