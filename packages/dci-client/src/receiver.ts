import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import type { DciClient } from './client.ts';
import type { TransportErrorCode } from './codes.ts';
import { DciMessageError } from './errors.ts';

/**
 * A DCI client's callback endpoint, for trying the async API on one machine (`spx dci receiver`):
 * listens on 127.0.0.1 only, takes every POST (the gateway appends `/registry/on-search`,
 * `/registry/notify`… to the registered callback URI), verifies the signature against the gateway's
 * published keys and decrypts with the DCI client (DciClient.receive), and answers as a DCI client
 * does: an ACK, or an ERR acknowledgement (HTTP 401 for a signature that does not verify, which the
 * gateway retries as a failed delivery).
 */

/** One callback, as the receiver took it. */
export interface ReceivedCallback {
  path: string;
  messageId: string | undefined;
  action: string | undefined;
  /** Why it was refused (bad signature, not decryptable, not JSON); undefined when it verified. */
  refused: string | undefined;
  /** The envelope: decrypted when it verified, else as it came. */
  envelope: unknown;
}

export interface CallbackReceiverOptions {
  /** 0: any free port. */
  port: number;
  /** Verifies (and decrypts) what arrives: registryKeys is the gateway's JWKS. */
  client: DciClient;
  onCallback(callback: ReceivedCallback): void;
}

/** The acknowledgement a DCI client answers a callback with (spec `components.responses.Response`). */
interface Ack {
  message: {
    ack_status: 'ACK' | 'ERR';
    timestamp: string;
    correlation_id: string;
    error?: { code: TransportErrorCode; message: string };
  };
}

/** Largest callback body read: the gateway's own default body limit is 1 MiB; answers may be larger. */
const MAX_BODY_BYTES = 16 * 1024 * 1024;

/** Starts listening; resolves with the base URL to register as the client's callback URI. */
export async function startCallbackReceiver(
  options: CallbackReceiverOptions,
): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((request, response) => {
    void take(request, options)
      .catch((error: unknown) => refusal('err.service.unavailable', String(error), 500))
      .then(({ status, answer }) =>
        response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(answer)),
      );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function take(
  request: IncomingMessage,
  options: CallbackReceiverOptions,
): Promise<{ status: number; answer: Ack | object }> {
  if (request.method !== 'POST') {
    return refusal('err.request.bad', `${request.method ?? ''} is not a callback: POST only`, 405);
  }
  const path = request.url ?? '/';
  const body = await readJson(request);
  const header = (body as { header?: { message_id?: unknown; action?: unknown } } | undefined)?.header;
  const seen = {
    path,
    messageId: typeof header?.message_id === 'string' ? header.message_id : undefined,
    action: typeof header?.action === 'string' ? header.action : undefined,
  };
  if (body === undefined) {
    options.onCallback({ ...seen, refused: 'the body is not JSON', envelope: undefined });
    return refusal('err.request.bad', 'the body is not JSON', 400);
  }
  try {
    const envelope = await options.client.receive(body);
    options.onCallback({ ...seen, refused: undefined, envelope });
    const answer: Ack = {
      message: {
        ack_status: 'ACK',
        timestamp: new Date().toISOString(),
        correlation_id: seen.messageId ?? randomUUID(),
      },
    };
    return { status: 200, answer };
  } catch (error) {
    if (!(error instanceof DciMessageError)) {
      throw error;
    }
    options.onCallback({ ...seen, refused: `${error.code}: ${error.message}`, envelope: body });
    // A signature that does not verify is a 401 (the sender retries it as a failed delivery);
    // a message that does not decrypt, a 400.
    return refusal(error.code, error.message, error.code === 'err.encryption.invalid' ? 400 : 401);
  }
}

function refusal(code: TransportErrorCode, message: string, status: number) {
  const answer: Ack = {
    message: {
      ack_status: 'ERR',
      timestamp: new Date().toISOString(),
      correlation_id: randomUUID(),
      // The spec limits an error message to 999 characters.
      error: { code, message: message.length > 999 ? `${message.slice(0, 996)}...` : message },
    },
  };
  return { status, answer };
}

/** The parsed body, or undefined when it is not JSON (or too large to be a callback). */
async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      return undefined;
    }
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/** What a callback carries, in a few words: its status and how many items of each kind. */
export function summaryOf(envelope: unknown): string {
  const { header, message } = (envelope ?? {}) as { header?: { status?: unknown }; message?: unknown };
  const parts = typeof header?.status === 'string' ? [`status ${header.status}`] : [];
  if (message && typeof message === 'object') {
    for (const [name, value] of Object.entries(message)) {
      if (Array.isArray(value)) {
        parts.push(`${name}: ${value.length}`);
      }
    }
  }
  return parts.join(', ');
}
