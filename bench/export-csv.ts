/**
 * CSV export (export issue): the persons of the registry exported as CSV through the streaming
 * download (GET /api/v1/export-definitions/{name}/data), read by a client in its own process, next
 * to PostgreSQL's own `COPY (select the same columns ... order by id) TO STDOUT WITH CSV HEADER` of
 * the same rows in the same run. Goal: at least 50% of COPY's rows/s. And the peak resident memory
 * of the gateway serving the export: each export is served by a gateway process of its own (`spx
 * start` on the benchmark's registry), whose high-water mark (VmHWM, /proc) is read afterwards;
 * goal under 250 MB at 1M rows, and not growing with the size of the export (all persons, half).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import type { BenchGateway, BenchSettings } from './gateway.ts';
import { higher, lower, type BenchOutput } from './history.ts';

const run = promisify(execFile);

const FIELDS = [
  'id',
  'household_id',
  'relationship_to_head',
  'given_name',
  'family_name',
  'sex',
  'birth_date',
  'phone',
  'is_deceased',
  'status',
];
const GOALS = { ratio: 0.5, peakMb: 250 };
const BOUNDED_HEAP = '--max-old-space-size=160';

interface Run {
  name: string;
  rows: number;
  bytes: number;
  seconds: number;
  peakRssMb?: number;
  idleRssMb?: number;
}

export async function benchExportCsv(bench: BenchGateway, settings: BenchSettings): Promise<BenchOutput> {
  if (!settings.databaseUrl) {
    return { report: 'SKIPPED: the COPY baseline needs PostgreSQL (set DATABASE_URL).', metrics: [] };
  }
  const admin = await bench.keyFor('admin', 'bench-export-admin');
  const define = async (name: string, filter?: Record<string, unknown>) => {
    const res = await fetch(`${bench.url}/api/v1/export-definitions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        name,
        entity: 'individuals',
        fields: FIELDS,
        format: 'csv',
        ...(filter ? { filter } : {}),
      }),
    });
    if (res.status !== 201) {
      throw new Error(`defining ${name}: ${res.status} ${await res.text()}`);
    }
  };
  await define('bench-all');
  await define('bench-half', { sex: 'female' });

  const copy = await copyBaseline(settings.databaseUrl, bench.database.schema);
  const all = await download(
    bench,
    settings.databaseUrl,
    admin,
    'bench-all',
    'gateway: streamed CSV download, all persons',
  );
  const half = await download(
    bench,
    settings.databaseUrl,
    admin,
    'bench-half',
    'gateway: streamed CSV download, women only',
  );
  // The same export from a gateway whose old generation is bounded: what the export holds, as
  // opposed to the garbage V8 lets accumulate before a full collection when memory is plentiful.
  const bounded = await download(
    bench,
    settings.databaseUrl,
    admin,
    'bench-all',
    `gateway started with NODE_OPTIONS=${BOUNDED_HEAP}, all persons`,
    BOUNDED_HEAP,
  );
  if (all.rows !== copy.rows) {
    throw new Error(`the export gave ${all.rows} rows and COPY ${copy.rows}`);
  }
  const rate = (r: Run) => r.rows / r.seconds;
  const ratio = rate(all) / rate(copy);
  const table = [
    '| Measurement | rows | MB | seconds | rows/s | peak RSS MB | ratio to COPY (rows/s) |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...[copy, all, half, bounded].map(
      (r) =>
        `| ${r.name} | ${r.rows} | ${(r.bytes / 1e6).toFixed(1)} | ${r.seconds.toFixed(2)} | ${Math.round(rate(r))} | ` +
        `${r.peakRssMb === undefined ? '' : r.peakRssMb.toFixed(0)} | ${(rate(r) / rate(copy)).toFixed(3)} |`,
    ),
  ].join('\n');
  const report = [
    `engine: ${bench.database.engine}, ${settings.households} households; fields: ${FIELDS.join(', ')}`,
    table,
    `ratio ${ratio.toFixed(3)} (goal >= ${GOALS.ratio}: ${ratio >= GOALS.ratio ? 'met' : 'NOT met'}); ` +
      `peak RSS ${all.peakRssMb!.toFixed(0)} MB for ${all.rows} rows (goal < ${GOALS.peakMb} MB: ` +
      `${all.peakRssMb! < GOALS.peakMb ? 'met' : 'NOT met'}), ${half.peakRssMb!.toFixed(0)} MB for ${half.rows} rows; ` +
      `${bounded.peakRssMb!.toFixed(0)} MB for ${bounded.rows} rows with ${BOUNDED_HEAP}. ` +
      `Peak RSS is the high-water mark of a gateway process that started, then served that one export ` +
      `(idle after start: ${all.idleRssMb!.toFixed(0)} MB).`,
  ].join('\n\n');
  return {
    report,
    metrics: [
      higher('ratio streamed download ÷ COPY (rows/s)', ratio, 'ratio'),
      lower('peak RSS, all persons', all.peakRssMb!, 'MB'),
    ],
  };
}

/** The same rows by COPY, read (and counted) as they stream, on a connection of its own. */
async function copyBaseline(url: string, schema: string): Promise<Run> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`set search_path to ${schema}`);
    const started = performance.now();
    const stream = client.query(
      copyTo(
        `copy (select ${FIELDS.join(', ')} from individuals order by id) to stdout with (format csv, header)`,
      ),
    );
    let bytes = 0;
    let lines = 0;
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      for (const byte of chunk) {
        if (byte === 10) {
          lines += 1;
        }
      }
    }
    const seconds = (performance.now() - started) / 1000;
    return { name: 'baseline: COPY (...) TO STDOUT WITH CSV', rows: lines - 1, bytes, seconds };
  } finally {
    await client.end();
  }
}

/** The download, by a client process, from a gateway process of its own started for it. */
async function download(
  bench: BenchGateway,
  databaseUrl: string,
  key: string,
  definition: string,
  name: string,
  nodeOptions?: string,
): Promise<Run> {
  const gateway = await startGatewayProcess(bench, databaseUrl, nodeOptions);
  try {
    const idle = memoryOf(gateway.process, 'VmRSS');
    const url = `${gateway.url}/api/v1/export-definitions/${definition}/data?legal_basis=public_task&purpose=benchmark`;
    const { stdout } = await run(
      process.execPath,
      ['bin/run-ts.js', 'bench/download.ts', url, `authorization=Bearer ${key}`],
      {
        maxBuffer: 1 << 20,
      },
    );
    const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
      bytes: number;
      lines: number;
      seconds: number;
    };
    const peak = memoryOf(gateway.process, 'VmHWM');
    return {
      name,
      rows: result.lines - 1,
      bytes: result.bytes,
      seconds: result.seconds,
      peakRssMb: peak,
      idleRssMb: idle,
    };
  } finally {
    gateway.process.kill('SIGTERM');
    await new Promise((resolve) => gateway.process.once('exit', resolve));
  }
}

/** `spx start` on the benchmark's registry (same schema, data directory and master key), no jobs. */
async function startGatewayProcess(
  bench: BenchGateway,
  databaseUrl: string,
  nodeOptions: string | undefined,
): Promise<{ process: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['bin/spx.js', 'start'], {
    env: {
      PATH: process.env['PATH'],
      ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}),
      DATABASE_URL: databaseUrl,
      SPX_DB_SCHEMA: bench.database.schema,
      SPX_JOBS_SCHEMA: `${bench.database.schema}_q`,
      SPX_JOBS_ENABLED: 'false',
      SPX_DATA_DIR: bench.dir,
      SPX_HOST: '127.0.0.1',
      SPX_PORT: '0',
      SPX_DEMO_HOUSEHOLDS: '0',
      SPX_LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const found = /URL:\s+(http:\/\/\S+)/.exec(output);
      if (found) {
        resolve(found[1]!);
      }
    });
    child.once('exit', (code) => reject(new Error(`the gateway process stopped (${code}): ${output}`)));
  });
  return { process: child, url };
}

/** A memory figure of a process, in MB (Linux /proc). */
function memoryOf(child: ChildProcess, field: 'VmRSS' | 'VmHWM'): number {
  const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
  const kb = Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]);
  return kb / 1024;
}
