import type { Command } from 'commander';
import {
  DEFAULT_DUPLICATE_SHARE,
  MAX_SEED,
  RegistryNotEmptyError,
  seedRegistry,
  type SeedSummary,
} from '#registry/seed/load';
import { withDatabase } from './context.ts';
import { UsageError } from './errors.ts';

const MAX_HOUSEHOLDS = 10_000_000;

/** Seeding loads an empty registry in bulk: no admin API does it, and the gateway has the database. */
const SEED_BESIDE_GATEWAY =
  'stop it to run spx seed (or start the gateway on a new SPX_DATA_DIR: it loads SPX_DEMO_HOUSEHOLDS demo households on its first start)';

interface SeedArguments {
  households: string;
  seed: string;
  duplicates: string;
}

/** `spx seed`: load a synthetic population into an empty registry (demo, tests, benchmarks). */
export function registerSeedCommand(program: Command): void {
  program
    .command('seed')
    .description('load a synthetic population (households, persons, enrollments) into an empty registry')
    .option('--households <n>', 'households to generate (about 4.7 persons each)', '2000')
    .option('--seed <s>', 'random seed: the same seed always gives the same registry', '42')
    .option(
      '--duplicates <share>',
      'share of persons planted as duplicates, for fraud tests',
      String(DEFAULT_DUPLICATE_SHARE),
    )
    .action(async (raw: SeedArguments) => {
      const options = parseArguments(raw);
      const summary = await withDatabase(SEED_BESIDE_GATEWAY, (database) =>
        seedRegistry(database, { ...options, onProgress: progressLine() }).catch((error: unknown) => {
          throw error instanceof RegistryNotEmptyError ? new UsageError(error.message) : error;
        }),
      );
      console.log(describe(summary));
    });
}

function parseArguments(raw: SeedArguments): { households: number; seed: number; duplicateShare: number } {
  const households = Number(raw.households);
  if (!/^\d+$/.test(raw.households) || households < 1 || households > MAX_HOUSEHOLDS) {
    throw new UsageError(
      `--households must be a whole number from 1 to ${MAX_HOUSEHOLDS} (got "${raw.households}")`,
    );
  }
  const seed = Number(raw.seed);
  if (!/^\d+$/.test(raw.seed) || seed > MAX_SEED) {
    throw new UsageError(`--seed must be a whole number from 0 to ${MAX_SEED} (got "${raw.seed}")`);
  }
  const duplicateShare = Number(raw.duplicates);
  if (!/^(\d+\.?\d*|\.\d+)$/.test(raw.duplicates) || duplicateShare > 0.5) {
    throw new UsageError(
      `--duplicates must be a share from 0 to 0.5, such as 0.02 (got "${raw.duplicates}")`,
    );
  }
  return { households, seed, duplicateShare };
}

/** A progress line rewritten in place on a terminal; nothing when stderr is a file or a pipe. */
function progressLine(): ((done: number, total: number) => void) | undefined {
  if (!process.stderr.isTTY) {
    return undefined;
  }
  return (done, total) => {
    process.stderr.write(`\rseeding: ${done} of ${total} households (${Math.floor((done / total) * 100)}%)`);
    if (done === total) {
      process.stderr.write('\n');
    }
  };
}

function describe(summary: SeedSummary): string {
  return (
    `seeded ${summary.households} households, ${summary.individuals} individuals, ` +
    `${summary.identifiers} identifiers, ${summary.consents} consents, ${summary.enrollments} enrollments, ` +
    `${summary.duplicates} planted duplicates in ${(summary.tookMs / 1000).toFixed(1)} s`
  );
}
