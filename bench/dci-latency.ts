/**
 * The DCI ID lookup's latency as users feel it (DCI issue: p99 under 25 ms): open-loop runs
 * (open-loop.ts) at 25%, 50% and 75% of the bare route's saturation throughput, as measured by the
 * closed-loop rounds of the same run; at each load the bare route first, then the DCI path, at the
 * same rate. Requests arrive whether or not earlier ones were answered, so the percentiles include
 * the time spent queueing, as a user's request would: a closed loop at 16 connections bounds the
 * mean latency by connections ÷ req/s instead (Little's law), and says little about a gateway that
 * is not saturated. Above the DCI path's own capacity (75% of the bare route's rate is above it when
 * the closed-loop ratio is below 0.75) the queue grows for the whole run: that row shows how.
 */
import type { BenchGateway } from './gateway.ts';
import { lower, type Metric } from './history.ts';
import { loadFromOtherProcess, type Figures, type LoadSpec } from './measure.ts';
import type { Arrivals } from './open-loop.ts';

/** Loads, as shares of the bare route's saturation throughput. */
const LOADS = [0.25, 0.5, 0.75];
/**
 * Most sockets of the open-loop sender: far above the requests in flight below saturation (rate ×
 * latency, e.g. 300/s × 30 ms = 9), so that it is the server that makes requests wait.
 */
const SOCKETS = 256;
/** DCI issue: p99 of the ID lookup under 25 ms at half the bare route's saturation throughput. */
const GOAL = { load: 0.5, p99Ms: 25 };

export interface LatencyRow {
  /** Share of the saturation throughput. */
  load: number;
  base: Figures;
  dci: Figures;
}

export interface Latency {
  /** The bare route's saturation throughput (median of the closed-loop rounds), req/s. */
  saturation: number;
  arrivals: Arrivals;
  rows: LatencyRow[];
}

/** The open-loop runs, at each load the bare route (`specs.base`) then the DCI path (`specs.dci`). */
export async function openLoopLatency(
  bench: BenchGateway,
  specs: { base: LoadSpec; dci: LoadSpec },
  saturation: number,
  arrivals: Arrivals,
): Promise<Latency> {
  const rows: LatencyRow[] = [];
  for (const load of LOADS) {
    const open = async (spec: LoadSpec, name: string) => {
      const figures = await loadFromOtherProcess(
        `${percent(load)} load, ${name}`,
        { ...spec, connections: SOCKETS, open: { rate: load * saturation, arrivals } },
        bench.dir,
      );
      await bench.tap.quiet();
      return figures;
    };
    const base = await open(specs.base, 'bare route');
    const dci = await open(specs.dci, 'DCI');
    rows.push({ load, base, dci });
  }
  return { saturation, arrivals, rows };
}

const percent = (load: number) => `${Math.round(load * 100)}%`;
const ms = (value: number | undefined) => value?.toFixed(2) ?? '';

/** The table of the open-loop runs and the goal's verdict. */
export function latencyReport({ saturation, arrivals, rows }: Latency): string {
  const line = (load: number, path: string, f: Figures) =>
    `| ${percent(load)} | ${path} | ${f.offeredRate?.toFixed(0)} | ${f.requestsPerSecond.toFixed(0)} | ` +
    `${ms(f.p50)} | ${ms(f.p95)} | ${ms(f.p99)} | ${f.non2xx ?? 0} / ${f.errors ?? 0} / ${f.dropped ?? 0} | ` +
    `${ms(f.sendLagP99)} | ${ms(f.cpuMsPerRequest)} | ${ms(f.databaseCpuMsPerRequest)} | ${ms(f.loadCpuMsPerRequest)} |`;
  return [
    `Open loop: ${arrivals} arrivals at shares of the bare route's saturation throughput, ` +
      `${saturation.toFixed(0)} req/s (the median of this run's closed-loop rounds); latency from each request's ` +
      `scheduled send time, queueing included; up to ${SOCKETS} sockets.`,
    [
      '| Load | Path | offered req/s | achieved req/s | p50 ms | p95 ms | p99 ms | non-2xx / errors / dropped | send lag p99 ms | gateway CPU ms/request | PostgreSQL CPU ms/request | load generator CPU ms/request |',
      '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
      ...rows.flatMap(({ load, base, dci }) => [line(load, 'bare route', base), line(load, 'DCI', dci)]),
    ].join('\n'),
    latencyGoal(rows),
  ].join('\n\n');
}

/** The goal is met when the DCI path's p99 at its load is under the bound, with nothing failed or dropped. */
function latencyGoal(rows: LatencyRow[]): string {
  const row = rows.find((r) => r.load === GOAL.load);
  if (!row) {
    return '';
  }
  const { p99 = 0, non2xx = 0, errors = 0, dropped = 0 } = row.dci;
  const met = p99 < GOAL.p99Ms && non2xx + errors + dropped === 0;
  return (
    `DCI p99 at ${percent(GOAL.load)} load ${p99.toFixed(2)} ms (goal < ${GOAL.p99Ms} ms, nothing failed: ` +
    `${met ? 'met' : 'NOT met'}; the bare route's own p99 at that rate ${ms(row.base.p99)} ms).`
  );
}

/** The open-loop figures kept in the history, named by load share (the rate itself varies by machine). */
export function latencyMetrics(label: string, { rows }: Latency): Metric[] {
  return rows.flatMap(({ load, base, dci }) => {
    const name = `${label}, open loop at ${percent(load)} load`;
    return [
      lower(`${name}: bare route p99`, base.p99, 'ms'),
      lower(`${name}: DCI p50`, dci.p50, 'ms'),
      lower(`${name}: DCI p95`, dci.p95 ?? 0, 'ms'),
      lower(`${name}: DCI p99`, dci.p99, 'ms'),
    ];
  });
}
