import type { Config } from '#config/settings';
import { parseHttpUrl } from '#platform/outbound/address';

/**
 * Our OAuth URLs, and the rule for the JWKS URLs peers register with us.
 *
 * The issuer is SPX_PUBLIC_URL, or else the URL the gateway listens on (read once it listens, so
 * that port 0 gives the real port). Tokens name it, so set SPX_PUBLIC_URL in production: a token
 * issued under one issuer is refused under another.
 */

export interface OAuthEndpoints {
  issuer: string;
  /** What our tokens' aud must name: SPX_TOKEN_AUDIENCE, else the issuer. */
  audience: string;
  tokenEndpoint: string;
  jwksUri: string;
}

/** The issuer URL: SPX_PUBLIC_URL, else the first listening address, else host:port of the settings. */
export function issuerUrl(
  config: Pick<Config, 'publicUrl' | 'host' | 'port'>,
  listening: () => readonly (string | { address: string; port: number })[],
): string {
  if (config.publicUrl) {
    return config.publicUrl.replace(/\/+$/, '');
  }
  // A string is a Unix socket path: no URL of ours.
  const bound = listening().find((address) => typeof address !== 'string');
  const host = bound ? bound.address : config.host;
  const port = bound ? bound.port : config.port;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

export function endpointsOf(issuer: string, audience: string | undefined): OAuthEndpoints {
  return {
    issuer,
    audience: audience ?? issuer,
    tokenEndpoint: `${issuer}/oauth/token`,
    jwksUri: `${issuer}/.well-known/jwks.json`,
  };
}

/**
 * May a peer's keys be fetched from this URL? https, or http only where private addresses are
 * allowed for the peer (a test bench, a ministry network); no credentials, no fragment.
 */
export function jwksUriProblem(text: string, allowPrivateAddresses: boolean): string | undefined {
  const url = parseHttpUrl(text);
  if (!url || url.hash !== '') {
    return 'must be an http(s) URL without credentials or fragment';
  }
  if (url.protocol !== 'https:' && !allowPrivateAddresses) {
    return 'must be https (http only with allow_private_addresses)';
  }
  return undefined;
}
