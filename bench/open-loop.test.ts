import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { percentile } from './measure.ts';
import { arrivalTimes, openLoop, seededRandom } from './open-loop.ts';

describe('percentiles', () => {
  it('are read by nearest rank from known latencies', () => {
    const latencies = Array.from({ length: 100 }, (_, i) => i + 1); // 1..100 ms
    expect([50, 95, 99, 100].map((p) => percentile(latencies, p))).toEqual([50, 95, 99, 100]);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 99)).toBe(0);
  });
});

describe('the open-loop schedule', () => {
  it('spaces constant arrivals evenly at the rate', () => {
    const times = arrivalTimes(100, 2, 'constant');
    expect(times).toHaveLength(200);
    expect(times.slice(0, 3)).toEqual([0, 10, 20]);
  });

  it('draws Poisson arrivals at the mean rate, with gaps as uneven as an exponential (and the same every run)', () => {
    const times = arrivalTimes(1000, 10, 'poisson');
    expect(times.length).toBeGreaterThan(9700);
    expect(times.length).toBeLessThan(10300);
    const gaps = times.slice(1).map((t, i) => t - times[i]!);
    const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
    const sd = Math.sqrt(gaps.reduce((sum, g) => sum + (g - mean) ** 2, 0) / gaps.length);
    expect(sd / mean).toBeGreaterThan(0.95); // 1 for an exponential, 0 for even spacing
    expect(sd / mean).toBeLessThan(1.05);
    expect(arrivalTimes(1000, 10, 'poisson', seededRandom(1))).toEqual(times);
  });
});

describe('the open-loop sender', () => {
  let close = async () => {};
  afterEach(() => close());

  /** A server on 127.0.0.1 answering with `handle`; its origin. */
  async function serve(handle: (request: IncomingMessage, response: ServerResponse) => void) {
    const server = createServer(handle);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    close = () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    };
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  const target = (origin: string, path = () => '/') => ({
    origin,
    method: 'GET',
    headers: {},
    next: () => ({ path: path() }),
    sockets: 64,
  });

  it('counts a stall of the server in every request scheduled during it, not once per connection', async () => {
    const started = performance.now();
    const origin = await serve((_, response) => {
      // The server stalls for its first 300 ms, then answers at once.
      setTimeout(() => response.end('ok'), Math.max(0, 300 - (performance.now() - started)));
    });
    const result = await openLoop(target(origin), arrivalTimes(100, 1, 'constant'), 1);
    expect(result).toMatchObject({ ok: 100, non2xx: 0, errors: 0, dropped: 0 });
    // About 30 of 100 requests were scheduled in the stall, waiting up to 300 ms: p95 is in it, p50 not.
    expect(result.p95).toBeGreaterThan(150);
    expect(result.p50).toBeLessThan(100);
    expect(result.offeredRate).toBe(100);
  });

  it('counts its own lateness from the scheduled send time, and reports it as send lag', async () => {
    const origin = await serve((_, response) => response.end('ok'));
    // The sender's event loop is blocked for 200 ms from 100 ms on (as by a garbage collection).
    setTimeout(() => {
      const until = performance.now() + 200;
      while (performance.now() < until) {
        // busy
      }
    }, 100);
    const result = await openLoop(target(origin), arrivalTimes(100, 0.5, 'constant'), 0.5);
    expect(result).toMatchObject({ ok: 50, dropped: 0 });
    expect(result.p95).toBeGreaterThan(100);
    expect(result.sendLagP99).toBeGreaterThan(100);
  });

  it('counts answers that never come as dropped, at their wait so far, and other statuses apart', async () => {
    let n = 0;
    const origin = await serve((request, response) => {
      if (request.url === '/hang') {
        return; // never answered
      }
      response.statusCode = request.url === '/busy' ? 503 : 200;
      response.end();
    });
    const paths = ['/', '/busy', '/', '/', '/hang'];
    const result = await openLoop(
      { ...target(origin, () => paths[n++ % paths.length]!), drainMs: 200 },
      arrivalTimes(50, 0.2, 'constant'),
      0.2,
    );
    expect(result).toMatchObject({ ok: 6, non2xx: 2, errors: 0, dropped: 2 });
    // The two unanswered requests are the slowest tenth: counted at 200 ms or more, not left out.
    expect(result.p95).toBeGreaterThanOrEqual(200);
  });
});
