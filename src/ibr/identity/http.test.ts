import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postToIdSystem } from './http.ts';

/** The ID system is called through the gateway's one outbound client: no redirect, a bounded answer. */
describe('calls to the ID system', () => {
  let base: string;
  const received: string[] = [];
  const server = createServer((req, res) => {
    received.push(req.url ?? '');
    if (req.url === '/moved') {
      return res.writeHead(307, { location: '/verify' }).end();
    }
    if (req.url === '/huge') {
      return res.end(Buffer.alloc(2 * 1024 * 1024, 0x20));
    }
    res
      .writeHead(200, { 'content-type': 'application/json', 'response-signature': 'sig' })
      .end('{"match":true}');
  });
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const post = (path: string) => postToIdSystem(`${base}${path}`, '{}', AbortSignal.timeout(5000));

  it('answers the text and headers of a 2xx answer', async () => {
    const answer = await post('/verify');
    expect(answer.text).toBe('{"match":true}');
    expect(answer.headers.get('response-signature')).toBe('sig');
  });

  it('follows no redirect, and reads no answer beyond 1 MB', async () => {
    received.length = 0;
    await expect(post('/moved')).rejects.toThrow('the ID system answered HTTP 307');
    expect(received).toEqual(['/moved']);
    // (the outcome as a short text: a failing expectation would print the 2 MB answer)
    const huge = await post('/huge').then(
      (answer) => `read ${answer.text.length} bytes`,
      (error: Error) => error.message,
    );
    expect(huge).toMatch(/the ID system is unreachable \(.*longer than 1048576 bytes/);
  });
});
