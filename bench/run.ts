/**
 * `npm run bench`: every benchmark, each reported as a ratio to a baseline measured in the same run.
 * BENCH_HOUSEHOLDS (default 100000), BENCH_SECONDS (10), BENCH_CONNECTIONS (10); DATABASE_URL runs the
 * same on a PostgreSQL server (in a schema of its own, dropped afterwards).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { benchIndividualLookup } from './individual-lookup.ts';

const numberFrom = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isFinite(value) || value <= 0) {
    console.error(`${name} must be a positive number`);
    process.exit(2);
  }
  return value;
};

const report = await benchIndividualLookup({
  households: numberFrom('BENCH_HOUSEHOLDS', 100_000),
  seconds: numberFrom('BENCH_SECONDS', 10),
  connections: numberFrom('BENCH_CONNECTIONS', 10),
  databaseUrl: process.env['DATABASE_URL'] || undefined,
});
console.log(`\n## Individual lookup\n\n${report}\n`);
mkdirSync('bench/results', { recursive: true });
writeFileSync(
  `bench/results/individual-lookup-${new Date().toISOString().replace(/[:.]/g, '-')}.md`,
  report + '\n',
);
