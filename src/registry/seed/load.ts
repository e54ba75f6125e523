/**
 * Loads a synthetic population into an empty registry with COPY, in one transaction: the registry gets
 * the whole population or nothing. A worker thread generates the next batch while this one is copied,
 * so memory holds two batches, whatever the size.
 */
import type { Database } from '#platform/db/database';
import { BATCH_COLUMNS, BATCH_TABLES, type BatchTable, referenceCsv } from './generator.ts';
import { buildGeography } from './geography.ts';
import { batchesFromWorker } from './parallel.ts';
import { PROGRAMS } from './programs.ts';
import * as tables from './tables.ts';

export interface SeedOptions {
  households: number;
  /** Same seed, same registry (ids included). 0 to 2^31 - 1: it is kept in seed_runs.seed (integer). */
  seed: number;
  /** Share of persons that are planted duplicates; default 0.02. */
  duplicateShare?: number;
  /** Households generated and copied at a time; the default suits both engines. */
  batchSize?: number;
  /** Called after each batch is copied, with households done and the total. */
  onProgress?: (done: number, total: number) => void;
}

export interface SeedSummary {
  households: number;
  individuals: number;
  identifiers: number;
  consents: number;
  enrollments: number;
  duplicates: number;
  tookMs: number;
}

export const DEFAULT_DUPLICATE_SHARE = 0.02;
/** Large enough that per-COPY overhead vanishes, small enough to keep a batch within ~100 MB of strings. */
const DEFAULT_BATCH_SIZE = 20_000;
export const MAX_SEED = 2 ** 31 - 1;

/** Raised when the registry already holds data a seed would collide with. */
export class RegistryNotEmptyError extends Error {
  override name = 'RegistryNotEmptyError';
}

/** Whether the registry has no household yet (the demo start seeds only then). */
export async function isRegistryEmpty(database: Database): Promise<boolean> {
  const row = await database.db.selectFrom('households').select('id').limit(1).executeTakeFirst();
  return row === undefined;
}

/** Generates a synthetic population and loads it into an empty registry; returns what was loaded. */
export async function seedRegistry(database: Database, options: SeedOptions): Promise<SeedSummary> {
  const {
    households,
    seed,
    duplicateShare = DEFAULT_DUPLICATE_SHARE,
    batchSize = DEFAULT_BATCH_SIZE,
  } = options;
  checkOptions(households, seed, duplicateShare, batchSize);
  await refuseUnlessEmpty(database);
  const started = performance.now();
  const geography = buildGeography(seed, households);
  const reference = referenceCsv(geography);
  const totals = Object.fromEntries(BATCH_TABLES.map((table) => [table, 0])) as Record<BatchTable, number>;
  await database.bulkLoad(async (copy) => {
    await copy('admin_areas', tables.adminAreas.columns, [reference.admin_areas]);
    await copy('programs', tables.programs.columns, [reference.programs]);
    for await (const batch of batchesFromWorker({ households, seed, duplicateShare }, batchSize)) {
      for (const table of BATCH_TABLES) {
        if (batch.counts[table] > 0) {
          await copy(table, BATCH_COLUMNS[table], [batch.csv[table]]);
          totals[table] += batch.counts[table];
        }
      }
      options.onProgress?.(totals.households, households);
    }
    // Recorded in the same transaction: a seed_runs row means the population is there in full.
    const run = { seed, households, individuals: totals.individuals, tookMs: performance.now() - started };
    await copy('seed_runs', tables.seedRuns.columns, [tables.seedRuns.line(run)]);
  });
  // Planner statistics for the loaded tables: PGlite never gathers them by itself, and without them
  // PostgreSQL plans a page of members as a sequential scan (283 ms instead of 14 ms at 20k households).
  await database.executeSql(`analyze admin_areas, programs, ${BATCH_TABLES.join(', ')}`);
  return {
    households: totals.households,
    individuals: totals.individuals,
    identifiers: totals.identifiers,
    consents: totals.consents,
    enrollments: totals.enrollments,
    duplicates: totals.seed_planted_duplicates,
    tookMs: Math.round(performance.now() - started),
  };
}

function checkOptions(households: number, seed: number, duplicateShare: number, batchSize: number) {
  if (!Number.isInteger(households) || households < 1) {
    throw new RangeError(`households must be a whole number of at least 1 (got ${households})`);
  }
  if (!Number.isInteger(seed) || seed < 0 || seed > MAX_SEED) {
    throw new RangeError(`seed must be a whole number from 0 to ${MAX_SEED} (got ${seed})`);
  }
  if (!(duplicateShare >= 0 && duplicateShare <= 0.5)) {
    throw new RangeError(`duplicate share must be between 0 and 0.5 (got ${duplicateShare})`);
  }
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`batch size must be a whole number of at least 1 (got ${batchSize})`);
  }
}

/**
 * A seed adds a whole registry: onto existing households it would mix two populations, and existing
 * areas or programmes would collide with its codes. Refusing up front beats a unique-key error from COPY.
 */
async function refuseUnlessEmpty(database: Database) {
  if (!(await isRegistryEmpty(database))) {
    throw new RegistryNotEmptyError('the registry already holds households: seeding needs an empty registry');
  }
  const db = database.db;
  const area = await db.selectFrom('admin_areas').select('code').limit(1).executeTakeFirst();
  const codes = PROGRAMS.map((program) => program.code);
  const program = await db
    .selectFrom('programs')
    .select('code')
    .where('code', 'in', codes)
    .executeTakeFirst();
  if (area || program) {
    const what = area ? `admin area ${area.code}` : `programme ${program!.code}`;
    throw new RegistryNotEmptyError(`the registry already holds ${what}: seeding needs an empty registry`);
  }
}
