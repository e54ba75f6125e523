/**
 * The gateway every benchmark of a run measures: the real app (buildApp, as `spx start` builds it)
 * listening on a port, on a demo registry of the requested size, and removed afterwards: its data
 * directory, and on PostgreSQL its schemas (the server may be shared, e.g. the test database).
 *
 * Its Kysely instance carries a statement tap (sql-tap.ts), so that a benchmark can show which SQL
 * one request runs. Idle, the tap costs one function call and one resolved promise per statement.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '#app';
import { openMigratedDatabase } from '#cli/context';
import { loadConfig } from '#config/load';
import { createClient, createKey } from '#platform/auth/clients';
import { principalFor } from '#platform/auth/principal';
import type { Role } from '#platform/auth/roles';
import type { Database } from '#platform/db/database';
import type { App } from '#platform/http/types';
import { isRegistryEmpty, seedRegistry } from '#registry/seed/load';
import type { Arrivals } from './open-loop.ts';
import { StatementTap } from './sql-tap.ts';
import { TRUSTED_CALLER_HEADER, trustedCallers } from './trusted-callers.ts';

export interface BenchSettings {
  households: number;
  seconds: number;
  /** Seconds of load before each measured run, not counted. */
  warmupSeconds: number;
  /** Connections of the load generator (loops of in-process baselines); undefined: each benchmark's own. */
  connections: number | undefined;
  /**
   * Rounds of baseline then measurement (DCI search): on a machine whose speed drifts from one
   * minute to the next, a ratio is taken within each round and the median reported.
   */
  rounds: number;
  /**
   * Seconds of load on the DCI path before its first round, not counted: V8 is still compiling the
   * path's code after a warm-up of 10 s, which made the first round the slowest.
   */
  primeSeconds: number;
  /** Arrivals of the open-loop runs (dci-latency.ts): Poisson, or evenly spaced. */
  arrivals: Arrivals;
  /** The DCI searches to run (`lookup`, `expression`); undefined: both. */
  dciSearches?: string[] | undefined;
  databaseUrl?: string | undefined;
}

export interface BenchGateway {
  app: App;
  url: string;
  database: Database;
  /** Records the statements the gateway runs while a function runs. */
  tap: StatementTap;
  /** A scratch directory for files handed to the load generator; removed by close(). */
  dir: string;
  /** A new client of this role and a key for it. */
  keyFor(role: Role, name: string): Promise<string>;
  /** A new client of this role and the header value that lets a request act as it, with no credential. */
  trustedCaller(role: Role, name: string): Promise<{ clientId: string; header: Record<string, string> }>;
  close(): Promise<void>;
}

/** Seed (DEMO_SEED default) of the demo registry: the same records in every run of a given size. */
export async function startBenchGateway(settings: BenchSettings): Promise<BenchGateway> {
  const dir = mkdtempSync(join(tmpdir(), 'spx-bench-'));
  const schema = `bench_${process.pid}`;
  const config = {
    ...loadConfig({}),
    dataDir: dir,
    port: 0,
    host: '127.0.0.1',
    logLevel: 'warn' as const,
    databaseUrl: settings.databaseUrl,
    databaseSchema: settings.databaseUrl ? schema : 'public',
    jobsSchema: `${schema}_q`,
    jobsEnabled: false,
  };
  const started = performance.now();
  const database = await openMigratedDatabase(config);
  const removeAll = async () => {
    try {
      if (settings.databaseUrl) {
        await database.executeSql(
          `drop schema if exists ${schema} cascade; drop schema if exists ${schema}_q cascade`,
        );
      }
    } finally {
      await database.close();
      rmSync(dir, { recursive: true, force: true });
    }
  };
  try {
    if (await isRegistryEmpty(database)) {
      await seedRegistry(database, { households: settings.households, seed: config.demoSeed });
    }
    const tap = new StatementTap(database.db);
    const trusted = trustedCallers();
    const app = await buildApp({
      config,
      database: { ...database, db: tap.db },
      authenticators: [trusted.authenticator],
    });
    const url = await app.listen({ host: config.host, port: 0 });
    console.error(
      `registry of ${settings.households} households ready in ${((performance.now() - started) / 1000).toFixed(1)} s (${database.engine})`,
    );
    return {
      app,
      url,
      database,
      tap,
      dir,
      keyFor: async (role, name) => {
        const client = await createClient(database.db, { name, role });
        return (await createKey(database.db, client, { expiresInDays: 1 })).key;
      },
      trustedCaller: async (role, name) => {
        const client = await createClient(database.db, { name, role });
        const key = await createKey(database.db, client, { expiresInDays: 1 });
        const token = trusted.admit(principalFor(client, key));
        return { clientId: client.id, header: { [TRUSTED_CALLER_HEADER]: token } };
      },
      close: async () => {
        try {
          await tap.quiet();
          await app.close();
        } finally {
          await removeAll();
        }
      },
    };
  } catch (error) {
    await removeAll();
    throw error;
  }
}
