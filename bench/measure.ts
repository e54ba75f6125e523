/** Shared measurement helpers: a closed-loop driver for in-process baselines, and result printing. */

export interface Figures {
  name: string;
  requestsPerSecond: number;
  p50: number;
  p99: number;
  total: number;
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
  const percentile = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0;
  return {
    name,
    requestsPerSecond: latencies.length / elapsed,
    p50: percentile(50),
    p99: percentile(99),
    total: latencies.length,
  };
}

export function printTable(rows: Figures[], baseline: Figures): string {
  const lines = [
    '| Measurement | req/s | p50 ms | p99 ms | requests | ratio to baseline (req/s) |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.name} | ${r.requestsPerSecond.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.total} | ${(r.requestsPerSecond / baseline.requestsPerSecond).toFixed(3)} |`,
    ),
  ];
  return lines.join('\n');
}
