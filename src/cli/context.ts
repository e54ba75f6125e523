import { ConfigError, loadConfig } from '#config/load';
import type { Config } from '#config/settings';
import { openDatabase, type Database } from '#platform/db/database';
import { DataDirectoryLockedError } from '#platform/db/lock';
import { migrate } from '#platform/db/migrate';
import { CommandError } from './errors.ts';
import { gatewayApi, type GatewayApi } from './gateway-api.ts';
import { pgliteDir, runningGateway, type LocalGateway } from './local-gateway.ts';

/** Opens the configured database: PGlite under SPX_DATA_DIR, or the server of DATABASE_URL. */
export const openConfiguredDatabase = (config: Config): Promise<Database> =>
  openDatabase({
    url: config.databaseUrl,
    dataDir: pgliteDir(config),
    schema: config.databaseSchema,
    poolSize: config.databasePoolSize,
  });

/** Opens the configured database and applies pending migrations. */
export async function openMigratedDatabase(config: Config): Promise<Database> {
  const database = await openConfiguredDatabase(config);
  try {
    await migrate(database);
  } catch (error) {
    await database.close();
    throw error;
  }
  return database;
}

/**
 * Refuses at once a command that needs the database to itself while the gateway has the PGlite
 * directory open; `advice` says what to do instead.
 */
export function refuseBesideGateway(config: Config, advice: string): void {
  const gateway = runningGateway(config);
  if (gateway) {
    throw besideGateway(gateway, advice);
  }
}

/** The one line that refuses something while the gateway has the database open. */
export const besideGateway = (gateway: LocalGateway, advice: string): CommandError =>
  new CommandError(
    `the gateway is running on this data directory (pid ${gateway.pid}, ${gateway.url}): ${advice}`,
  );

/**
 * Runs a command that has no admin API equivalent with the validated config and an open database,
 * closing it afterwards; refused beside a running gateway (see refuseBesideGateway).
 */
export async function withDatabase<T>(
  besideGateway: string,
  work: (database: Database, config: Config) => Promise<T>,
): Promise<T> {
  const config = loadConfig();
  refuseBesideGateway(config, besideGateway);
  return onDatabase(config, work);
}

/**
 * Runs a command on the database or, while the gateway has the PGlite directory open (one process
 * at a time), through the gateway's admin API with the local key it wrote for its owner. On
 * PostgreSQL (shared by any number of processes) always on the database.
 */
export async function withDatabaseOrGateway<T>(work: {
  database: (database: Database, config: Config) => Promise<T>;
  gateway: (api: GatewayApi, config: Config) => Promise<T>;
}): Promise<T> {
  const config = loadConfig();
  const gateway = runningGateway(config);
  return gateway ? work.gateway(gatewayApi(gateway), config) : onDatabase(config, work.database);
}

async function onDatabase<T>(config: Config, work: (database: Database, config: Config) => Promise<T>) {
  const database = await openMigratedDatabase(config);
  try {
    return await work(database, config);
  } finally {
    await database.close();
  }
}

/** Prints one clear line for expected failures (bad config, bad arguments, a busy database) and exits. */
export function exitOnError(error: unknown): never {
  if (error instanceof CommandError) {
    console.error(`spx: ${error.message}`);
    process.exit(error.exitCode);
  }
  if (error instanceof ConfigError || error instanceof DataDirectoryLockedError) {
    console.error(`spx: ${error.message}`);
    process.exit(1);
  }
  console.error(error);
  process.exit(1);
}
