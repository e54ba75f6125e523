import type { JWK } from 'jose';
import type { Kysely } from 'kysely';
import type { Authenticator } from '#platform/auth/authenticate';
import type { Config } from '#config/settings';
import type { OwnKeys } from '#platform/crypto/own-keys';
import type { DB } from '#platform/db/types';
import { systemResolve, type Resolve } from '#platform/outbound/address';
import { RemoteJwks } from '#platform/outbound/remote-jwks';
import { issueAccessToken, type AccessTokenGrant } from './access-token.ts';
import type { AssertionDeps } from './assertion.ts';
import { tokenAuthenticator } from './authenticator.ts';
import { findUsableJwksUri } from './credentials.ts';
import { EnabledProviders } from './providers.ts';
import { TokenKeys } from './signing-keys.ts';
import { endpointsOf, jwksUriProblem, type OAuthEndpoints } from './urls.ts';

/**
 * The gateway's OAuth 2.0 authorization server in one object, shared by the token endpoint, the
 * admin routes, the bearer token authenticator and the JWKS route: our token keys, the identity
 * providers we trust, and the key sets fetched for them and for clients' JWKS URLs.
 */
export interface OAuth {
  db: Kysely<DB>;
  /** Our issuer, audience and endpoint URLs (the issuer may be known only once listening). */
  endpoints(): OAuthEndpoints;
  ttlSeconds: number;
  /** Whether the mutual-TLS listener is configured (tokens issued over it are certificate-bound). */
  mtls: boolean;
  issue(grant: AccessTokenGrant): Promise<string>;
  /** What verifying a client assertion needs. */
  assertionDeps(): AssertionDeps;
  authenticator: Authenticator;
  /** Drops what is cached about the client (its credentials changed). */
  forget(clientId: string): void;
  /** Drops the cached providers (an admin changed one). */
  providersChanged(): void;
  /** Our token verification keys, for /.well-known/jwks.json. */
  publicKeys(): Promise<JWK[]>;
  /** The enabled identity providers and their key sets (console sign-in verifies ID tokens with them). */
  providers: EnabledProviders;
  providerJwks: RemoteJwks;
  /** DNS of the SSRF guard and the time a fetch may take, for other requests to a provider. */
  outbound: { resolve: Resolve; timeoutMs: number };
}

export interface OAuthOptions {
  db: Kysely<DB>;
  config: Pick<Config, 'tokenTtlSeconds' | 'tokenAudience' | 'authCacheSeconds' | 'tlsPort'>;
  /** Our token signing keys (signing-keys.ts TOKEN_SIGNING_KEYS), shared with the key rotation routes. */
  keys: OwnKeys;
  /** Our issuer URL (see urls.ts issuerUrl). */
  issuer: () => string;
  /** DNS for the SSRF guard of JWKS fetches (tests may pin answers). */
  resolve?: Resolve;
  /** A JWKS fetch may take this long; default 5 s. */
  jwksTimeoutMs?: number;
}

export function createOAuth(options: OAuthOptions): OAuth {
  const { db, config } = options;
  const keys = new TokenKeys(options.keys);
  const cacheMs = config.authCacheSeconds * 1000;
  const providers = new EnabledProviders(db, cacheMs);
  const remote = { resolve: options.resolve ?? systemResolve, timeoutMs: options.jwksTimeoutMs ?? 5_000 };
  const providerJwks = new RemoteJwks({
    ...remote,
    policy: async (providerId, url) => {
      const provider = await providers.byId(providerId);
      if (provider?.jwks_uri !== url) {
        throw new Error('the identity provider is disabled or its JWKS URL changed');
      }
      return { allowPrivateAddresses: provider.allow_private_addresses };
    },
  });
  const clientJwks = new RemoteJwks({
    ...remote,
    policy: async (credentialId, url) => {
      const credential = await findUsableJwksUri(db, credentialId);
      if (credential?.jwks_uri !== url) {
        throw new Error('the credential is revoked or expired');
      }
      const problem = jwksUriProblem(url, credential.allow_private_addresses);
      if (problem) {
        throw new Error(`the JWKS URL ${problem}`);
      }
      return { allowPrivateAddresses: credential.allow_private_addresses };
    },
  });
  const endpoints = () => endpointsOf(options.issuer(), config.tokenAudience);
  const tokens = tokenAuthenticator({ db, keys, providers, providerJwks, ours: endpoints, cacheMs });
  return {
    db,
    endpoints,
    ttlSeconds: config.tokenTtlSeconds,
    mtls: config.tlsPort !== undefined,
    issue: (grant) => issueAccessToken(keys, { ...endpoints(), ttlSeconds: config.tokenTtlSeconds }, grant),
    assertionDeps: () => {
      const { issuer, tokenEndpoint } = endpoints();
      return { db, jwks: clientJwks, audiences: [issuer, tokenEndpoint] };
    },
    authenticator: tokens.authenticate,
    forget: tokens.forget,
    providersChanged: () => providers.changed(),
    publicKeys: () => keys.publicKeys(),
    providers,
    providerJwks,
    outbound: remote,
  };
}
