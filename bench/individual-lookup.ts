/**
 * Benchmark: GET /api/v1/individuals/{id} over HTTP (load generator in its own process) against the
 * same lookup as one raw SQL query on the same database, in the same run. The ratio is the cost of
 * the gateway: HTTP, API key check, validation, field policy, serialisation and the audit entry.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadConfig } from '#config/load';
import { createClient, createKey } from '#platform/auth/clients';
import { startGateway } from '../src/main.ts';
import { closedLoop, printTable, type Figures } from './measure.ts';

const run = promisify(execFile);

export interface LookupBenchOptions {
  households: number;
  seconds: number;
  connections: number;
  databaseUrl?: string | undefined;
}

export async function benchIndividualLookup(options: LookupBenchOptions): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'spx-bench-'));
  const schema = `bench_${process.pid}`;
  const config = {
    ...loadConfig({}),
    dataDir: dir,
    port: 0,
    logLevel: 'warn' as const,
    databaseUrl: options.databaseUrl,
    databaseSchema: options.databaseUrl ? schema : 'public',
    jobsSchema: `${schema}_q`,
    demoHouseholds: options.households,
    jobsEnabled: false,
  };
  const seeding = performance.now();
  const gateway = await startGateway(config);
  console.error(
    `registry of ${options.households} households ready in ${((performance.now() - seeding) / 1000).toFixed(1)} s (${gateway.database.engine})`,
  );
  try {
    const db = gateway.database.db;
    const client = await createClient(db, { name: 'bench-integrator', role: 'integrator' });
    const { key } = await createKey(db, client, { expiresInDays: 1 });
    const ids = await sampleIds(gateway.database, 20_000);
    const idsFile = join(dir, 'ids.txt');
    writeFileSync(idsFile, ids.join('\n'));

    const api = await loadFromOtherProcess(gateway.url, key, idsFile, options);
    const sqlBaseline = await closedLoop(
      'raw SQL: same lookup (individual + identifiers)',
      options.seconds,
      options.connections,
      (i) => gateway.database.executeSql(LOOKUP_SQL, [ids[i % ids.length]]),
    );
    const table = printTable([sqlBaseline, api], sqlBaseline);
    return `engine: ${gateway.database.engine}, ${options.households} households, ${options.connections} connections, ${options.seconds} s each\n\n${table}`;
  } finally {
    if (options.databaseUrl) {
      await gateway.database.executeSql(
        `drop schema if exists ${schema} cascade; drop schema if exists ${schema}_q cascade`,
      );
    }
    await gateway.shutdown();
    rmSync(dir, { recursive: true, force: true });
  }
}

// The query the API's findIndividual runs (registry/queries.ts), written out by hand.
const LOOKUP_SQL = `select i.*, coalesce((select json_agg(json_build_object('type', x.id_type, 'value', x.id_value)
  order by x.id_type, x.id_value) from identifiers x where x.individual_id = i.id), '[]'::json) as identifiers
  from individuals i where i.id = $1`;

async function sampleIds(
  database: { executeSql: <R>(text: string, values?: unknown[]) => Promise<{ rows: R[] }> },
  n: number,
) {
  const { rows } = await database.executeSql<{ id: string }>(
    'select id from individuals order by md5(id::text) limit $1',
    [n],
  );
  return rows.map((r) => r.id);
}

async function loadFromOtherProcess(
  url: string,
  key: string,
  idsFile: string,
  options: LookupBenchOptions,
): Promise<Figures> {
  const { stdout } = await run(
    process.execPath,
    [
      'bin/run-ts.js',
      'bench/load-generator.ts',
      url,
      key,
      idsFile,
      String(options.seconds),
      String(options.connections),
    ],
    { maxBuffer: 1 << 20 },
  );
  const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as Figures & {
    non2xx: number;
    errors: number;
  };
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(
      `the API answered ${result.non2xx} non-2xx responses and ${result.errors} errors during the benchmark`,
    );
  }
  return { ...result, name: 'API: GET /api/v1/individuals/{id} over HTTP' };
}
