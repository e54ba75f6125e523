import { createRemoteJWKSet, customFetch, type JWK, type RemoteJWKSet } from 'jose';
import { resolveGuardedHost, type Resolve } from './address.ts';
import { getBody } from './request.ts';

/**
 * JWKS URLs registered by peers (a DCI client's signing keys, an OAuth client's assertion keys, an
 * identity provider's token keys), fetched and cached with jose's remote key set (10 minutes; a kid
 * it does not know refetches at most every 30 s), through the SSRF guard: the owner's policy is read
 * afresh before every fetch, the host must resolve to public addresses unless the owner is allowed
 * private ones, and the request goes to the checked address, without redirects, with a timeout and
 * a size limit.
 */

export interface RemoteJwksOptions {
  resolve: Resolve;
  timeoutMs: number;
  /**
   * Whether the owner may have its keys fetched from this URL now, and from private addresses;
   * throws (with the reason) when not.
   */
  policy: (owner: string, url: string) => Promise<{ allowPrivateAddresses: boolean }>;
}

const MAX_JWKS_BYTES = 64 * 1024;

/** One remote key set per owner (and URL): jose keeps its cache. */
export class RemoteJwks {
  private readonly sets = new Map<string, { uri: string; set: RemoteJWKSet }>();

  constructor(private readonly options: RemoteJwksOptions) {}

  /** The owner's key set at `uri`: a key resolver for jose's jwtVerify, with the JWKS cache. */
  setFor(owner: string, uri: string): RemoteJWKSet {
    const known = this.sets.get(owner);
    if (known?.uri === uri) {
      return known.set;
    }
    const set = createRemoteJWKSet(new URL(uri), {
      timeoutDuration: this.options.timeoutMs,
      [customFetch]: (url, init) => this.fetch(owner, url, init.signal),
    });
    this.sets.set(owner, { uri, set });
    return set;
  }

  /** The JWK with this kid at the owner's JWKS URL, or undefined; throws when the set cannot be had. */
  async find(owner: string, uri: string, kid: string): Promise<JWK | undefined> {
    const remote = this.setFor(owner, uri);
    if (!remote.fresh) {
      await remote.reload();
    }
    let jwk = withKid(remote.jwks(), kid);
    if (!jwk && !remote.coolingDown) {
      await remote.reload(); // a key added since the last fetch
      jwk = withKid(remote.jwks(), kid);
    }
    return jwk;
  }

  /** GET through the SSRF guard, checked against the owner's policy as it is now. */
  private async fetch(owner: string, text: string, signal: AbortSignal): Promise<Response> {
    const { allowPrivateAddresses } = await this.options.policy(owner, text);
    const url = new URL(text);
    const address = await resolveGuardedHost(url, allowPrivateAddresses, this.options.resolve);
    const { statusCode, body } = await getBody(url, {
      address,
      timeoutMs: this.options.timeoutMs,
      signal,
      maxBytes: MAX_JWKS_BYTES,
      accept: 'application/jwk-set+json, application/json',
    });
    if (statusCode !== 200) {
      throw new Error(`the JWKS URL answered HTTP ${statusCode}`);
    }
    return new Response(new Uint8Array(body), {
      status: 200,
      headers: { 'content-type': 'application/json' },
    });
  }
}

function withKid(set: { keys: JWK[] } | undefined, kid: string): JWK | undefined {
  const matches = (set?.keys ?? []).filter((jwk) => jwk.kid === kid);
  return matches.length === 1 ? matches[0] : undefined;
}
