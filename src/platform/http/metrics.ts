import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { App } from './types.ts';

const PREFIX = 'spx_';

/** Prometheus metrics of one gateway instance (a registry per app, so tests can build many). */
export function installMetrics(app: App): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: PREFIX });
  // prom-client's default gauges nodejs_active_{handles,requests,resources}_total break the
  // Prometheus naming rule that only counters end in _total (`promtool check metrics` fails on them).
  // Each is the sum of the gauge of the same name without _total, grouped by type: dropped.
  for (const gauge of ['handles', 'requests', 'resources']) {
    registry.removeSingleMetric(`${PREFIX}nodejs_active_${gauge}_total`);
  }
  const requests = new Counter({
    name: 'spx_http_requests_total',
    help: 'HTTP requests by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'spx_http_request_duration_seconds',
    help: 'HTTP request duration by route',
    labelNames: ['method', 'route'] as const,
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [registry],
  });
  app.addHook('onResponse', async (request, reply) => {
    // The route pattern, never the concrete URL: URLs can carry identifiers.
    const route = request.routeOptions.url ?? 'unmatched';
    requests.inc({ method: request.method, route, status: String(reply.statusCode) });
    duration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });
  return registry;
}
