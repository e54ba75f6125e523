import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postJson } from './request.ts';

describe('postJson', () => {
  let origin: string;
  let received: Buffer | undefined;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received = Buffer.concat(chunks);
      res.writeHead(200).end();
    });
  });
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('sends a long text whole, in slices that never split a character', async () => {
    // An emoji (two UTF-16 code units) across the first slice's end, at 1 MiB.
    const text = JSON.stringify({ a: 'x'.repeat((1 << 20) - 14), b: '🙂 é', c: 'y'.repeat(1 << 20) });
    expect(text.slice((1 << 20) - 1, (1 << 20) + 1)).toBe('🙂');
    const options = {
      address: { address: '127.0.0.1', family: 4 },
      timeoutMs: 5_000,
      signal: new AbortController().signal,
    };
    const { statusCode } = await postJson(new URL(`${origin}/callback`), text, options);
    expect(statusCode).toBe(200);
    expect(received!.equals(Buffer.from(text))).toBe(true);
  });
});
