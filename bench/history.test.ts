import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readRuns, updateReadme, writeRun, type BenchRun, type Metric } from './history.ts';

const metric = (name: string, value: number, unit: Metric['unit'], better: Metric['better']): Metric => ({
  name,
  value,
  unit,
  better,
});

/** A run of the DCI search with these figures: ratio, p99 at 50% load, bare route req/s. */
const run = (
  date: string,
  commit: string,
  figures: [number, number, number],
  households = 210_000,
): BenchRun => ({
  date,
  commit,
  engine: 'postgres',
  households,
  settings: { seconds: 10 },
  machine: { cpus: 2, model: 'test', node: 'v20', loadAverage: { start: 0.5, end: 1.5 } },
  benchmarks: [
    {
      file: 'dci-search',
      title: 'DCI sync search',
      report: '(full report)',
      summary: `| load | p99 ms |\n| --- | ---: |\n| 50% | ${figures[1]} |`,
      metrics: [
        metric('ID lookup: ratio DCI ÷ bare route, closed loop', figures[0], 'ratio', 'higher'),
        metric('ID lookup, open loop at 50% load: DCI p99', figures[1], 'ms', 'lower'),
        metric('ID lookup: bare route, closed loop', figures[2], 'req/s', 'higher'),
        // No answer in the measured seconds: 0 req/s, CPU per request Infinity (null in JSON).
        metric('District + PMT: DCI CPU per request', NaN, 'ms', 'lower'),
      ],
    },
  ],
});

describe('the benchmark history', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'spx-bench-history-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes a run to <date>-<time>-<commit>.json', async () => {
    const path = await writeRun(dir, run('2026-12-08T19:47:38.123Z', 'b7d1e53', [0.568, 30, 560]));
    expect(path).toBe(join(dir, '2026-12-08-194738-b7d1e53.json'));
    expect(readRuns(dir)[0]!.benchmarks[0]!.metrics[0]!.value).toBe(0.568);
  });

  it('shows the latest run against the previous one of the same engine and size, changes past 10% called better or worse', async () => {
    await writeRun(dir, run('2026-12-07T10:00:00.000Z', 'aaaaaaa', [0.568, 30, 560]));
    await writeRun(dir, run('2026-12-09T10:00:00.000Z', 'ccccccc', [0.61, 22.5, 500]));
    // A smoke run in between, of another size: compared with none of these.
    await writeRun(dir, run('2026-12-08T10:00:00.000Z', 'bbbbbbb', [0.3, 300, 100], 2000));
    const readme = join(dir, 'README.md');
    writeFileSync(
      readme,
      '# Benchmarks\n\n<!-- bench-history:start -->\nold\n<!-- bench-history:end -->\n\nNotes.\n',
    );

    await updateReadme(readme, readRuns(dir));

    const text = readFileSync(readme, 'utf8');
    expect(text).not.toContain('\nold\n');
    expect(text).toMatch(/^# Benchmarks\n\n<!-- bench-history:start -->\n/);
    expect(text).toMatch(/<!-- bench-history:end -->\n\nNotes\.\n$/);
    // Prettier aligns the tables' columns: compared with single spaces.
    const [large, small] = text.replace(/ +/g, ' ').split('### ').slice(1);
    expect(large).toContain('PostgreSQL, 210,000 households');
    expect(large).toContain('Latest: 2026-12-09 10:00 UTC, commit `ccccccc`');
    expect(large).toContain('Previous: 2026-12-07 10:00 UTC, commit `aaaaaaa`');
    expect(large).toContain('(`bench/results/2026-12-07-100000-aaaaaaa.json`)');
    expect(large).toContain('| 50% | 22.5 |'); // the latest run's summary
    expect(large).toContain(
      '| DCI sync search | ID lookup: ratio DCI ÷ bare route, closed loop | 0.568 | 0.610 | +7.4% |',
    );
    expect(large).toContain(
      '| ID lookup, open loop at 50% load: DCI p99 (ms) | 30.0 | 22.5 | -25.0% better |',
    );
    expect(large).toContain('| ID lookup: bare route, closed loop (req/s) | 560 | 500 | -10.7% **worse** |');
    expect(large).toContain('| District + PMT: DCI CPU per request (ms) | – | – | |');
    expect(small).toContain('PostgreSQL, 2,000 households');
    expect(small).toContain('Previous: none.');
    expect(small).toContain('| 0.300 | |');
    expect(readdirSync(dir).filter((f) => f.endsWith('.json'))).toHaveLength(3);
  });

  it('refuses a README without the markers', async () => {
    const readme = join(dir, 'README.md');
    writeFileSync(readme, '# Benchmarks\n');
    await expect(updateReadme(readme, [])).rejects.toThrow(/bench-history:start/);
  });
});
