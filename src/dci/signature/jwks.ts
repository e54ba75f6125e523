import type { Kysely } from 'kysely';
import type { DB } from '#platform/db/types';
import type { Resolve } from '#platform/outbound/address';
import { RemoteJwks } from '#platform/outbound/remote-jwks';
import { findCallbackSettings, parseHttpUrl } from '../callback/policy.ts';

/**
 * Clients' JWKS URLs for DCI signatures, fetched through the shared remote key sets
 * (#platform/outbound/remote-jwks: cache, SSRF guard, timeout, size limit). The URL must be https or
 * lie inside one of the client's registered callback origins, checked again before every fetch; its
 * host must resolve to public addresses unless the client is allowed private ones.
 */

export interface JwksDeps {
  db: Kysely<DB>;
  resolve: Resolve;
  timeoutMs: number;
}

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

/** The key sets of clients' JWKS URLs, owned by client id, under the clients' callback settings. */
export function clientJwks(deps: JwksDeps): RemoteJwks {
  return new RemoteJwks({
    resolve: deps.resolve,
    timeoutMs: deps.timeoutMs,
    policy: async (clientId, url) => {
      const settings = await findCallbackSettings(deps.db, clientId);
      const problem = jwksUriProblem(url, settings.callbackOrigins);
      if (problem) {
        throw new Error(`the JWKS URL ${problem}`);
      }
      return { allowPrivateAddresses: settings.allowPrivateAddresses };
    },
  });
}
