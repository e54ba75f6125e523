import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { csvArray, csvJson, csvText } from './csv.ts';
import { typo } from './duplicates.ts';
import { BATCH_TABLES, generateBatches, type PopulationOptions, referenceCsv } from './generator.ts';
import { buildGeography } from './geography.ts';
import { Rng } from './random.ts';

/** A digest of everything a seed generates, table by table, in load order. */
function digest(options: PopulationOptions, batchSize: number): string {
  const geography = buildGeography(options.seed, options.households);
  const hash = createHash('sha256');
  const reference = referenceCsv(geography);
  hash.update(reference.admin_areas).update(reference.programs);
  const tables = Object.fromEntries(BATCH_TABLES.map((table) => [table, createHash('sha256')]));
  for (const batch of generateBatches(options, geography, batchSize)) {
    for (const table of BATCH_TABLES) {
      tables[table]!.update(batch.csv[table]);
    }
  }
  for (const table of BATCH_TABLES) {
    hash.update(tables[table]!.digest('hex'));
  }
  return hash.digest('hex');
}

describe('the population generator', () => {
  const options = { households: 600, seed: 2024, duplicateShare: 0.02 };

  it('generates byte-identical data for a seed, whatever the batch size', () => {
    expect(digest(options, 600)).toBe(digest(options, 600));
    expect(digest(options, 77)).toBe(digest(options, 600));
  });

  it('generates other data for another seed', () => {
    expect(digest({ ...options, seed: 2025 }, 600)).not.toBe(digest(options, 600));
  });

  it('plants no duplicates when the share is 0', () => {
    const geography = buildGeography(1, 300);
    const [batch] = [...generateBatches({ households: 300, seed: 1, duplicateShare: 0 }, geography, 300)];
    expect(batch!.counts.seed_planted_duplicates).toBe(0);
    expect(batch!.csv.seed_planted_duplicates).toBe('');
  });
});

describe('CSV fields for COPY', () => {
  it('quote text with commas, quotes or line breaks and tell NULL from the empty string', () => {
    expect(csvText(null)).toBe('');
    expect(csvText('')).toBe('""');
    expect(csvText('Amina')).toBe('Amina');
    expect(csvText('Plot 4, Mtaa wa Amani')).toBe('"Plot 4, Mtaa wa Amani"');
    expect(csvText('say "hi"\nbye')).toBe('"say ""hi""\nbye"');
  });

  it('write text[] as a quoted array literal and jsonb as quoted JSON', () => {
    expect(csvArray([])).toBe('{}');
    expect(csvArray(['radio', 'tv'])).toBe('"{radio,tv}"');
    expect(csvArray(['a b', 'NULL', '', 'x"y'])).toBe('"{""a b"",""NULL"","""",""x\\""y""}"');
    expect(csvJson({ a: [1, 2] })).toBe('"{""a"":[1,2]}"');
  });
});

describe('name typos of planted duplicates', () => {
  it('always change the name', () => {
    const rng = new Rng(4);
    for (const name of ['Ba', 'Anna', 'José', 'Ouédraogo', "N'Guessan", 'Mwanaisha']) {
      for (let i = 0; i < 200; i++) {
        const typed = typo(rng, name);
        expect(typed).not.toBe(name);
        expect(typed.length).toBeGreaterThanOrEqual(2);
      }
    }
  });
});
