/**
 * Eligibility checks (IBR issue): one person checked against a program's criteria over HTTP
 * (POST /api/v1/ibr/eligibility/check, load generator in its own process), next to the simplest
 * read of the same person on the same gateway in the same run (GET /api/v1/individuals/{id}); and a
 * 10,000-person check, timed against the same criteria as one raw SQL statement.
 */
import { randomUUID } from 'node:crypto';
import type { BenchGateway, BenchSettings } from './gateway.ts';
import { higher, lower, type BenchOutput } from './history.ts';
import { loadFromOtherProcess, printTable } from './measure.ts';

const CONNECTIONS = 16;
const PROGRAM = 'BENCH-ELIG';
const CRITERIA = [
  { name: 'pmt-below-30', applies_to: 'household', expression: { pmt_score: { $lt: 30 } } },
  { name: 'born-before-1970', applies_to: 'person', expression: { birth_date: { $lt: '1970-01-01' } } },
];
const CRITERIA_SQL = `select i.id, coalesce(h.pmt_score < 30, false) as c0, coalesce(i.birth_date < '1970-01-01', false) as c1
  from individuals i join households h on h.id = i.household_id where i.id = any($1::uuid[])`;

export async function benchEligibility(bench: BenchGateway, settings: BenchSettings): Promise<BenchOutput> {
  const connections = settings.connections ?? CONNECTIONS;
  const admin = await bench.keyFor('admin', 'bench-eligibility-admin');
  const key = await bench.keyFor('integrator', 'bench-eligibility');
  await bench.database.executeSql(
    `insert into programs (id, code, name, benefit_type, target_unit, exclusion_groups) values ($1, $2, 'Benchmark', 'cash', 'individual', '{cash}')`,
    [randomUUID(), PROGRAM],
  );
  const set = await fetch(`${bench.url}/api/v1/ibr/programs/${PROGRAM}/eligibility`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ criteria: CRITERIA }),
  });
  if (!set.ok) {
    throw new Error(`setting the criteria: ${set.status} ${await set.text()}`);
  }
  const { rows } = await bench.database.executeSql<{ id: string }>(
    'select id from individuals order by md5(id::text) limit 20000',
  );
  const ids = rows.map((r) => r.id);
  const common = {
    origin: bench.url,
    headers: { authorization: `Bearer ${key}`, 'x-purpose': 'benchmark' },
    seconds: settings.seconds,
    warmupSeconds: settings.warmupSeconds,
    connections,
  };
  const read = await loadFromOtherProcess(
    'baseline: GET /api/v1/individuals/{id}',
    { ...common, method: 'GET', path: '/api/v1/individuals/{{value}}', values: ids },
    bench.dir,
  );
  await bench.tap.quiet();
  const check = await loadFromOtherProcess(
    'eligibility: POST /api/v1/ibr/eligibility/check, one person',
    {
      ...common,
      method: 'POST',
      path: '/api/v1/ibr/eligibility/check',
      body: `{"program":"${PROGRAM}","subjects":[{"person_id":{{value}}}]}`,
      values: ids.map((id) => JSON.stringify(id)),
      headers: { ...common.headers, 'content-type': 'application/json' },
    },
    bench.dir,
  );
  await bench.tap.quiet();
  const batch = ids.slice(0, 10_000);
  const api = await timed(3, async () => {
    const res = await fetch(`${bench.url}/api/v1/ibr/eligibility/check`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${key}`,
        'content-type': 'application/json',
        'x-purpose': 'benchmark',
      },
      body: JSON.stringify({ program: PROGRAM, subjects: batch.map((id) => ({ person_id: id })) }),
    });
    if (!res.ok) {
      throw new Error(`batch check: ${res.status} ${await res.text()}`);
    }
    await res.arrayBuffer();
  });
  const raw = await timed(3, () => bench.database.executeSql(CRITERIA_SQL, [batch]));
  const report = [
    `engine: ${bench.database.engine}, ${settings.households} households, ${connections} connections, ` +
      `${settings.warmupSeconds} s warm-up then ${settings.seconds} s each`,
    printTable([read, check], read),
    '| 10,000-person check | median of 3, ms | ratio to raw SQL |\n|---|---:|---:|\n' +
      `| raw SQL: the two criteria for 10,000 persons, one statement | ${raw.toFixed(0)} | 1.000 |\n` +
      `| API: POST /api/v1/ibr/eligibility/check, 10,000 persons | ${api.toFixed(0)} | ${(api / raw).toFixed(2)} |`,
  ].join('\n\n');
  return {
    report,
    metrics: [
      higher('ratio one-person check ÷ read', check.requestsPerSecond / read.requestsPerSecond, 'ratio'),
      higher('one-person check', check.requestsPerSecond, 'req/s'),
      lower('10,000-person check: time ÷ raw SQL', api / raw, 'ratio'),
    ],
  };
}

async function timed(runs: number, run: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let n = 0; n < runs; n++) {
    const started = performance.now();
    await run();
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b)[Math.floor(runs / 2)]!;
}
