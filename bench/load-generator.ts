/**
 * The load generator, run in its own process so that it does not share the gateway's event loop,
 * with requests made from a template, reading its settings from a JSON file (LoadSpec): a closed
 * loop (autocannon) or, when the spec gives a rate, an open loop (open-loop.ts). A warm-up run (not
 * counted) precedes the measured one. Prints MEASURING when the measured run starts, then one JSON
 * line: requests/s, latency percentiles and its own CPU time of the measured run.
 */
import { createPrivateKey, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { type Signable, signEnvelope } from '@spx/dci-client';
import { MEASURING, type LoadResult, type LoadSpec } from './measure.ts';
import { arrivalTimes, openLoop } from './open-loop.ts';

const specFile = process.argv[2];
if (!specFile) {
  console.error('usage: load-generator SPEC.json');
  process.exit(2);
}
const spec = JSON.parse(readFileSync(specFile, 'utf8')) as LoadSpec;
const run = randomBytes(4).toString('hex');
let next = 0;

/** The template with the value and a unique token put in (split once: no `$` patterns of String.replace). */
function filler(template: string): (value: string, n: string) => string {
  const parts = template.split('{{value}}').map((part) => part.split('{{n}}'));
  return (value, n) => parts.map((pieces) => pieces.join(n)).join(value);
}
const pathOf = filler(spec.path);
const filledBody = spec.body === undefined ? undefined : filler(spec.body);
const bodyOf = filledBody && spec.sign ? signed(filledBody, spec.sign) : filledBody;

/** Bodies signed as the client would sign them (a DCI signature over each message as sent). */
function signed(
  fill: (value: string, n: string) => string,
  { senderId, keyId, privateKeyPem }: NonNullable<LoadSpec['sign']>,
): (value: string, n: string) => string {
  const key = {
    kid: { senderId, keyId, algorithm: 'ed25519' as const },
    privateKey: createPrivateKey(privateKeyPem),
  };
  return (value, n) => JSON.stringify(signEnvelope(JSON.parse(fill(value, n)) as Signable, key));
}

const headers = {
  ...spec.headers,
  ...(bodyOf && !spec.headers['content-type'] ? { 'content-type': 'application/json' } : {}),
};

/** The next request: the next value in turn, and a token no other request of the run has. */
function nextRequest() {
  const i = next++;
  const value = spec.values[i % spec.values.length]!;
  const n = `${run}-${i}`;
  return { path: pathOf(value, n), ...(bodyOf ? { body: bodyOf(value, n) } : {}) };
}

/** autocannon: `connections` connections, each sending its next request when the answer arrives. */
async function closedLoop(seconds: number): Promise<Omit<LoadResult, 'cpuMs' | 'warmupFailures'>> {
  const result = await autocannon({
    url: spec.origin,
    connections: spec.connections,
    duration: seconds,
    headers,
    requests: [{ method: spec.method, setupRequest: (request) => ({ ...request, ...nextRequest() }) }],
  });
  return {
    requestsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    total: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

/** open-loop.ts: requests sent at their scheduled times, latency counted from those times. */
async function openLoad(
  { rate, arrivals }: NonNullable<LoadSpec['open']>,
  seconds: number,
): Promise<Omit<LoadResult, 'cpuMs' | 'warmupFailures'>> {
  const target = {
    origin: spec.origin,
    method: spec.method,
    headers,
    next: nextRequest,
    sockets: spec.connections,
  };
  const { achievedRate, ok, non2xx, errors, dropped, ...latency } = await openLoop(
    target,
    arrivalTimes(rate, seconds, arrivals),
    seconds,
  );
  return {
    requestsPerSecond: achievedRate,
    total: ok + non2xx + errors + dropped,
    non2xx,
    errors,
    dropped,
    ...latency,
  };
}

const load = (seconds: number) => (spec.open ? openLoad(spec.open, seconds) : closedLoop(seconds));

const warmup = spec.warmupSeconds > 0 ? await load(spec.warmupSeconds) : undefined;
// Tells the parent that the measured run starts (it reads the gateway's and the database's CPU now).
console.log(MEASURING);
const cpuBefore = process.cpuUsage();
const result = await load(spec.seconds);
const cpu = process.cpuUsage(cpuBefore);
console.log(
  JSON.stringify({
    cpuMs: (cpu.user + cpu.system) / 1000,
    ...result,
    warmupFailures: warmup ? warmup.non2xx + warmup.errors + (warmup.dropped ?? 0) : 0,
  } satisfies LoadResult),
);
