/**
 * What security costs (security issue): the DCI ID lookup (sync search, idtype-value by national ID)
 * on the same gateway, in the same run, by two integrator clients:
 *  - open: no credential at all (a benchmark-only authenticator admits it, trusted-callers.ts) and
 *    no request signature (its signature policy is `none`);
 *  - secured: an OAuth 2.0 access token (a JWT verified on every request, its credential and client
 *    checked), and every request signed (policy `all`: Ed25519 over the canonical message, checked
 *    against its registered key, message time window).
 * Everything else is the same for both: per-client policy, anomaly guard, audit, exchange record and
 * our signature of the answer. Goal: the secured path keeps at least 70% of the open path's req/s.
 */
import { generateKeyPairSync } from 'node:crypto';
import type { BenchGateway, BenchSettings } from './gateway.ts';
import { idLookup, messageTemplate } from './dci-scenarios.ts';
import { higher, lower, type BenchOutput } from './history.ts';
import { loadFromOtherProcess, printTable, type LoadSpec } from './measure.ts';

const SYNC_SEARCH = '/dci/sr/registry/sync/search';
const CONNECTIONS = 16;
const GOAL = 0.7;
/** The sender_id of the benchmark's messages (dci-search.ts messageTemplate). */
const SENDER_ID = 'bench.spx.example';

export async function benchSecurityOverhead(
  bench: BenchGateway,
  settings: BenchSettings,
): Promise<BenchOutput> {
  const admin = await bench.keyFor('admin', 'bench-security-admin');
  const call = adminCalls(bench, admin);
  const open = await bench.trustedCaller('integrator', 'bench-open');
  await call('PUT', `/api/v1/clients/${open.clientId}/dci/signature`, { signature_policy: 'none' });
  const secured = await securedCaller(bench, call);

  const scenario = await idLookup(bench.database);
  const spec = (headers: Record<string, string>, sign?: LoadSpec['sign']): LoadSpec => ({
    origin: bench.url,
    method: 'POST',
    path: SYNC_SEARCH,
    body: messageTemplate(scenario.criteria),
    values: scenario.values,
    headers: { 'x-purpose': 'benchmark', ...headers },
    seconds: settings.seconds,
    warmupSeconds: settings.warmupSeconds,
    connections: settings.connections ?? CONNECTIONS,
    ...(sign ? { sign } : {}),
  });
  const openFigures = await loadFromOtherProcess(
    'open: no credential, unsigned request',
    spec(open.header),
    bench.dir,
  );
  await bench.tap.quiet();
  const securedFigures = await loadFromOtherProcess(
    'secured: OAuth access token, signed request',
    spec({ authorization: `Bearer ${await secured.token()}` }, secured.sign),
    bench.dir,
  );
  await bench.tap.quiet();
  const ratio = securedFigures.requestsPerSecond / openFigures.requestsPerSecond;
  const report = [
    `engine: ${bench.database.engine}, ${settings.households} households, ${spec({}).connections} connections, ` +
      `${settings.warmupSeconds} s warm-up then ${settings.seconds} s each; ${scenario.name}`,
    printTable([openFigures, securedFigures], openFigures),
    `security overhead ${((1 - ratio) * 100).toFixed(1)}% of req/s (goal < ${((1 - GOAL) * 100).toFixed(0)}%: ` +
      `${ratio >= GOAL ? 'met' : 'NOT met'}); gateway CPU per request ` +
      `${openFigures.cpuMsPerRequest?.toFixed(2)} ms open, ${securedFigures.cpuMsPerRequest?.toFixed(2)} ms secured.`,
  ].join('\n\n');
  return {
    report,
    metrics: [
      higher('ratio secured ÷ open', ratio, 'ratio'),
      higher('secured: OAuth access token, signed request', securedFigures.requestsPerSecond, 'req/s'),
      lower('secured p99', securedFigures.p99, 'ms'),
    ],
  };
}

type AdminCall = (method: 'POST' | 'PUT', url: string, body: unknown) => Promise<Record<string, unknown>>;

/** Admin API calls over the gateway's own port, failing the run on any error. */
function adminCalls(bench: BenchGateway, adminKey: string): AdminCall {
  return async (method, url, body) => {
    const res = await fetch(`${bench.url}${url}`, {
      method,
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const answer = (await res.json()) as Record<string, unknown>;
    if (!res.ok) {
      throw new Error(`${method} ${url}: ${res.status} ${JSON.stringify(answer)}`);
    }
    return answer;
  };
}

/**
 * An integrator that must sign every message (its Ed25519 key registered) and calls with an OAuth
 * access token obtained with a client secret (client_secret_basic), as a real integration would.
 */
async function securedCaller(bench: BenchGateway, call: AdminCall) {
  const clientId = String(
    (await call('POST', '/api/v1/clients', { name: 'bench-secured', role: 'integrator' })).id,
  );
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const keyId = 'bench-key-1';
  await call('POST', `/api/v1/clients/${clientId}/dci/keys`, {
    key_id: keyId,
    jwk: publicKey.export({ format: 'jwk' }),
  });
  await call('PUT', `/api/v1/clients/${clientId}/dci/signature`, { signature_policy: 'all' });
  const secret = String((await call('POST', `/api/v1/clients/${clientId}/oauth/secrets`, {})).client_secret);
  const token = async () => {
    const res = await fetch(`${bench.url}/oauth/token`, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'grant_type=client_credentials',
    });
    if (!res.ok) {
      throw new Error(`the token request failed: ${res.status} ${await res.text()}`);
    }
    return ((await res.json()) as { access_token: string }).access_token;
  };
  const privateKeyPem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  return { token, sign: { senderId: SENDER_ID, keyId, privateKeyPem } };
}
