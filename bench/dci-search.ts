/**
 * Benchmark of the DCI Social Registry sync search (DCI issue): POST /dci/sr/registry/sync/search on
 * the real gateway, against a bare Fastify route running the same SQL (dci-baseline.ts), both over
 * HTTP from the load generator in its own process, in the same run, on the same database. Two
 * searches, each answered with Group records (households with their members):
 *  - ID lookup: idtype-value by national ID (UIN), a different one per request;
 *  - district + PMT: expression `admin_area_code $eq <district> and poverty_score $lt <threshold>`,
 *    page of 100, a different district and threshold per request.
 * The ratio is the cost of the DCI path over the same SQL: API key check, signature policy (and the
 * signature of the answer), schema validation of the message, envelope, exchange record (insert and
 * update), consent settings, field policy, DCI record shaping, serialisation, audit entry. Each run
 * lists the statements of one request of each path (sql-tap.ts) and fails if the SQL differs.
 */
import { randomUUID } from 'node:crypto';
import { BASELINE_PATH, startBaseline } from './dci-baseline.ts';
import { districtAndScore, idLookup, messageTemplate, type Scenario } from './dci-scenarios.ts';
import { latencyMetrics, latencyReport, openLoopLatency, type Latency } from './dci-latency.ts';
import type { BenchGateway, BenchSettings } from './gateway.ts';
import { higher, lower, type BenchOutput, type Metric } from './history.ts';
import { loadFromOtherProcess, printTable, type Figures, type LoadSpec } from './measure.ts';
import { flat, difference, type Statement } from './sql-tap.ts';

/** Connections when BENCH_CONNECTIONS does not say (the DCI issue's figure). */
const CONNECTIONS = 16;
const SYNC_SEARCH = '/dci/sr/registry/sync/search';
/** Requests checked (same SQL, successful answer) before each scenario's load. */
const CHECKED = 5;
/** Goal of the DCI issue: share of the baseline's requests/s kept (the p99 goal: dci-latency.ts). */
const GOALS = { ratio: 0.6 };

export async function benchDciSearch(bench: BenchGateway, settings: BenchSettings): Promise<BenchOutput> {
  const connections = settings.connections ?? CONNECTIONS;
  const key = await bench.keyFor('integrator', 'bench-dci-integrator');
  const baseline = await startBaseline(async (sql, values) => {
    bench.tap.note(sql, values);
    return (await bench.database.executeSql(sql, values)).rows;
  });
  try {
    const searches = [
      // The latency goal is the ID lookup's: only it is also measured in open loop.
      { name: 'lookup', load: idLookup, openLoop: true },
      { name: 'expression', load: districtAndScore, openLoop: false },
    ].filter((s) => !settings.dciSearches || settings.dciSearches.includes(s.name));
    if (searches.length === 0) {
      throw new Error('BENCH_DCI_SEARCHES names none of lookup, expression');
    }
    const loaded = await Promise.all(
      searches.map(async (s) => ({ ...s, scenario: await s.load(bench.database) })),
    );
    const sections: Section[] = [];
    for (const { scenario, openLoop } of loaded) {
      sections.push(
        await measureSearch(bench, settings, { url: baseline.url, key, connections }, scenario, openLoop),
      );
    }
    const heading =
      `engine: ${bench.database.engine}, ${settings.households} households, ${connections} connections, ` +
      `${settings.primeSeconds} s of load on the DCI path first (not counted), ` +
      `${settings.rounds} rounds of baseline then DCI path, ${settings.warmupSeconds} s warm-up then ${settings.seconds} s each`;
    const summaries = sections.flatMap((s) => (s.summary ? [s.summary] : []));
    return {
      report: [heading, ...sections.map((s) => s.text)].join('\n\n'),
      metrics: sections.flatMap((s) => s.metrics),
      ...(summaries.length > 0 ? { summary: summaries.join('\n\n') } : {}),
    };
  } finally {
    await baseline.close();
  }
}

/**
 * One search: its SQL checked against the baseline's, priming, the closed-loop rounds of baseline
 * then DCI path, and (ID lookup) the open-loop runs at shares of the baseline's throughput.
 */
async function measureSearch(
  bench: BenchGateway,
  settings: BenchSettings,
  { url, key, connections }: { url: string; key: string; connections: number },
  scenario: Scenario,
  openLoop: boolean,
): Promise<Section> {
  const body = messageTemplate(scenario.criteria);
  const check = await checkSameSql(bench, url, body, scenario, key);
  const spec = (origin: string, path: string): LoadSpec => ({
    origin,
    method: 'POST',
    path,
    body,
    values: scenario.values,
    // The same headers to both: the baseline ignores them.
    headers: { authorization: `Bearer ${key}`, 'x-purpose': 'benchmark' },
    seconds: settings.seconds,
    warmupSeconds: settings.warmupSeconds,
    connections,
  });
  const specs = { base: spec(url, BASELINE_PATH), dci: spec(bench.url, SYNC_SEARCH) };
  if (settings.primeSeconds > 0) {
    // Not counted: brings the DCI path's code to steady state before the first round.
    await loadFromOtherProcess(
      'priming the DCI path',
      { ...specs.dci, seconds: settings.primeSeconds, warmupSeconds: 0 },
      bench.dir,
    );
    await bench.tap.quiet();
  }
  const rounds: Round[] = [];
  for (let round = 1; round <= settings.rounds; round++) {
    const base = await loadFromOtherProcess(
      `${round}: baseline: bare Fastify route, same SQL`,
      specs.base,
      bench.dir,
    );
    await bench.tap.quiet();
    const dci = await loadFromOtherProcess(`${round}: DCI: POST ${SYNC_SEARCH}`, specs.dci, bench.dir);
    await bench.tap.quiet();
    rounds.push({ base, dci });
  }
  const saturation = median(rounds.map(({ base }) => base.requestsPerSecond));
  const latency = openLoop ? await openLoopLatency(bench, specs, saturation, settings.arrivals) : undefined;
  return section(scenario, check, rounds, connections, latency);
}

interface Check {
  /** The statements of one request that both paths run. */
  search: Statement[];
  /** The statements only the DCI path runs (key, exchange record, consent settings, audit). */
  gatewayOnly: Statement[];
  /** Records per answer and answer sizes, over the checked requests. */
  records: number;
  dciBytes: number;
  baselineBytes: number;
}

/** Statements on the gateway's own tables, which the baseline leaves out by design. */
const isGatewayOwn = (s: Statement) =>
  /\b(api_keys|api_clients|audit_log|dci_[a-z_]+|client_[a-z_]+|oauth_[a-z_]+|anomaly_[a-z_]+|export_[a-z_]+|traffic_minutes|pg_advisory_xact_lock)\b/.test(
    s.sql,
  );

/**
 * Sends the first requests of the scenario to both, one at a time: each DCI answer must succeed,
 * and the baseline must run exactly the statements (text and parameters) the DCI path ran on the
 * registry's tables. Fails the benchmark otherwise, naming the difference.
 */
async function checkSameSql(
  bench: BenchGateway,
  baselineUrl: string,
  template: string,
  scenario: Scenario,
  key: string,
): Promise<Check> {
  const totals = { records: 0, dciBytes: 0, baselineBytes: 0 };
  let shown: Pick<Check, 'search' | 'gatewayOnly'> | undefined;
  const values = scenario.values.slice(0, CHECKED);
  for (const value of values) {
    const body = template.replaceAll('{{n}}', `check-${randomUUID()}`).replace('{{value}}', () => value);
    let dciAnswer = '';
    const dciStatements = await bench.tap.record(async () => {
      dciAnswer = await post(`${bench.url}${SYNC_SEARCH}`, body, key);
    });
    const item = (JSON.parse(dciAnswer) as { message?: { search_response?: SearchItem[] } }).message
      ?.search_response?.[0];
    if (item?.status !== 'succ') {
      throw new Error(`${scenario.name}: the DCI search did not succeed: ${dciAnswer.slice(0, 500)}`);
    }
    let baselineAnswer = '';
    const baselineStatements = await bench.tap.record(async () => {
      baselineAnswer = await post(`${baselineUrl}${BASELINE_PATH}`, body, key);
    });
    // The gateway's background rounds (notification outbox, retention, the export files' purge and
    // schedules, traffic counters) touch only its own tables.
    const search = dciStatements.filter((s) => !isGatewayOwn(s));
    const drift = difference(
      search,
      baselineStatements.filter((s) => !isGatewayOwn(s)),
    );
    if (drift) {
      throw new Error(
        `${scenario.name}: the baseline no longer runs the DCI search's SQL (update bench/dci-baseline.ts): ${drift}`,
      );
    }
    totals.records += item.data?.reg_records.length ?? 0;
    totals.dciBytes += Buffer.byteLength(dciAnswer);
    totals.baselineBytes += Buffer.byteLength(baselineAnswer);
    // The shortest list: the one no background round ran into.
    const gatewayOnly = dciStatements.filter(isGatewayOwn);
    if (!shown || gatewayOnly.length < shown.gatewayOnly.length) {
      shown = { search, gatewayOnly };
    }
  }
  const n = Math.max(1, values.length);
  return {
    ...shown!,
    records: totals.records / n,
    dciBytes: totals.dciBytes / n,
    baselineBytes: totals.baselineBytes / n,
  };
}

interface SearchItem {
  status: string;
  data?: { reg_records: unknown[] };
}

async function post(url: string, body: string, key: string): Promise<string> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, 'x-purpose': 'benchmark' },
    body,
  });
  const text = await response.text();
  if (!response.ok) {
    throw new Error(`POST ${url} answered ${response.status}: ${text.slice(0, 500)}`);
  }
  return text;
}

/** One round: the baseline, then the DCI path right after it. */
interface Round {
  base: Figures;
  dci: Figures;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/** A search's part of the report, its figures for the history, and what bench/README.md shows of it. */
interface Section {
  text: string;
  metrics: Metric[];
  summary?: string;
}

function section(
  scenario: Scenario,
  check: Check,
  rounds: Round[],
  connections: number,
  latency: Latency | undefined,
): Section {
  const closed = closedLoopReport(rounds, connections, latency !== undefined);
  const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
  const list = (statements: Statement[]) =>
    statements.map((s, i) => `${i + 1}. ${clip(flat(s.sql))}`).join('\n');
  const text = [
    `### ${scenario.name}`,
    closed.table,
    closed.verdicts,
    ...(latency ? [latencyReport(latency)] : []),
    `Per answer (first ${CHECKED} requests): ${check.records.toFixed(1)} records, ` +
      `DCI ${kb(check.dciBytes)}, baseline ${kb(check.baselineBytes)}.`,
    `Statements of one request, run by both (checked equal, parameters too):\n\n${list(check.search)}`,
    `Run by the DCI path only (besides BEGIN/COMMIT):\n\n${list(check.gatewayOnly)}`,
  ].join('\n\n');
  if (!latency) {
    return { text, metrics: closedLoopMetrics(scenario.label, rounds, false) };
  }
  return {
    text,
    metrics: [...closedLoopMetrics(scenario.label, rounds, true), ...latencyMetrics(scenario.label, latency)],
    summary: `${scenario.label}, closed loop: ${closed.ratio}.\n\n${latencyReport(latency)}`,
  };
}

const ratiosOf = (rounds: Round[]) =>
  rounds.map(({ base, dci }) => dci.requestsPerSecond / base.requestsPerSecond);

/**
 * The rounds in one table (each DCI row's ratio to the baseline of its round), the median ratio
 * against its goal, and, where the open loop judges the p99, what bounds the closed loop's.
 */
function closedLoopReport(rounds: Round[], connections: number, withP99: boolean) {
  const ratios = ratiosOf(rounds);
  const ratio = median(ratios);
  const verdict =
    `median ratio ${ratio.toFixed(3)} (rounds ${ratios.map((r) => r.toFixed(3)).join(', ')}; ` +
    `goal >= ${GOALS.ratio}: ${ratio >= GOALS.ratio ? 'met' : 'NOT met'})`;
  const p99 =
    `DCI median p99 ${median(rounds.map(({ dci }) => dci.p99)).toFixed(2)} ms in the closed loop ` +
    `(the p99 goal is judged in the open loop below; ${latencyContext(rounds, connections)})`;
  const table = rounds
    .flatMap(({ base, dci }, i) =>
      printTable([base, dci], base)
        .split('\n')
        .slice(i === 0 ? 0 : 2),
    )
    .join('\n');
  return { table, ratio: verdict, verdicts: `${withP99 ? `${verdict}; ${p99}` : verdict}.` };
}

/** Medians of the rounds, kept in the history; the closed-loop p99 where the search has a latency goal. */
function closedLoopMetrics(label: string, rounds: Round[], withP99: boolean): Metric[] {
  const medianOf = (figure: (round: Round) => number) => median(rounds.map(figure));
  return [
    higher(
      `${label}: ratio DCI ÷ bare route, closed loop (median of rounds)`,
      median(ratiosOf(rounds)),
      'ratio',
    ),
    higher(
      `${label}: bare route, closed loop`,
      medianOf(({ base }) => base.requestsPerSecond),
      'req/s',
    ),
    higher(
      `${label}: DCI, closed loop`,
      medianOf(({ dci }) => dci.requestsPerSecond),
      'req/s',
    ),
    ...(withP99
      ? [
          lower(
            `${label}: DCI p99, closed loop`,
            medianOf(({ dci }) => dci.p99),
            'ms',
          ),
        ]
      : []),
  ];
}

/**
 * What bounds the p99 here: the load generator is a closed loop (each connection sends its next
 * request when the answer arrives), so at full load the mean latency is connections ÷ requests/s
 * (Little's law), whatever the path does; and the bare route's own p99 on the same machine.
 */
function latencyContext(rounds: Round[], connections: number): string {
  const dciRate = median(rounds.map(({ dci }) => dci.requestsPerSecond));
  const baseP99 = median(rounds.map(({ base }) => base.p99));
  const floor = (connections / dciRate) * 1000;
  return (
    `at ${connections} connections and ${dciRate.toFixed(0)} req/s the mean latency is ${floor.toFixed(1)} ms ` +
    `(connections ÷ req/s); the bare route's own median p99 ${baseP99.toFixed(2)} ms`
  );
}

const clip = (sql: string) => (sql.length > 160 ? `${sql.slice(0, 157)}...` : sql);
