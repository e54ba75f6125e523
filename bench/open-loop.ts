/**
 * An open-loop load generator: requests leave at times fixed in advance (Poisson arrivals at a mean
 * rate, or evenly spaced), whether or not the earlier ones have been answered, and each latency runs
 * from the request's scheduled send time to the end of its answer, so time spent queueing (in the
 * server, in its socket backlog, waiting for one of our sockets, or behind our own late timer)
 * counts. A closed loop sends less when the server slows down: the requests that would have waited
 * are never sent and a stall shows in one sample per connection ("coordinated omission", G. Tene).
 * autocannon's `overallRate` is still a closed loop: each connection waits for its answer before
 * sending again and pauses once it has sent its share of the second (lib/httpClient.js).
 */
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { percentile } from './measure.ts';

export type Arrivals = 'poisson' | 'constant';

/** Answers still missing this long after the last scheduled send are dropped (counted, not awaited). */
const DRAIN_MS = 10_000;

/** A seeded pseudo-random generator in [0, 1) (mulberry32): the same schedule in every run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Send times in ms from the start, `rate` per second on average over `seconds`. Poisson arrivals
 * (exponential gaps) are how independent users arrive: bursts and lulls at the same mean rate, so
 * the tail shows queueing that evenly spaced requests would hide.
 */
export function arrivalTimes(
  rate: number,
  seconds: number,
  arrivals: Arrivals,
  random = seededRandom(1),
): number[] {
  const gap = 1000 / rate;
  const end = seconds * 1000;
  if (arrivals === 'constant') {
    return Array.from({ length: Math.round(rate * seconds) }, (_, i) => i * gap);
  }
  const times: number[] = [];
  for (let t = 0; t < end; t += -Math.log(1 - random()) * gap) {
    times.push(t);
  }
  return times;
}

export interface OpenLoopTarget {
  /** http://host:port */
  origin: string;
  method: string;
  headers: Record<string, string>;
  /** The next request's path and body. */
  next: () => { path: string; body?: string | undefined };
  /** Most sockets open at once: requests beyond wait for one (and that wait counts). */
  sockets: number;
  drainMs?: number;
}

export interface OpenLoopResult {
  /** Requests scheduled, per second of the schedule. */
  offeredRate: number;
  /** 2xx answers per second, from the start to the last answer. */
  achievedRate: number;
  ok: number;
  non2xx: number;
  /** Connection errors. */
  errors: number;
  /** Not answered within the drain time after the last send: their wait so far is in the latencies. */
  dropped: number;
  /** Over every scheduled request, in ms from its scheduled send time (lower bounds when some were dropped). */
  p50: number;
  p95: number;
  p99: number;
  /** How late our own timer sent (p99, ms): part of every latency, the load generator's share. */
  sendLagP99: number;
}

/** Sends `times` (ms from now) to the target and waits for the answers; see the file's comment. */
export async function openLoop(
  target: OpenLoopTarget,
  times: number[],
  seconds: number,
): Promise<OpenLoopResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: target.sockets });
  const outcomes = new Outcomes();
  const lags: number[] = [];
  const start = performance.now();
  for (const [n, offset] of times.entries()) {
    const due = start + offset;
    if (due > performance.now()) {
      await sleep(due - performance.now());
    }
    lags.push(performance.now() - due);
    outcomes.sent(n, due);
    send(target, agent, (status) => outcomes.answered(n, status));
  }
  await outcomes.settle(target.drainMs ?? DRAIN_MS);
  agent.destroy();
  const latencies = outcomes.latencies.sort((a, b) => a - b);
  lags.sort((a, b) => a - b);
  return {
    offeredRate: times.length / seconds,
    achievedRate: outcomes.counts.ok / Math.max(0.001, (outcomes.lastAnswer - start) / 1000),
    ...outcomes.counts,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
    sendLagP99: percentile(lags, 99),
  };
}

/** The requests sent and what became of them. */
class Outcomes {
  readonly counts = { ok: 0, non2xx: 0, errors: 0, dropped: 0 };
  /** ms from each request's scheduled send time to its answer (or to the cut-off, when dropped). */
  readonly latencies: number[] = [];
  lastAnswer = performance.now();
  /** Scheduled send time (performance.now()) of each request not yet answered, by its number. */
  private readonly waiting = new Map<number, number>();
  private onEmpty = () => {};

  sent(n: number, scheduled: number): void {
    this.waiting.set(n, scheduled);
  }

  /** Its answer ended with this status, or a connection error (no status). */
  answered(n: number, status?: number): void {
    const scheduled = this.waiting.get(n);
    if (scheduled === undefined) {
      return; // already dropped, or a second event of the same request
    }
    this.waiting.delete(n);
    this.lastAnswer = performance.now();
    this.latencies.push(this.lastAnswer - scheduled);
    this.counts[status === undefined ? 'errors' : status >= 200 && status < 300 ? 'ok' : 'non2xx'] += 1;
    if (this.waiting.size === 0) {
      this.onEmpty();
    }
  }

  /** Waits until all are answered, or `ms` at most; the rest are dropped, with their wait so far. */
  async settle(ms: number): Promise<void> {
    if (this.waiting.size > 0) {
      const timeout = new AbortController();
      const empty = new Promise<void>((resolve) => (this.onEmpty = resolve));
      await Promise.race([empty, sleep(ms, undefined, { signal: timeout.signal }).catch(() => {})]);
      timeout.abort();
    }
    const cutOff = performance.now();
    for (const scheduled of this.waiting.values()) {
      this.latencies.push(cutOff - scheduled);
      this.counts.dropped += 1;
    }
    this.waiting.clear();
  }
}

/** One request; `done` gets the status at the end of the answer, or nothing on a connection error. */
function send(target: OpenLoopTarget, agent: http.Agent, done: (status?: number) => void) {
  const { path, body } = target.next();
  const headers =
    body === undefined
      ? target.headers
      : { ...target.headers, 'content-length': `${Buffer.byteLength(body)}` };
  const request = http.request(
    `${target.origin}${path}`,
    { method: target.method, headers, agent },
    (response) => {
      response.on('error', () => done());
      response.on('end', () => done(response.statusCode));
      response.resume();
    },
  );
  request.on('error', () => done());
  request.end(body);
}
