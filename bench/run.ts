/**
 * `npm run bench`: every benchmark, each reported as a ratio to a baseline measured in the same run,
 * on one gateway and registry. BENCH_HOUSEHOLDS (default 100000), BENCH_SECONDS (10),
 * BENCH_WARMUP_SECONDS (10; not the individual lookup), BENCH_CONNECTIONS (each benchmark's own: 10 for the
 * individual lookup, 16 for the DCI search), BENCH_ROUNDS (3: the DCI search's rounds of baseline
 * then DCI path), BENCH_PRIME_SECONDS (30: load on the DCI path before its first round, not counted), BENCH_DCI_SEARCHES (`lookup,expression`: which DCI searches), BENCH_ONLY (names to
 * run, e.g. `dci-search`).
 * DATABASE_URL runs the same on a PostgreSQL server, in a schema of its own, dropped afterwards, also
 * when the run fails or is interrupted with Ctrl-C.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { benchDciSearch } from './dci-search.ts';
import { startBenchGateway, type BenchGateway, type BenchSettings } from './gateway.ts';
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

const settings: BenchSettings = {
  households: numberFrom('BENCH_HOUSEHOLDS', 100_000),
  seconds: numberFrom('BENCH_SECONDS', 10),
  warmupSeconds: numberFrom('BENCH_WARMUP_SECONDS', 10, 0),
  connections: process.env['BENCH_CONNECTIONS'] ? numberFrom('BENCH_CONNECTIONS', 10) : undefined,
  rounds: numberFrom('BENCH_ROUNDS', 3),
  primeSeconds: numberFrom('BENCH_PRIME_SECONDS', 30, 0),
  dciSearches: process.env['BENCH_DCI_SEARCHES']?.split(',').map((name) => name.trim()),
  databaseUrl: process.env['DATABASE_URL'] || undefined,
};

const benchmarks: { title: string; file: string; run: (bench: BenchGateway) => Promise<string> }[] = [
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

const stamp = new Date().toISOString().replace(/[:.]/g, '-');
mkdirSync('bench/results', { recursive: true });
try {
  for (const benchmark of selected) {
    const report = await benchmark.run(bench);
    console.log(`\n## ${benchmark.title}\n\n${report}\n`);
    writeFileSync(`bench/results/${benchmark.file}-${stamp}.md`, report + '\n');
  }
} finally {
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  await bench.close();
}
