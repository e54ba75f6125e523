/**
 * The benchmark history. Each `npm run bench` writes its figures to
 * bench/results/<date>-<time>-<commit>.json (committed: a few KB each), and bench/README.md shows,
 * between its markers, the latest run of each engine and registry size against the previous run of
 * the same kind, so that a change shows in review. `npm run bench:report` rewrites that section from
 * the files alone.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { format as prettier, resolveConfig } from 'prettier';
import { replaceSection } from '#cli/markdown-section';

export const RESULTS_DIR = 'bench/results';
export const README = 'bench/README.md';
/**
 * A change this large is called better or worse: on the shared 2-core machine the same command gives
 * ratios 10% apart from one run to the next (bench/README.md, fourth and fifth rounds).
 */
const NOTABLE = 0.1;

/** One figure of a run, kept in the history. */
export interface Metric {
  /** Names the same figure in every run: runs are matched on it. */
  name: string;
  value: number;
  unit: 'ratio' | 'req/s' | 'ms' | 'MB';
  better: 'higher' | 'lower';
}

/** A figure where more is better (req/s, a ratio of throughputs). */
export const higher = (name: string, value: number, unit: Metric['unit']): Metric => ({
  name,
  value,
  unit,
  better: 'higher',
});

/** A figure where less is better (latency, memory, a ratio of times). */
export const lower = (name: string, value: number, unit: Metric['unit']): Metric => ({
  name,
  value,
  unit,
  better: 'lower',
});

/** What a benchmark gives back. */
export interface BenchOutput {
  /** Its full report (markdown): tables and notes. */
  report: string;
  /** The figures compared from run to run. */
  metrics: Metric[];
  /** Markdown shown in bench/README.md for the latest run, e.g. a table of latencies. */
  summary?: string;
}

/** A results file: one run of `npm run bench`. */
export interface BenchRun {
  /** When it started (ISO 8601, UTC). */
  date: string;
  /** The commit measured, with `-dirty` when files other than bench/README.md differed from it. */
  commit: string;
  engine: string;
  households: number;
  /** The BENCH_* settings of the run (no DATABASE_URL: it may hold a password). */
  settings: Record<string, unknown>;
  machine: { cpus: number; model: string; node: string; loadAverage: { start: number; end: number } };
  benchmarks: ({ file: string; title: string } & BenchOutput)[];
}

/** The commit checked out, marked `-dirty` when the code measured is not exactly it. */
export function commitOf(): string {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { encoding: 'utf8' }).trim();
    const head = git('rev-parse', '--short=7', 'HEAD');
    // Only bench/README.md may differ: each run rewrites it.
    const changed = git('status', '--porcelain', '--untracked-files=no', '--', '.', `:(exclude)${README}`);
    return changed ? `${head}-dirty` : head;
  } catch {
    return 'unknown';
  }
}

/** bench/results/2026-12-08-194738-b7d1e53.json: sorts by date. */
export function resultFile(run: Pick<BenchRun, 'date' | 'commit'>): string {
  const [day, time] = run.date.split('T') as [string, string];
  return `${day}-${time.slice(0, 8).replaceAll(':', '')}-${run.commit}.json`;
}

/** Writes (or rewrites, as benchmarks finish) the run's file; answers its path. */
export async function writeRun(dir: string, run: BenchRun): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, resultFile(run));
  await writeFormatted(path, JSON.stringify(run));
  return path;
}

/** Written as Prettier writes it, so that `npm run format:check` stays clean after a run. */
async function writeFormatted(path: string, text: string) {
  writeFileSync(path, await prettier(text, { ...(await resolveConfig(path)), filepath: path }));
}

/** Every run in the directory, oldest first. */
export function readRuns(dir: string): BenchRun[] {
  if (!existsSync(dir)) {
    return [];
  }
  return readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .map((name) => JSON.parse(readFileSync(join(dir, name), 'utf8')) as BenchRun)
    .sort((a, b) => a.date.localeCompare(b.date));
}

/** Rewrites the history section of the README (between its markers) from these runs. */
export async function updateReadme(file: string, runs: BenchRun[]): Promise<void> {
  const text = readFileSync(file, 'utf8');
  await writeFormatted(file, replaceSection(text, 'bench-history', `\n${historySection(runs)}\n`));
}

/** For each engine and registry size, newest first: the latest run's summaries and its figures against the previous run's. */
export function historySection(runs: BenchRun[]): string {
  const kinds = new Map<string, BenchRun[]>();
  for (const run of runs) {
    const key = `${run.engine} ${run.households}`;
    kinds.set(key, [...(kinds.get(key) ?? []), run]);
  }
  if (kinds.size === 0) {
    return `No runs yet in ${RESULTS_DIR}/.`;
  }
  return [...kinds.values()]
    .sort((a, b) => b.at(-1)!.date.localeCompare(a.at(-1)!.date))
    .map((same) => comparison(same.at(-1)!, same.at(-2)))
    .join('\n\n');
}

const ENGINES: Record<string, string> = { postgres: 'PostgreSQL', pglite: 'PGlite' };

function comparison(latest: BenchRun, previous: BenchRun | undefined): string {
  const rows = latest.benchmarks.flatMap((benchmark) =>
    benchmark.metrics.map((metric) => {
      const before = previous?.benchmarks
        .find((b) => b.file === benchmark.file)
        ?.metrics.find((m) => m.name === metric.name)?.value;
      const unit = metric.unit === 'ratio' ? '' : ` (${metric.unit})`;
      return (
        `| ${benchmark.title} | ${metric.name}${unit} | ${format(before, metric)} | ` +
        `${format(metric.value, metric)} | ${change(before, metric)} |`
      );
    }),
  );
  const summaries = latest.benchmarks
    .filter((b) => b.summary)
    .map((b) => `**${b.title}** (latest run)\n\n${b.summary}`);
  return [
    `### ${ENGINES[latest.engine] ?? latest.engine}, ${latest.households.toLocaleString('en')} households`,
    `Latest: ${describe(latest)}. Previous: ${previous ? describe(previous) : 'none'}.`,
    ...summaries,
    [
      '| Benchmark | Figure | previous | latest | change |',
      '| --- | --- | ---: | ---: | --- |',
      ...rows,
    ].join('\n'),
  ].join('\n\n');
}

const describe = (run: BenchRun) =>
  `${run.date.slice(0, 16).replace('T', ' ')} UTC, commit \`${run.commit}\`, load average ` +
  `${run.machine.loadAverage.start.toFixed(1)} at the start and ${run.machine.loadAverage.end.toFixed(1)} at the end ` +
  `(\`${RESULTS_DIR}/${resultFile(run)}\`)`;

const DECIMALS: Record<Metric['unit'], number> = { ratio: 3, 'req/s': 0, ms: 1, MB: 0 };

/** A figure as written; none (–) when it could not be computed (JSON turns NaN and Infinity into null). */
const format = (value: number | null | undefined, metric: Metric) =>
  typeof value === 'number' && Number.isFinite(value) ? value.toFixed(DECIMALS[metric.unit]) : '–';

/** Relative change, called better or worse when it passes NOTABLE. */
function change(before: number | undefined, metric: Metric): string {
  if (before === undefined || !Number.isFinite(before) || !Number.isFinite(metric.value) || before === 0) {
    return '';
  }
  const relative = (metric.value - before) / before;
  const percent = `${relative > 0 ? '+' : ''}${(relative * 100).toFixed(1)}%`;
  if (Math.abs(relative) < NOTABLE) {
    return percent;
  }
  return relative > 0 === (metric.better === 'higher') ? `${percent} better` : `${percent} **worse**`;
}
