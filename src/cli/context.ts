import { join } from 'node:path';
import { ConfigError, loadConfig } from '#config/load';
import type { Config } from '#config/settings';
import { openDatabase, type Database } from '#platform/db/database';
import { migrate } from '#platform/db/migrate';

/** Opens the configured database: PGlite under SPX_DATA_DIR, or the server of DATABASE_URL. */
export const openConfiguredDatabase = (config: Config): Promise<Database> =>
  openDatabase({
    url: config.databaseUrl,
    dataDir: join(config.dataDir, 'pglite'),
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

/** Runs a CLI command with the validated config and an open database, closing it afterwards. */
export async function withDatabase<T>(work: (database: Database, config: Config) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const database = await openMigratedDatabase(config);
  try {
    return await work(database, config);
  } finally {
    await database.close();
  }
}

/** Prints one clear line for expected failures (bad config, bad arguments) and exits non-zero. */
export function exitOnError(error: unknown): never {
  if (error instanceof ConfigError || error instanceof UsageError) {
    console.error(`spx: ${error.message}`);
    process.exit(error instanceof UsageError ? 2 : 1);
  }
  console.error(error);
  process.exit(1);
}

/** A wrong command-line argument. */
export class UsageError extends Error {
  override name = 'UsageError';
}
