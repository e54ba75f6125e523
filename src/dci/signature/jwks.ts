import { createRemoteJWKSet, customFetch, type JWK, type RemoteJWKSet } from 'jose';
import type { Kysely } from 'kysely';
import type { DB } from '#platform/db/types';
import { resolveCallbackHost, type Resolve } from '../callback/address.ts';
import { findCallbackSettings, parseHttpUrl } from '../callback/policy.ts';
import { getBody } from '../callback/send.ts';

/**
 * Clients' JWKS URLs, fetched and cached with jose's remote key set (10 minutes; a kid it does not
 * know refetches at most every 30 s), through the callback SSRF guard: the URL must be https or lie
 * inside one of the client's registered callback origins, its host must resolve to public addresses
 * unless the client is allowed private ones, and the request goes to the checked address, without
 * redirects, with a timeout and a size limit.
 */

export interface JwksDeps {
  db: Kysely<DB>;
  resolve: Resolve;
  timeoutMs: number;
}

const MAX_JWKS_BYTES = 64 * 1024;

/** May this URL serve the client's keys? The reason when not (for the admin route and at fetch time). */
export function jwksUriProblem(text: string, callbackOrigins: string[]): string | undefined {
  const url = parseHttpUrl(text);
  if (!url || url.hash !== '') {
    return 'must be an http(s) URL without credentials or fragment';
  }
  if (url.protocol !== 'https:' && !callbackOrigins.includes(url.origin)) {
    return "must be https, or lie inside one of the client's callback origins";
  }
  return undefined;
}

/** One remote key set per client (and URL): jose keeps its cache. */
export class ClientJwks {
  private readonly sets = new Map<string, { uri: string; set: RemoteJWKSet }>();

  constructor(private readonly deps: JwksDeps) {}

  /** The JWK with this kid at the client's JWKS URL, or undefined; throws when the set cannot be had. */
  async find(clientId: string, uri: string, kid: string): Promise<JWK | undefined> {
    const remote = this.setFor(clientId, uri);
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

  private setFor(clientId: string, uri: string): RemoteJWKSet {
    const known = this.sets.get(clientId);
    if (known?.uri === uri) {
      return known.set;
    }
    const set = createRemoteJWKSet(new URL(uri), {
      timeoutDuration: this.deps.timeoutMs,
      [customFetch]: (url, options) => this.fetch(clientId, url, options.signal),
    });
    this.sets.set(clientId, { uri, set });
    return set;
  }

  /** GET through the SSRF guard, checked against the client's settings as they are now. */
  private async fetch(clientId: string, text: string, signal: AbortSignal): Promise<Response> {
    const settings = await findCallbackSettings(this.deps.db, clientId);
    const problem = jwksUriProblem(text, settings.callbackOrigins);
    if (problem) {
      throw new Error(`the JWKS URL ${problem}`);
    }
    const url = new URL(text);
    const address = await resolveCallbackHost(url, settings.allowPrivateAddresses, this.deps.resolve);
    const { statusCode, body } = await getBody(url, {
      address,
      timeoutMs: this.deps.timeoutMs,
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
