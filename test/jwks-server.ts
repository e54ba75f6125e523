import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JWK } from 'jose';

/** A JWKS URL on 127.0.0.1 (a client's or an identity provider's): serves `keys`, counts fetches. */
export interface JwksServer {
  origin: string;
  /** The published keys: push or replace to rotate. */
  keys: JWK[];
  calls: number;
  close(): Promise<void>;
}

export async function startJwksServer(): Promise<JwksServer> {
  const state = { keys: [] as JWK[], calls: 0 };
  const server = createServer((_req, res) => {
    state.calls += 1;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: state.keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    get keys() {
      return state.keys;
    },
    set keys(keys: JWK[]) {
      state.keys = keys;
    },
    get calls() {
      return state.calls;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
