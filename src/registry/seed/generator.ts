/**
 * The synthetic population as CSV, batch by batch: memory holds one batch of households with their
 * members, identifiers and enrollments, never the whole registry. The households are drawn one after
 * another from one seeded stream, so the batch size changes how rows are grouped, never the rows.
 */
import { consentsOf } from './consents.ts';
import { DuplicatePlanter } from './duplicates.ts';
import { Enroller } from './enrollments.ts';
import type { Geography } from './geography.ts';
import { generateHousehold } from './households.ts';
import { generateMembers } from './members.ts';
import { NumberSource } from './numbers.ts';
import { PROGRAMS } from './programs.ts';
import { Rng } from './random.ts';
import * as csv from './tables.ts';

export interface PopulationOptions {
  households: number;
  seed: number;
  /** Share of all persons that are planted duplicates (0 to under 1). */
  duplicateShare: number;
}

/** Tables filled batch by batch, in foreign-key order (a row's references are loaded before it). */
export const BATCH_TABLES = [
  'households',
  'individuals',
  'identifiers',
  'consents',
  'enrollments',
  'enrollment_status_history',
  'seed_planted_duplicates',
] as const;

export type BatchTable = (typeof BATCH_TABLES)[number];

/** The COPY column list of each batch table. */
export const BATCH_COLUMNS: Record<BatchTable, readonly string[]> = {
  households: csv.households.columns,
  individuals: csv.individuals.columns,
  identifiers: csv.identifiers.columns,
  consents: csv.consents.columns,
  enrollments: csv.enrollments.columns,
  enrollment_status_history: csv.statusHistory.columns,
  seed_planted_duplicates: csv.plantedDuplicates.columns,
};

export interface Batch {
  /** CSV text per table. */
  csv: Record<BatchTable, string>;
  counts: Record<BatchTable, number>;
}

/** The reference rows (areas, programmes) as CSV; they precede every batch. */
export function referenceCsv(geography: Geography): { admin_areas: string; programs: string } {
  return {
    admin_areas: geography.areas.map(csv.adminAreas.line).join(''),
    programs: PROGRAMS.map(csv.programs.line).join(''),
  };
}

/** Generates the households of a seed in batches of `batchSize`, each as CSV per table. */
export function* generateBatches(
  options: PopulationOptions,
  geography: Geography,
  batchSize: number,
): Generator<Batch> {
  const rng = new Rng(options.seed, 2);
  const numbers = new NumberSource(new Rng(options.seed, 3));
  // A stream of its own: consents came later, and the other tables' rows stay what they were.
  const consentRng = new Rng(options.seed, 4);
  const planter = new DuplicatePlanter(options.duplicateShare);
  const enroller = new Enroller();
  for (let start = 0; start < options.households; start += batchSize) {
    const batch = new BatchBuilder();
    const end = Math.min(options.households, start + batchSize);
    for (let index = start; index < end; index++) {
      const household = generateHousehold(rng, index + 1, geography.villageWeights.draw(rng));
      const members = generateMembers(rng, household, numbers);
      const [duplicates, planted] = planter.plant(rng, household, members);
      const persons = duplicates.length > 0 ? [...members, ...duplicates] : members;
      batch.add('households', csv.households.line(household));
      for (const person of persons) {
        batch.add('individuals', csv.individuals.line(person));
        batch.add('identifiers', csv.identifierLines(person), person.identifiers.length);
        const consents = consentsOf(consentRng, person);
        batch.add('consents', consents.map(csv.consents.line).join(''), consents.length);
      }
      for (const enrollment of enroller.enroll(rng, household, persons)) {
        batch.add('enrollments', csv.enrollments.line(enrollment));
        batch.add('enrollment_status_history', csv.historyLines(enrollment), enrollment.changes.length);
      }
      for (const pair of planted) {
        batch.add('seed_planted_duplicates', csv.plantedDuplicates.line(pair));
      }
    }
    yield batch.build();
  }
}

/** Collects CSV lines per table and counts the rows they hold. */
class BatchBuilder {
  readonly #lines = perTable<string[]>(() => []);
  readonly #counts = perTable(() => 0);

  add(table: BatchTable, lines: string, rows = 1) {
    if (rows > 0) {
      this.#lines[table].push(lines);
      this.#counts[table] += rows;
    }
  }

  build(): Batch {
    const text = perTable(() => '');
    for (const table of BATCH_TABLES) {
      text[table] = this.#lines[table].join('');
    }
    return { csv: text, counts: this.#counts };
  }
}

function perTable<T>(make: () => T): Record<BatchTable, T> {
  return Object.fromEntries(BATCH_TABLES.map((table) => [table, make()])) as Record<BatchTable, T>;
}
