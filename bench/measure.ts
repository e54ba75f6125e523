/**
 * Shared measurement helpers: the load generator in its own process, a closed-loop driver for
 * in-process baselines, and result printing.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Arrivals } from './open-loop.ts';

/** What load-generator.ts runs. */
export interface LoadSpec {
  /** http://host:port */
  origin: string;
  method: 'GET' | 'POST';
  /** The path; `{{value}}` is replaced by the request's value. */
  path: string;
  /**
   * The JSON body, if any: `{{value}}` is replaced by the request's value (inserted as is, so a value
   * is a JSON fragment), `{{n}}` by a token unique to the request (DCI message ids may be used once).
   */
  body?: string;
  /** One per request, in order, round and round: every run reads the same spread of records. */
  values: string[];
  headers: Record<string, string>;
  seconds: number;
  warmupSeconds: number;
  /** Closed loop: connections, each sending its next request when the answer arrives; open loop: most sockets open at once. */
  connections: number;
  /** Open loop (open-loop.ts) at this mean rate, in requests/s, instead of autocannon's closed loop. */
  open?: { rate: number; arrivals: Arrivals };
  /** Sign each DCI message body as this client key would (Ed25519, PKCS#8 PEM), after filling it in. */
  sign?: { senderId: string; keyId: string; privateKeyPem: string };
}

export interface LoadResult {
  /** Closed loop: requests/s; open loop: 2xx answers/s achieved. */
  requestsPerSecond: number;
  p50: number;
  /** Open loop only (autocannon's histogram reports no p95). */
  p95?: number;
  p99: number;
  total: number;
  non2xx: number;
  errors: number;
  /** Open loop: requests scheduled per second, and those never answered (open-loop.ts). */
  offeredRate?: number;
  dropped?: number;
  /** Open loop: how late the load generator sent, p99 in ms. */
  sendLagP99?: number;
  /** Non-2xx responses and errors during the warm-up. */
  warmupFailures: number;
  /** CPU time of the load generator during the measured run, in ms. */
  cpuMs: number;
}

export interface Figures extends Partial<
  Pick<LoadResult, 'p95' | 'offeredRate' | 'non2xx' | 'errors' | 'dropped' | 'sendLagP99'>
> {
  name: string;
  requestsPerSecond: number;
  p50: number;
  p99: number;
  total: number;
  /**
   * CPU time of this process (the gateway under test) per request, in ms, over the measured run
   * (not the warm-up): less sensitive than req/s to what else loads the machine.
   */
  cpuMsPerRequest?: number;
  /** The part of cpuMsPerRequest spent in the kernel (system calls: sockets to the database and clients). */
  systemCpuMsPerRequest?: number;
  /** CPU time of the PostgreSQL server's processes per request, when they run on this machine. */
  databaseCpuMsPerRequest?: number;
  /** CPU time of the load generator's process per request. */
  loadCpuMsPerRequest?: number;
}

/**
 * Runs `operation` from `concurrency` loops for `seconds`, like a load generator with that many
 * connections, and reports throughput and latency percentiles in milliseconds.
 */
export async function closedLoop(
  name: string,
  seconds: number,
  concurrency: number,
  operation: (i: number) => Promise<unknown>,
): Promise<Figures> {
  const latencies: number[] = [];
  const end = performance.now() + seconds * 1000;
  let counter = 0;
  const loop = async () => {
    while (performance.now() < end) {
      const started = performance.now();
      await operation(counter++);
      latencies.push(performance.now() - started);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, loop));
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    name,
    requestsPerSecond: latencies.length / elapsed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    total: latencies.length,
  };
}

/**
 * The p-th percentile of sorted values by nearest rank: the smallest value that at least p% of the
 * values do not exceed (as HdrHistogram, autocannon's histogram, reads it); 0 when there are none.
 */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

export function printTable(rows: Figures[], baseline: Figures): string {
  const ms = (value: number | undefined) => value?.toFixed(2) ?? '';
  const lines = [
    '| Measurement | req/s | p50 ms | p99 ms | requests | gateway CPU ms/request (system) | PostgreSQL CPU ms/request | load generator CPU ms/request | ratio to baseline (req/s) |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.name} | ${r.requestsPerSecond.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.total} | ` +
        `${ms(r.cpuMsPerRequest)}${r.systemCpuMsPerRequest === undefined ? '' : ` (${ms(r.systemCpuMsPerRequest)})`} | ` +
        `${ms(r.databaseCpuMsPerRequest)} | ${ms(r.loadCpuMsPerRequest)} | ` +
        `${(r.requestsPerSecond / baseline.requestsPerSecond).toFixed(3)} |`,
    ),
  ];
  return lines.join('\n');
}

/** Clock ticks per second of /proc's CPU times (USER_HZ: 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** utime + stime of one /proc/<pid>/stat, in ticks. */
function ticksOf(pid: string): number {
  try {
    // The command name (field 2) may hold spaces: fields are counted after its closing parenthesis.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0; // gone meanwhile, or not readable
  }
}

/**
 * CPU ticks of the processes named `postgres` on this machine (the server and its backends), or
 * undefined when there are none to read (PGlite, a remote server, no /proc). Backends that ended
 * meanwhile are not counted: the gateway's pool keeps its connections for the whole run.
 */
function databaseTicks(): number | undefined {
  let total: number | undefined;
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((name) => /^\d+$/.test(name));
  } catch {
    return undefined;
  }
  for (const pid of pids) {
    let name = '';
    try {
      name = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    } catch {
      continue;
    }
    if (name === 'postgres') {
      total = (total ?? 0) + ticksOf(pid);
    }
  }
  return total;
}

/** The line the load generator prints when its measured run starts (after the warm-up). */
export const MEASURING = 'measuring';

/** CPU times the figures are computed from, read when the measured run starts and when it ends. */
interface CpuReading {
  gateway: NodeJS.CpuUsage;
  database: number | undefined;
}

const readCpu = (): CpuReading => ({ gateway: process.cpuUsage(), database: databaseTicks() });

/**
 * Runs the load generator (load-generator.ts) in its own process with this spec and returns its
 * figures. In a closed loop any non-2xx answer or connection error, in the warm-up too, fails the
 * benchmark; an open loop reports them instead (above the path's capacity, how it fails is part of
 * what is measured: queueing, refusals, answers that never come). CPU per
 * request covers the measured run only (from the generator's MEASURING line to its result): the
 * warm-up's JIT compilation and heap growth are not steady-state costs.
 */
export async function loadFromOtherProcess(name: string, spec: LoadSpec, dir: string): Promise<Figures> {
  const specFile = join(dir, `load-${randomUUID()}.json`);
  writeFileSync(specFile, JSON.stringify(spec));
  let start: CpuReading | undefined;
  const stdout = await runLoadGenerator(specFile, () => {
    start = readCpu();
  });
  const end = readCpu();
  const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as LoadResult;
  if (!spec.open && (result.non2xx > 0 || result.errors > 0 || result.warmupFailures > 0)) {
    throw new Error(
      `${name}: ${result.non2xx} non-2xx responses and ${result.errors} errors during the benchmark (${result.warmupFailures} during the warm-up)`,
    );
  }
  if (!start) {
    throw new Error(`${name}: the load generator never said that its measured run started`);
  }
  const { cpuMs, ...figures } = result;
  const perRequest = (ms: number) => ms / figures.total;
  const gatewayUser = (end.gateway.user - start.gateway.user) / 1000;
  const gatewaySystem = (end.gateway.system - start.gateway.system) / 1000;
  return {
    name,
    ...figures,
    cpuMsPerRequest: perRequest(gatewayUser + gatewaySystem),
    systemCpuMsPerRequest: perRequest(gatewaySystem),
    ...(start.database !== undefined && end.database !== undefined
      ? { databaseCpuMsPerRequest: perRequest(((end.database - start.database) / TICKS_PER_SECOND) * 1000) }
      : {}),
    loadCpuMsPerRequest: perRequest(cpuMs),
  };
}

/** Runs the load generator, calling `onMeasuring` when it starts its measured run; answers its output. */
function runLoadGenerator(specFile: string, onMeasuring: () => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/run-ts.js', 'bench/load-generator.ts', specFile], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    let measuring = false;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
      if (!measuring && output.split('\n').includes(MEASURING)) {
        measuring = true;
        onMeasuring();
      }
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(output) : reject(new Error(`the load generator exited with ${code}`)),
    );
  });
}
