import { randomUUID } from 'node:crypto';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyServerOptions } from 'fastify';
import type { Config } from '#config/settings';
import { notFound } from '#platform/problem';
import { handleError } from './errors.ts';
import { installInputGuard } from './input-guard.ts';
import { lazySchemaCompilers } from './lazy-schemas.ts';
import type { App } from './types.ts';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

export interface Server {
  app: App;
  /** Whether the app is closing (answers then close their keep-alive connection; /health says so). */
  isClosing(): boolean;
}

/**
 * The Fastify instance every capability is registered on: request ids, limits, one error handler,
 * the input guard, a problem for unknown routes, and the security headers of every answer.
 */
export function createServer(config: Config, logger?: FastifyServerOptions['logger']): Server {
  let closing = false;
  const app = Fastify({
    logger: logger ?? { level: config.logLevel, serializers: { req: safeRequestLog } },
    bodyLimit: config.bodyLimit,
    requestTimeout: config.requestTimeoutMs,
    // Honour a caller's request id so logs and audit rows join up across systems.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    ajv: { customOptions: { removeAdditional: false, allErrors: true, coerceTypes: 'array' } },
    schemaController: lazySchemaCompilers(),
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as App;

  app.setErrorHandler(handleError);
  // NUL characters and numbers no column holds: a 400 naming the field, on every route.
  installInputGuard(app);
  app.setNotFoundHandler((request) => {
    throw notFound(`route ${request.method} ${request.url.split('?')[0]}`);
  });
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    if (closing) {
      // Responses finishing during shutdown close their keep-alive connection, so close() is not
      // held up by idle sockets until the keep-alive timeout.
      reply.header('connection', 'close');
    }
    if (!request.url.startsWith('/docs')) {
      reply.header('cache-control', 'no-store');
      reply.header('x-frame-options', 'DENY');
    }
  });
  app.addHook('preClose', async () => {
    closing = true;
  });
  return { app, isClosing: () => closing };
}

/** Request log lines carry the method and the path only: query strings can hold personal data. */
function safeRequestLog(req: { method: string; url: string; id: string }) {
  return { method: req.method, path: req.url.split('?')[0], id: req.id };
}
