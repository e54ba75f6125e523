/**
 * `npm run bench`: every benchmark, each reported as a ratio to a baseline measured in the same run,
 * on one gateway and registry. BENCH_HOUSEHOLDS (default 100000), BENCH_SECONDS (10),
 * BENCH_WARMUP_SECONDS (10; not the individual lookup), BENCH_CONNECTIONS (each benchmark's own: 10 for the
 * individual lookup, 16 for the DCI search), BENCH_ROUNDS (3: the DCI search's rounds of baseline
 * then DCI path), BENCH_PRIME_SECONDS (30: load on the DCI path before its first round, not counted), BENCH_DCI_SEARCHES (`lookup,expression`: which DCI searches), BENCH_ARRIVALS (`poisson` or
 * `constant`: the open-loop runs' arrivals), BENCH_ONLY (names to run, e.g. `dci-search`).
 * DATABASE_URL runs the same on a PostgreSQL server, in a schema of its own, dropped afterwards, also
 * when the run fails or is interrupted with Ctrl-C.
 * The figures go to bench/results/<date>-<time>-<commit>.json as each benchmark ends, and at the end
 * bench/README.md shows them against the previous run's (history.ts).
 */
import { cpus, loadavg } from 'node:os';
import { benchDciSearch } from './dci-search.ts';
import { startBenchGateway, type BenchGateway, type BenchSettings } from './gateway.ts';
import {
  commitOf,
  readRuns,
  README,
  RESULTS_DIR,
  updateReadme,
  writeRun,
  type BenchOutput,
  type BenchRun,
} from './history.ts';
import { benchIndividualLookup } from './individual-lookup.ts';
import { benchSecurityOverhead } from './security-overhead.ts';
import { benchExportCsv } from './export-csv.ts';
import { benchEligibility } from './eligibility.ts';
import { benchOdkSubmissions } from './odk-submissions.ts';

const numberFrom = (name: string, fallback: number, minimum = 1) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value < minimum) {
    console.error(`${name} must be a number of at least ${minimum}`);
    process.exit(2);
  }
  return value;
};

const arrivals = process.env['BENCH_ARRIVALS'] ?? 'poisson';
if (arrivals !== 'poisson' && arrivals !== 'constant') {
  console.error('BENCH_ARRIVALS must be poisson or constant');
  process.exit(2);
}

const settings: BenchSettings = {
  households: numberFrom('BENCH_HOUSEHOLDS', 100_000),
  seconds: numberFrom('BENCH_SECONDS', 10),
  warmupSeconds: numberFrom('BENCH_WARMUP_SECONDS', 10, 0),
  connections: process.env['BENCH_CONNECTIONS'] ? numberFrom('BENCH_CONNECTIONS', 10) : undefined,
  rounds: numberFrom('BENCH_ROUNDS', 3),
  primeSeconds: numberFrom('BENCH_PRIME_SECONDS', 30, 0),
  arrivals,
  dciSearches: process.env['BENCH_DCI_SEARCHES']?.split(',').map((name) => name.trim()),
  databaseUrl: process.env['DATABASE_URL'] || undefined,
};

const benchmarks: { title: string; file: string; run: (bench: BenchGateway) => Promise<BenchOutput> }[] = [
  {
    title: 'Individual lookup',
    file: 'individual-lookup',
    run: (bench) => benchIndividualLookup(bench, settings),
  },
  { title: 'DCI sync search', file: 'dci-search', run: (bench) => benchDciSearch(bench, settings) },
  {
    title: 'Security overhead',
    file: 'security-overhead',
    run: (bench) => benchSecurityOverhead(bench, settings),
  },
  { title: 'CSV export', file: 'export-csv', run: (bench) => benchExportCsv(bench, settings) },
  { title: 'Eligibility checks', file: 'eligibility', run: (bench) => benchEligibility(bench, settings) },
  { title: 'ODK submissions', file: 'odk-submissions', run: (bench) => benchOdkSubmissions(bench, settings) },
];

const only = process.env['BENCH_ONLY']?.split(',').map((name) => name.trim());
const selected = benchmarks.filter((b) => !only || only.includes(b.file));
if (selected.length === 0) {
  console.error(`BENCH_ONLY names none of ${benchmarks.map((b) => b.file).join(', ')}`);
  process.exit(2);
}

const started = { date: new Date().toISOString(), commit: commitOf(), loadAverage: loadavg()[0]! };
const bench = await startBenchGateway(settings);
// An interrupted run still drops its schemas: the PostgreSQL server may be shared.
const onSignal = () => {
  console.error('interrupted: removing the benchmark registry');
  bench.close().then(
    () => process.exit(130),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
};
process.once('SIGINT', onSignal);
process.once('SIGTERM', onSignal);

const { databaseUrl: _secret, ...recorded } = settings; // a URL may hold a password
const run: BenchRun = {
  date: started.date,
  commit: started.commit,
  engine: bench.database.engine,
  households: settings.households,
  settings: { ...recorded, only },
  machine: {
    cpus: cpus().length,
    model: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    loadAverage: { start: started.loadAverage, end: started.loadAverage },
  },
  benchmarks: [],
};
let file = '';
try {
  for (const benchmark of selected) {
    const output = await benchmark.run(bench);
    console.log(`\n## ${benchmark.title}\n\n${output.report}\n`);
    // Written as each benchmark ends: a later failure keeps the figures already measured.
    run.benchmarks.push({ file: benchmark.file, title: benchmark.title, ...output });
    run.machine.loadAverage.end = loadavg()[0]!;
    file = await writeRun(RESULTS_DIR, run);
  }
} finally {
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  await bench.close();
}
await updateReadme(README, readRuns(RESULTS_DIR));
console.log(`figures written to ${file}; ${README} shows them against the previous run`);
