import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { App } from '#platform/http/types';
import type { TlsSettings } from './settings.ts';

// A peer that connects and never completes its handshake is dropped after this (Node's default: 120 s).
const HANDSHAKE_TIMEOUT_MS = 10_000;

export interface TlsListener {
  /** Starts listening (after the app is ready); resolves to the listener's URL. */
  listen(): Promise<string>;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The mutual-TLS listener when SPX_TLS_PORT is set, else undefined. */
    tlsListener: TlsListener | undefined;
  }
}

/**
 * The mutual-TLS listener: an HTTPS server beside Fastify's HTTP one that hands each request to the
 * same app (`app.routing`: same routes, hooks, access control and audit). Its handshake requires a
 * client certificate chaining to SPX_TLS_CLIENT_CA; the certificate authenticator then says which
 * client it is. Call before the app is ready: closing the app stops it accepting together with the
 * HTTP server (preClose) and waits for its in-flight requests (onClose) before the job queue and the
 * database close.
 */
export function tlsListener(app: App, settings: TlsSettings): TlsListener {
  const server = createServer(
    {
      cert: settings.certificatePem,
      key: settings.keyPem,
      ca: settings.clientCaPem,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
    },
    (request, response) => app.routing(request, response),
  );
  // The limits Fastify gave its own HTTP server.
  server.requestTimeout = app.server.requestTimeout;
  server.headersTimeout = app.server.headersTimeout;
  server.keepAliveTimeout = app.server.keepAliveTimeout;
  server.maxRequestsPerSocket = app.server.maxRequestsPerSocket;
  server.setTimeout(app.server.timeout);
  // TLS 1.2 renegotiation could swap the client certificate under an open connection.
  server.on('secureConnection', (socket: TLSSocket) => socket.disableRenegotiation());

  let closed = Promise.resolve();
  app.addHook('preClose', async () => {
    closed = closeServer(server);
  });
  app.addHook('onClose', async () => {
    await closed;
  });
  return { listen: () => listen(server, settings) };
}

async function listen(server: Server, { host, port }: TlsSettings): Promise<string> {
  server.listen(port, host);
  await once(server, 'listening'); // rejects on 'error' (port in use, address not available)
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return `https://${shownHost}:${address.port}`;
}

/** Stops accepting and closes idle keep-alive connections; resolves once the last connection ends. */
const closeServer = (server: Server): Promise<void> =>
  new Promise((resolve) => {
    // An error here only says the server was not listening: nothing to wait for.
    server.close(() => resolve());
  });
