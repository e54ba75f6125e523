import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { bareHost } from './address.ts';

/**
 * Outbound requests to URLs that peers registered, connected to the address the SSRF guard checked
 * (address.ts; a custom `lookup` pins it; TLS still verifies the certificate against the host name).
 * No redirects are followed: a 3xx is an answer like any other non-2xx. `postJson` sends a DCI
 * callback; `getBody` is a GET whose answer is read (a JWKS), `postForm` a form POST whose answer is
 * read (an OAuth token endpoint), `sendRequest` any request whose answer is read (ODK Central).
 */

export interface PostOptions {
  /** The checked address to connect to. */
  address: { address: string; family: number };
  timeoutMs: number;
  signal: AbortSignal;
  headers?: Record<string, string>;
}

/** Bytes of the peer's answer read at most; the rest is discarded unread. */
const MAX_ANSWER_BYTES = 64 * 1024;

/** POSTs `body` and resolves with the HTTP status; rejects on network errors, timeout or abort. */
export function postJson(url: URL, body: unknown, options: PostOptions): Promise<{ statusCode: number }> {
  const payload = Buffer.from(JSON.stringify(body));
  const signal = signalOf(options);
  return new Promise((resolve, reject) => {
    const request = pinnedRequest(
      url,
      'POST',
      { 'content-type': 'application/json', 'content-length': String(payload.length), ...options.headers },
      options.address,
      signal,
      (response) => {
        let read = 0;
        response.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read > MAX_ANSWER_BYTES) {
            response.destroy();
          }
        });
        response.on('close', () => resolve({ statusCode: response.statusCode ?? 0 }));
        response.on('error', () => resolve({ statusCode: response.statusCode ?? 0 }));
      },
    );
    request.on('error', (error) => reject(describe(error, signal)));
    request.end(payload);
  });
}

const signalOf = (options: { signal: AbortSignal; timeoutMs: number }) =>
  AbortSignal.any([options.signal, AbortSignal.timeout(options.timeoutMs)]);

/** A request to `url` connected to the checked address, without an agent (no pooled sockets). */
function pinnedRequest(
  url: URL,
  method: 'GET' | 'POST',
  headers: Record<string, string>,
  address: PostOptions['address'],
  signal: AbortSignal,
  onResponse: (response: http.IncomingMessage) => void,
): http.ClientRequest {
  const client = url.protocol === 'https:' ? https : http;
  return client.request(
    {
      method,
      protocol: url.protocol,
      hostname: bareHost(url),
      port: url.port || undefined,
      path: `${url.pathname}${url.search}`,
      headers,
      lookup: pinnedLookup(address),
      signal,
      agent: false,
    },
    onResponse,
  );
}

/** A DNS lookup that answers the checked address, whatever the host name. */
function pinnedLookup({ address, family }: { address: string; family: number }): LookupFunction {
  return (_host, lookupOptions, callback) => {
    if (lookupOptions.all) {
      (callback as unknown as (e: null, all: { address: string; family: number }[]) => void)(null, [
        { address, family },
      ]);
    } else {
      callback(null, address, family);
    }
  };
}

type ReadOptions = Omit<PostOptions, 'headers'> & { maxBytes: number; accept: string };

/** A peer's answer, read whole. */
export interface Answer {
  statusCode: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/**
 * GETs `url` from the checked address and resolves with the status and the body, which may be at
 * most `maxBytes` long (a longer answer rejects); rejects on network errors, timeout or abort.
 */
export function getBody(url: URL, options: ReadOptions): Promise<Answer> {
  return readAnswer(url, 'GET', { accept: options.accept }, undefined, options);
}

/** Sends a request (a body, if any, with its content-type among the headers) and reads the answer like getBody. */
export function sendRequest(
  url: URL,
  request: { method: 'GET' | 'POST'; headers?: Record<string, string>; body?: Buffer },
  options: ReadOptions,
): Promise<Answer> {
  const headers = {
    accept: options.accept,
    ...(request.body ? { 'content-length': String(request.body.length) } : {}),
    ...request.headers,
  };
  return readAnswer(url, request.method, headers, request.body, options);
}

/**
 * POSTs an HTML form (application/x-www-form-urlencoded, as OAuth token endpoints take it, RFC 6749
 * §4.1.3) and resolves like getBody with the answer, whatever its status.
 */
export function postForm(
  url: URL,
  form: URLSearchParams,
  options: ReadOptions & { headers?: Record<string, string> },
): Promise<Answer> {
  const headers = { 'content-type': 'application/x-www-form-urlencoded', ...options.headers };
  return sendRequest(url, { method: 'POST', headers, body: Buffer.from(form.toString()) }, options);
}

function readAnswer(
  url: URL,
  method: 'GET' | 'POST',
  headers: Record<string, string>,
  payload: Buffer | undefined,
  options: ReadOptions,
): Promise<Answer> {
  const signal = signalOf(options);
  return new Promise((resolve, reject) => {
    const request = pinnedRequest(url, method, headers, options.address, signal, (response) => {
      const chunks: Buffer[] = [];
      let read = 0;
      response.on('data', (chunk: Buffer) => {
        read += chunk.length;
        if (read > options.maxBytes) {
          response.destroy(new Error(`the answer is longer than ${options.maxBytes} bytes`));
        } else {
          chunks.push(chunk);
        }
      });
      response.on('end', () =>
        resolve({
          statusCode: response.statusCode ?? 0,
          headers: response.headers,
          body: Buffer.concat(chunks),
        }),
      );
      response.on('error', (error) => reject(describe(error, signal, 'request')));
    });
    request.on('error', (error) => reject(describe(error, signal, 'request')));
    request.end(payload);
  });
}

/** A short reason without personal data: the network error code, or the timeout. */
function describe(error: Error, signal: AbortSignal, what = 'callback'): Error {
  if (signal.aborted) {
    const reason = signal.reason as Error | undefined;
    return new Error(
      reason?.name === 'TimeoutError' ? `the ${what} timed out` : (reason?.message ?? 'aborted'),
    );
  }
  const code = (error as NodeJS.ErrnoException).code;
  return new Error(code ? `${what} failed: ${code}` : `${what} failed: ${error.message}`);
}
