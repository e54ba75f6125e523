import type { AddressInfo } from 'node:net';
import { buildApp } from '#app';
import { openMigratedDatabase } from '#cli/context';
import { localUrlOf, removeLocalGateway, writeLocalGateway } from '#cli/local-gateway';
import type { Config } from '#config/settings';
import { bootstrapFirstAdmin, revokeLocalAdminKeys, rotateLocalAdminKey } from '#platform/auth/bootstrap';
import type { Database } from '#platform/db/database';
import type { App } from '#platform/http/types';
import { isRegistryEmpty, seedRegistry } from '#registry/seed/load';

export interface RunningGateway {
  app: App;
  database: Database;
  url: string;
  /** The mutual-TLS listener's URL when SPX_TLS_PORT is set. */
  tlsUrl: string | undefined;
  /** The first admin's key when this start created it (shown once), else undefined. */
  firstAdminKey: string | undefined;
  /** Stops accepting requests, lets in-flight ones finish, then closes the database. */
  shutdown(): Promise<void>;
}

export interface StartOptions {
  /** Adds routes or hooks before listening (tests use it). */
  extend?: (app: App) => void;
  /** Print the start banner (the CLI does; tests do not). */
  announce?: boolean;
}

/** Start: open and migrate the database, load demo data on first start, build the app, listen. */
export async function startGateway(config: Config, options: StartOptions = {}): Promise<RunningGateway> {
  const database = await openMigratedDatabase(config);
  let app: App | undefined;
  try {
    const demo = await loadDemoDataOnFirstStart(database, config, options.announce ?? false);
    const firstAdminKey = await bootstrapFirstAdmin(database.db, config.apiKeyTtlDays);
    app = await buildApp({ config, database });
    options.extend?.(app);
    const address = await app.listen({ host: config.host, port: config.port });
    const url = config.publicUrl ?? address.replace('[::1]', 'localhost');
    const tlsUrl = await app.tlsListener?.listen();
    await writeLocalCredential(app, database, config);
    if (options.announce) {
      announce({ url, tlsUrl, database, config, demo, firstAdminKey });
    }
    return { app, database, url, tlsUrl, firstAdminKey, shutdown: shutdownOnce(app, database, config) };
  } catch (error) {
    // The database is closed also on a failed start: it gives back the data directory's lock.
    await app?.close();
    await database.close();
    throw error;
  }
}

/** Stops accepting requests, lets in-flight ones finish, then closes the database (once). */
function shutdownOnce(app: App, database: Database, config: Config): () => Promise<void> {
  let closing: Promise<void> | undefined;
  return () =>
    (closing ??= (async () => {
      removeLocalGateway(config);
      try {
        await app.close(); // stops accepting (both listeners); waits for in-flight requests (Fastify close semantics)
        if (database.engine === 'pglite') {
          await revokeLocalAdminKeys(database.db);
        }
      } finally {
        await database.close(); // also gives back the data directory's lock
      }
    })());
}

/**
 * On PGlite the gateway is the only process that may open the database: it leaves its `spx`
 * commands a local key to reach it through the admin API (src/cli/local-gateway.ts). A PostgreSQL
 * server is shared, and spx opens it as the gateway does.
 */
async function writeLocalCredential(app: App, database: Database, config: Config): Promise<void> {
  if (database.engine !== 'pglite') {
    return;
  }
  const key = await rotateLocalAdminKey(database.db, config.apiKeyTtlDays);
  if (key) {
    writeLocalGateway(config, localUrlOf(app.server.address() as AddressInfo), key);
  }
}

/** SIGTERM/SIGINT: finish what is in flight, within the configured time, then exit. */
export function exitGracefullyOnSignals(gateway: RunningGateway, timeoutMs: number): void {
  const onSignal = (signal: NodeJS.Signals) => {
    gateway.app.log.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      gateway.app.log.error('shutdown timed out; exiting with work unfinished');
      process.exit(1);
    }, timeoutMs);
    force.unref();
    gateway.shutdown().then(
      () => process.exit(0),
      (error: unknown) => {
        gateway.app.log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}

async function loadDemoDataOnFirstStart(database: Database, config: Config, verbose: boolean) {
  if (config.demoHouseholds === 0 || !(await isRegistryEmpty(database))) {
    return undefined;
  }
  if (verbose) {
    console.log(
      `Loading a demo registry (${config.demoHouseholds} synthetic households, seed ${config.demoSeed})...`,
    );
  }
  return seedRegistry(database, { households: config.demoHouseholds, seed: config.demoSeed });
}

function announce(facts: {
  url: string;
  tlsUrl: string | undefined;
  database: Database;
  config: Config;
  demo: { households: number; individuals: number } | undefined;
  firstAdminKey: string | undefined;
}): void {
  const { url, tlsUrl, database, config, demo, firstAdminKey } = facts;
  const where =
    database.engine === 'pglite'
      ? `PGlite (embedded) in ${config.dataDir}/pglite`
      : `PostgreSQL ${new URL(config.databaseUrl!).host}, schema ${database.schema}`;
  const lines = [
    '',
    'SP Exchange is running',
    `  URL:       ${url}`,
    `  API docs:  ${url}/docs   (OpenAPI: ${url}/openapi.json)`,
    `  Console:   ${url}/console/   (sign in with an API key)`,
    ...(tlsUrl ? [`  mTLS URL:  ${tlsUrl}   (client certificates of ${config.tlsClientCa})`] : []),
    `  Database:  ${where}`,
  ];
  if (demo) {
    lines.push(`  Demo data: ${demo.households} households, ${demo.individuals} individuals loaded`);
  }
  if (firstAdminKey) {
    lines.push(
      '',
      '  First admin API key (shown only now; only its hash is stored):',
      `    ${firstAdminKey}`,
      '',
      `  Try: curl -H "Authorization: Bearer ${firstAdminKey}" "${url}/api/v1/households?limit=2"`,
    );
  } else {
    lines.push('', '  Admin keys: create one with `npx spx keys create --client NAME --role admin`.');
  }
  console.log(lines.join('\n') + '\n');
}
