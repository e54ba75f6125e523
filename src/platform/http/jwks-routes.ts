import { Type, type Static } from '@sinclair/typebox';
import type { JWK } from 'jose';
import type { App } from './types.ts';

/**
 * `GET /.well-known/jwks.json`: every public key of the gateway, assembled from its key sources (DCI
 * message signatures, OAuth access tokens, DCI message encryption), so that one URL serves whoever
 * verifies what we sign or encrypts to us. A signing source answers its current key and its retired
 * keys not yet expired; the encryption source its current key only (use "enc").
 */

/** A source of our public keys (public members only, with kid, alg and use). */
export type PublicKeySource = () => Promise<JWK[]>;

/** A public JWK as we answer it (registered client keys, our published keys): public members only. */
export const PublicJwk = Type.Object({
  kty: Type.String(),
  kid: Type.Optional(Type.String()),
  alg: Type.Optional(Type.String()),
  use: Type.Optional(Type.String()),
  crv: Type.Optional(Type.String()),
  x: Type.Optional(Type.String()),
  y: Type.Optional(Type.String()),
  n: Type.Optional(Type.String()),
  e: Type.Optional(Type.String()),
});
const Jwks = Type.Object({ keys: Type.Array(PublicJwk) });

export async function jwksRoute(
  app: App,
  { sources }: { sources: readonly PublicKeySource[] },
): Promise<void> {
  app.get(
    '/.well-known/jwks.json',
    {
      config: { access: { public: true } },
      schema: {
        tags: ['security'],
        operationId: 'getJwks',
        summary:
          'Our public keys (JWKS): DCI message signatures, OAuth access tokens, DCI message encryption',
        description:
          'The current keys and retired signing keys not yet expired. A DCI signature of ours names its key in ' +
          'its kid: <sender_id>|<kid of the JWK>|<algorithm>; an access token in its JWS header kid. ' +
          'DCI messages to us are encrypted to the key of use "enc" (ECDH-ES+A256KW, A256GCM).',
        response: { 200: Jwks },
      },
    },
    async () => {
      const keys = (await Promise.all(sources.map((source) => source()))).flat();
      return { keys: keys as Static<typeof Jwks>['keys'] };
    },
  );
}
