/**
 * The load generator, run in its own process so that it does not share the gateway's event loop:
 * autocannon against GET /api/v1/individuals/{id} with ids drawn at random from a file.
 * Prints one JSON line: requests/s and latency percentiles.
 */
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

const [url, key, idsFile, seconds, connections] = process.argv.slice(2);
if (!url || !key || !idsFile) {
  console.error('usage: load-generator URL KEY IDS_FILE [SECONDS] [CONNECTIONS]');
  process.exit(2);
}
const ids = readFileSync(idsFile, 'utf8').trim().split('\n');
let next = 0;

const result = await autocannon({
  url,
  connections: Number(connections ?? 10),
  duration: Number(seconds ?? 10),
  headers: { authorization: `Bearer ${key}`, 'x-purpose': 'benchmark' },
  requests: [
    {
      method: 'GET',
      // A fixed stride through a shuffled list: every run reads the same spread of records.
      setupRequest: (request) => ({ ...request, path: `/api/v1/individuals/${ids[next++ % ids.length]}` }),
    },
  ],
});

console.log(
  JSON.stringify({
    requestsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    total: result.requests.total,
    non2xx: result.non2xx,
    errors: result.errors,
  }),
);
