import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fieldNames } from '#exports/fields';
import { createClient, createKey } from '#platform/auth/clients';
import { testDatabaseUrl } from '#test/db';
import { expression, searchMessage } from '#test/dci/harness';
import { createExportTestApp, type ExportTestApp } from '#test/exports/support';

/**
 * "Every long read yields to other requests": while the heaviest read each channel allows runs, all
 * at once (export feeds up to a client's limit, a download of the whole registry, a sync DCI answer
 * of the most records, a GraphQL query of the highest cost, a full subject report, a program
 * summary, an async DCI answer of the most records), the gateway's own work never holds its event
 * loop for 100 ms, so `/health` is answered within that. The readers run on a worker thread, as other
 * systems would from elsewhere, timing `/health` every 10 ms; the gateway's thread is watched for
 * the CPU time it spends between two turns of its event loop (see watchLoop: a busy CI machine
 * stretches wall time, not that). Before the fix, the same reads held it for 2.5 s of work at a time
 * and `/health` waited 3 s (PGlite runs queries on the gateway's thread; each read's batches, pages
 * and answer were one unbroken stretch); the async answer, 10,000 records signed, stored and posted
 * to the reader's callback endpoint, for 1.2 s (on PostgreSQL).
 */

/** The longest the gateway's own work may hold its event loop: what /health would then wait at most. */
const BOUND_MS = 100;
const HOUSEHOLDS = 1000;
/**
 * The async answer is read on PostgreSQL only: PGlite stores its 40 MB in one statement that runs
 * on the gateway's thread (1 to 2 s); only an answer stored in parts would shorten that.
 */
const ASYNC_ANSWER = testDatabaseUrl() !== undefined;

let t: ExportTestApp;
let base: string;
let subject: string;
/** The readers' client: async DCI messages unsigned, callbacks to the reader thread's endpoint. */
let reader: { id: string; key: string };

const MEMBER = `id householdId relationshipToHead givenName middleName familyName sex birthDate birthYear phone
  maritalStatus disability disabilityType isDeceased deceasedDate consent { dataSharing contact }
  identifiers { type value } status registeredAt updatedAt version`;
const HOUSEHOLD = `id householdNumber groupType status adminAreaCode location { latitude longitude } addressLine
  locality pmtScore incomeBand dwellingType waterSource hasElectricity assets memberCount registeredAt
  updatedAt version`;
/** Priced at 9,800 records of the 10,000 a query may cost (graphql/limits.ts), pages of 500 and 300. */
const GRAPHQL = `query Heaviest {
  households(first: 500) { edges { node { ${HOUSEHOLD} members { ${MEMBER} } } } }
  more: households(first: 300) { edges { node { ${HOUSEHOLD} members { ${MEMBER} } } } }
  individuals(first: 500) { edges { node { ${MEMBER} } } }
}`;

beforeAll(async () => {
  // The job queue runs: async DCI messages are answered by a job.
  t = await createExportTestApp(HOUSEHOLDS, { jobsEnabled: ASYNC_ANSWER });
  if (!ASYNC_ANSWER) {
    console.warn('[spx] long reads: the async DCI answer is read on PostgreSQL only (DATABASE_URL)');
  }
  const client = await createClient(t.database.db, { name: 'reader', role: 'admin' });
  reader = { id: client.id, key: (await createKey(t.database.db, client, { expiresInDays: 1 })).key };
  await send('PUT', `/api/v1/clients/${reader.id}/dci/signature`, { signature_policy: 'none' });
  await t.define({
    name: 'everything',
    entity: 'household_members',
    fields: fieldNames('household_members'),
    format: 'json',
  });
  // The most a subject report shows: 5,000 accesses to one person (fast SQL, not 5,000 requests),
  // chained among themselves only: the trail is not verified here.
  const person = await t.database.db
    .selectFrom('individuals')
    .select('id')
    .limit(1)
    .executeTakeFirstOrThrow();
  subject = person.id;
  await t.database.executeSql(
    `insert into audit_log (client_name, action, resource_type, record_count, outcome, subject_ids, prev_hash, hash)
     select 'reader', 'dci.sr.search', 'dci_transaction', 1, 'success', array['${subject}'], 'seed-' || (g - 1), 'seed-' || g
     from generate_series(1, 5000) g`,
  );
  base = await t.app.listen({ port: 0, host: '127.0.0.1' });
  await warmUp();
}, 120_000);

/**
 * Each channel once, lightly: what a route compiles or creates on first use (the DCI spec's
 * validators, our signing key, the GraphQL schema's caches) is no long read.
 */
async function warmUp(): Promise<void> {
  await send(
    'POST',
    '/dci/sr/registry/sync/search',
    searchMessage(expression('Group', { pmt_score: { $lt: 1 } })),
  );
  await send('POST', '/graphql', {
    query: '{ households(first: 1) { edges { node { id members { id } } } } }',
  });
  await send(
    'GET',
    '/api/v1/export-definitions/everything/data?legal_basis=public_task&purpose=warm-up&limit=1',
  );
  await send('GET', `/api/v1/audit/subjects/${subject}`);
  await send('GET', '/api/v1/ibr/programs/CCT/summary');
}
afterAll(() => t.close());

/** As an admin, expecting a 200. */
const send = (method: 'GET' | 'POST' | 'PUT', url: string, payload?: unknown) =>
  t.send(method, url, payload).then((res) => expect(res.statusCode, `${url}: ${res.body}`).toBe(200));

interface Plan {
  base: string;
  key: string;
  /** ws: a feed, read until its snapshot ends; callback: acknowledged, then answered to the reader. */
  reads: Record<string, { method: string; path: string; body?: unknown; ws?: boolean; callback?: boolean }>;
}
interface Outcome {
  health: { max: number; count: number };
  reads: Record<string, { status: number; bytes: number; messages?: number; error?: string }>;
}

/** The gateway thread's time on a CPU so far, in ms (Linux: its schedstat), or undefined. */
function threadCpuMs(): number | undefined {
  try {
    return Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[0]) / 1e6;
  } catch {
    return undefined;
  }
}

/**
 * Watches the gateway's event loop from a 1 ms timer: the longest gap between two turns (wall
 * time), and the most CPU time the gateway's thread spent in one gap. The second is how long the
 * gateway's own work held the loop, which a CI machine busy with other processes does not stretch
 * (there, a gap of 300 ms held 15 ms of our work); without a thread clock (not Linux), the wall time.
 */
function watchLoop(): { stop(): { heldMs: number; wallMs: number } } {
  let heldMs = 0;
  let wallMs = 0;
  let last = performance.now();
  let lastCpu = threadCpuMs();
  const timer = setInterval(() => {
    const now = performance.now();
    const cpu = threadCpuMs();
    wallMs = Math.max(wallMs, now - last);
    heldMs = Math.max(heldMs, cpu !== undefined && lastCpu !== undefined ? cpu - lastCpu : now - last);
    last = now;
    lastCpu = cpu;
  }, 1);
  return {
    stop() {
      clearInterval(timer);
      return { heldMs, wallMs };
    },
  };
}

/**
 * Runs the reads at once from a worker thread, timing /health all along. The thread first tells
 * the origin of its callback endpoint, which `prepare` makes the plan for.
 */
function readAtOnce(prepare: (callbackOrigin: string) => Promise<Plan>): Promise<Outcome> {
  const worker = new Worker(READER, { eval: true });
  return new Promise((resolve, reject) => {
    worker.once('message', (origin: string) => {
      worker.once('message', (outcome: Outcome) => {
        void worker.terminate();
        resolve(outcome);
      });
      prepare(origin).then((plan) => worker.postMessage(plan), reject);
    });
    worker.once('error', reject);
  });
}

describe('long reads', () => {
  it('leave the event loop within 100 ms to /health, the heaviest read of each channel running at once', async () => {
    const feed = {
      method: 'GET',
      path: '/api/v1/export-definitions/everything/feed?legal_basis=public_task&snapshot=true',
      ws: true,
    };
    const page = (n: number) => ({
      ...expression('Group', { pmt_score: { $gte: 0 } }),
      pagination: { page_size: 500, page_number: n },
    });
    // The heaviest async search: 20 items of 500 Group records, the most an answer holds (10,000).
    const asyncSearch = async (callbackOrigin: string) => {
      const callbacks = { callback_origins: [callbackOrigin], allow_private_addresses: true };
      await send('PUT', `/api/v1/clients/${reader.id}/dci`, callbacks);
      const body = searchMessage(...Array.from({ length: 20 }, (_, i) => page(1 + (i % 2))));
      body.header['sender_uri'] = `${callbackOrigin}/registry/on-search`;
      return { method: 'POST', path: '/dci/sr/registry/search', body, callback: true };
    };
    const prepare = async (callbackOrigin: string): Promise<Plan> => ({
      base,
      key: reader.key,
      reads: ASYNC_ANSWER ? { ...reads, 'async search': await asyncSearch(callbackOrigin) } : reads,
    });
    const reads: Plan['reads'] = {
      // As many feeds as one client may open, each sending its snapshot of the whole registry.
      ...Object.fromEntries([1, 2, 3, 4].map((n) => [`feed ${n}`, feed])),
      download: {
        method: 'GET',
        path: '/api/v1/export-definitions/everything/data?legal_basis=public_task',
      },
      // A sync answer as large as it may be: 1,000 Group records with their members.
      'dci search': {
        method: 'POST',
        path: '/dci/sr/registry/sync/search',
        body: searchMessage(page(1), page(2)),
      },
      graphql: { method: 'POST', path: '/graphql', body: { query: GRAPHQL } },
      'subject report': { method: 'GET', path: `/api/v1/audit/subjects/${subject}` },
      'program summary': { method: 'GET', path: '/api/v1/ibr/programs/CCT/summary?level=3' },
    };
    const watch = watchLoop();
    const outcome = await readAtOnce(prepare);
    const loop = watch.stop();

    const statuses = Object.fromEntries(
      Object.entries(outcome.reads).map(([name, read]) => [name, read.error ?? read.status]),
    );
    const expected = Object.fromEntries(Object.keys(reads).map((name) => [name, 200]));
    expect(statuses).toEqual(ASYNC_ANSWER ? { ...expected, 'async search': 202 } : expected);
    const people = Number(
      (await t.database.db
        .selectFrom('individuals')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirst())!.n,
    );
    // Each feed sent ready, every member, snapshot_end.
    expect(outcome.reads['feed 1']!.messages).toBe(people + 2);
    // The reads were heavy: megabytes each, the DCI answer with its 1,000 records.
    expect(outcome.reads['dci search']!.bytes).toBeGreaterThan(3_000_000);
    expect(outcome.reads['graphql']!.bytes).toBeGreaterThan(2_000_000);
    if (ASYNC_ANSWER) {
      // The callback carried the 10,000 records.
      expect(outcome.reads['async search']!.bytes).toBeGreaterThan(30_000_000);
    }

    const held =
      `the gateway's work held its event loop up to ${loop.heldMs.toFixed(0)} ms at a time ` +
      `(${loop.wallMs.toFixed(0)} ms with the time the machine gave other processes); ` +
      `/health took up to ${outcome.health.max.toFixed(0)} ms, answered ${outcome.health.count} times`;
    expect(loop.heldMs, held).toBeLessThan(BOUND_MS);
    expect(outcome.health.count, held).toBeGreaterThan(20);
  }, 120_000);
});

/**
 * The reader thread (plain JavaScript: worker threads do not load TypeScript): every read at once,
 * bodies read and counted, feeds read until their snapshot ends; /health every 10 ms meanwhile.
 */
const READER = `
const { parentPort } = require('node:worker_threads');
const { createServer } = require('node:http');
const WebSocket = require('ws');
let base;
let headers;

// A DCI client's callback endpoint: counts the bytes of each message and acknowledges it.
const callbacks = [];
let arrived = () => {};
const endpoint = createServer((req, res) => {
  let bytes = 0;
  req.on('data', (chunk) => (bytes += chunk.length));
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"message":{"ack_status":"ACK"}}');
    callbacks.push(bytes);
    arrived();
  });
});
const callback = () =>
  callbacks.length > 0 ? Promise.resolve(callbacks.shift()) : new Promise((resolve) => (arrived = resolve)).then(callback);

function feed(path) {
  return new Promise((resolve) => {
    const socket = new WebSocket(base.replace('http', 'ws') + path, { headers });
    let messages = 0;
    let bytes = 0;
    socket.on('message', (data) => {
      messages += 1;
      bytes += data.length;
      if (data.includes('"snapshot_end"')) {
        socket.close();
        resolve({ status: 200, bytes, messages });
      } else if (data.includes('"type":"error"')) {
        socket.close();
        resolve({ status: 0, bytes, messages, error: data.toString() });
      }
    });
    socket.on('unexpected-response', (_req, res) => resolve({ status: res.statusCode, bytes: 0 }));
    socket.on('error', (error) => resolve({ status: 0, bytes: 0, error: String(error) }));
  });
}

async function http(read) {
  const res = await fetch(base + read.path, {
    method: read.method,
    headers,
    body: read.body === undefined ? undefined : JSON.stringify(read.body),
  });
  let bytes = 0;
  for await (const chunk of res.body) bytes += chunk.length;
  return { status: res.status, bytes: read.callback && res.status === 202 ? await callback() : bytes };
}

endpoint.listen(0, '127.0.0.1', () => parentPort.postMessage('http://127.0.0.1:' + endpoint.address().port));
parentPort.once('message', async (plan) => {
  base = plan.base;
  headers = { authorization: 'Bearer ' + plan.key, 'x-purpose': 'long reads test', 'content-type': 'application/json' };
  const reads = plan.reads;
  let done = false;
  const health = { max: 0, count: 0 };
  const polling = (async () => {
    while (!done) {
      const started = performance.now();
      await (await fetch(base + '/health')).text();
      health.max = Math.max(health.max, performance.now() - started);
      health.count += 1;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  const names = Object.keys(reads);
  const results = await Promise.all(
    names.map((name) => (reads[name].ws ? feed(reads[name].path) : http(reads[name])).catch((error) => ({ status: 0, bytes: 0, error: String(error) }))),
  );
  done = true;
  await polling;
  endpoint.close();
  parentPort.postMessage({ health, reads: Object.fromEntries(names.map((name, i) => [name, results[i]])) });
});
`;
