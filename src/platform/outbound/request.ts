import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { TimeSlicer } from '#platform/http/long-reads';
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

/**
 * POSTs a JSON text and resolves with the HTTP status; rejects on network errors, timeout or abort.
 * The caller writes the text (a large DCI answer is written and signed a slice at a time), which is
 * sent a slice at a time too.
 */
export function postJson(url: URL, json: string, options: PostOptions): Promise<{ statusCode: number }> {
  const signal = signalOf(options);
  const length = Buffer.byteLength(json);
  return new Promise((resolve, reject) => {
    const request = pinnedRequest(
      url,
      'POST',
      { 'content-type': 'application/json', 'content-length': String(length), ...options.headers },
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
    endInSlices(request, json).catch(reject);
  });
}

/** Characters written to a request at once (encoding 1 MB as UTF-8 takes a millisecond or two). */
const WRITE_SLICE = 1 << 20;

/**
 * Writes a text and ends the request, a slice at a time with the event loop given back in between:
 * encoding a 40 MB answer in one go held it for 50 ms. A slice never ends between the two halves of
 * a surrogate pair (each would be written as U+FFFD). Stops early once the request is destroyed.
 */
async function endInSlices(request: http.ClientRequest, text: string): Promise<void> {
  const slicer = new TimeSlicer();
  let at = 0;
  while (at < text.length && !request.destroyed) {
    let end = Math.min(at + WRITE_SLICE, text.length);
    if (end < text.length && isHighSurrogate(text.charCodeAt(end - 1))) {
      end += 1;
    }
    request.write(text.slice(at, end));
    at = end;
    await slicer.pause();
  }
  request.end();
}

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff;

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
