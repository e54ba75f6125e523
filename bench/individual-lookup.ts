/**
 * Benchmark: GET /api/v1/individuals/{id} over HTTP (load generator in its own process) against the
 * same lookup as one raw SQL query on the same database, in the same run. The ratio is the cost of
 * the gateway: HTTP, API key check, validation, field policy, serialisation and the audit entry.
 */
import type { BenchGateway, BenchSettings } from './gateway.ts';
import { higher, lower, type BenchOutput } from './history.ts';
import { closedLoop, loadFromOtherProcess, printTable } from './measure.ts';

/** Connections when BENCH_CONNECTIONS does not say. */
const CONNECTIONS = 10;

export async function benchIndividualLookup(
  bench: BenchGateway,
  settings: BenchSettings,
): Promise<BenchOutput> {
  const { database } = bench;
  const connections = settings.connections ?? CONNECTIONS;
  const key = await bench.keyFor('integrator', 'bench-integrator');
  const ids = await sampleIds(bench, 20_000);

  const api = await loadFromOtherProcess(
    'API: GET /api/v1/individuals/{id} over HTTP',
    {
      origin: bench.url,
      method: 'GET',
      // A fixed stride through a shuffled list: every run reads the same spread of records.
      path: '/api/v1/individuals/{{value}}',
      values: ids,
      headers: { authorization: `Bearer ${key}`, 'x-purpose': 'benchmark' },
      seconds: settings.seconds,
      // Kept without a warm-up, as the figures in README.md were measured.
      warmupSeconds: 0,
      connections,
    },
    bench.dir,
  );
  await bench.tap.quiet();
  const sqlBaseline = await closedLoop(
    'raw SQL: same lookup (individual + identifiers)',
    settings.seconds,
    connections,
    (i) => database.executeSql(LOOKUP_SQL, [ids[i % ids.length]]),
  );
  const table = printTable([sqlBaseline, api], sqlBaseline);
  return {
    report: `engine: ${database.engine}, ${settings.households} households, ${connections} connections, ${settings.seconds} s each\n\n${table}`,
    metrics: [
      higher('ratio API ÷ raw SQL', api.requestsPerSecond / sqlBaseline.requestsPerSecond, 'ratio'),
      higher('API', api.requestsPerSecond, 'req/s'),
      lower('API p99', api.p99, 'ms'),
    ],
  };
}

// The query the API's findIndividual runs (registry/queries.ts), written out by hand.
const LOOKUP_SQL = `select i.*, coalesce((select json_agg(json_build_object('type', x.id_type, 'value', x.id_value)
  order by x.id_type, x.id_value) from identifiers x where x.individual_id = i.id), '[]'::json) as identifiers
  from individuals i where i.id = $1`;

async function sampleIds(bench: BenchGateway, n: number) {
  const { rows } = await bench.database.executeSql<{ id: string }>(
    'select id from individuals order by md5(id::text) limit $1',
    [n],
  );
  return rows.map((r) => r.id);
}
