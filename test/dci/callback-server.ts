import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'vitest';

/**
 * A DCI client's callback endpoint on a real port of 127.0.0.1 (node:http), recording every POST it
 * receives and answering with the status the test sets (an ACK body on 2xx, as a DCI client would).
 */
export interface CallbackServer {
  /** http://127.0.0.1:<port> */
  origin: string;
  received: { path: string; headers: IncomingHttpHeaders; body: Record<string, unknown> }[];
  /** The HTTP status the next calls are answered with. */
  answerWith(status: number): void;
  /** Waits until `count` calls arrived (or fails after `timeoutMs`). */
  waitFor(count: number, timeoutMs?: number): Promise<CallbackServer['received']>;
  close(): Promise<void>;
}

export async function startCallbackServer(): Promise<CallbackServer> {
  const received: CallbackServer['received'] = [];
  let status = 200;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      received.push({ path: req.url ?? '', headers: req.headers, body: JSON.parse(text || '{}') });
      const ack = {
        message: { ack_status: 'ACK', timestamp: new Date().toISOString(), correlation_id: 'cb' },
      };
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(ack));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    received,
    answerWith: (code) => {
      status = code;
    },
    waitFor: (count, timeoutMs = 15_000) =>
      until(() => (received.length >= count ? received : undefined), timeoutMs, `${count} callback(s)`),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Polls `probe` until it returns a value, failing the test after `timeoutMs`. */
export async function until<T>(
  probe: () => T | undefined | Promise<T | undefined>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) {
      return value;
    }
    if (Date.now() > deadline) {
      expect.fail(`timed out waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** An origin where nothing listens (a callback server that is down). */
export async function deadOrigin(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
