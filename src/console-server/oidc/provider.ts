import { TtlCache } from '#platform/cache/ttl-cache';
import { resolveGuardedHost, type Resolve } from '#platform/outbound/address';
import { getBody, postForm } from '#platform/outbound/request';
import type { ProviderRecord } from '#security/oauth/providers';
import { jwksUriProblem } from '#security/oauth/urls';

/**
 * What the console's sign-in asks of an OpenID provider, through the same SSRF guard as its JWKS
 * (the provider's allow_private_addresses decides whether it may be on a private network): its
 * discovery document (OpenID Connect Discovery 1.0 §4), cached for minutes, and the token endpoint
 * that turns an authorization code into an ID token (RFC 6749 §4.1.3, RFC 7636 §4.5).
 */

export interface ProviderMetadata {
  authorizationEndpoint: string;
  tokenEndpoint: string;
}

export interface ProviderCalls {
  resolve: Resolve;
  timeoutMs: number;
  /** How long a discovery document is reused, in ms. */
  cacheMs?: number;
}

/** The provider cannot be used now (unreachable, a wrong answer); the message has no personal data. */
export class ProviderError extends Error {
  override name = 'ProviderError';
}

const MAX_ANSWER_BYTES = 64 * 1024;

export class OpenIdProvider {
  private readonly documents: TtlCache<string, ProviderMetadata>;

  constructor(private readonly calls: ProviderCalls) {
    this.documents = new TtlCache(calls.cacheMs ?? 5 * 60_000, 100);
  }

  /**
   * The provider's endpoints from its discovery document, cached by the settings it was fetched
   * under (an admin's change of them fetches it again).
   */
  metadata(provider: ProviderRecord): Promise<ProviderMetadata> {
    const key = `${provider.id} ${provider.allow_private_addresses} ${provider.issuer}`;
    return this.documents.through(key, () => this.discover(provider));
  }

  /**
   * Exchanges the code for the provider's answer (its ID token): PKCE's verifier always; the client
   * authenticates by HTTP Basic when it has a secret (client_secret_basic, RFC 6749 §2.3.1, names
   * form-encoded first), else names itself (a public client).
   */
  async exchangeCode(
    provider: ProviderRecord,
    exchange: {
      code: string;
      redirectUri: string;
      codeVerifier: string;
      clientId: string;
      clientSecret?: string;
    },
  ): Promise<{ idToken: string }> {
    const { tokenEndpoint } = await this.metadata(provider);
    const form = new URLSearchParams({
      grant_type: 'authorization_code',
      code: exchange.code,
      redirect_uri: exchange.redirectUri,
      code_verifier: exchange.codeVerifier,
    });
    const headers: Record<string, string> = {};
    if (exchange.clientSecret === undefined) {
      form.set('client_id', exchange.clientId);
    } else {
      const basic = `${formEncoded(exchange.clientId)}:${formEncoded(exchange.clientSecret)}`;
      headers['authorization'] = `Basic ${Buffer.from(basic).toString('base64')}`;
    }
    const url = new URL(tokenEndpoint);
    const { statusCode, body } = await postForm(url, form, {
      ...(await this.target(provider, url)),
      headers,
    });
    if (statusCode !== 200) {
      throw new ProviderError(`the token endpoint answered HTTP ${statusCode}`);
    }
    const idToken = jsonOf(body)['id_token'];
    if (typeof idToken !== 'string') {
      throw new ProviderError('the token endpoint answered no id_token');
    }
    return { idToken };
  }

  private async discover(provider: ProviderRecord): Promise<ProviderMetadata> {
    // §4: the issuer without its trailing slash, then the well-known path.
    const url = new URL(`${provider.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`);
    const { statusCode, body } = await getBody(url, await this.target(provider, url));
    if (statusCode !== 200) {
      throw new ProviderError(`the discovery document answered HTTP ${statusCode}`);
    }
    const document = jsonOf(body);
    // §4.3: the issuer it names must be the one we know, or its tokens would not be the ones we trust.
    if (document['issuer'] !== provider.issuer) {
      throw new ProviderError("the discovery document names another issuer than the provider's");
    }
    return {
      authorizationEndpoint: endpointOf(document, 'authorization_endpoint', provider),
      tokenEndpoint: endpointOf(document, 'token_endpoint', provider),
    };
  }

  /** Where and how to send a request to the provider: its checked address, our limits. */
  private async target(provider: ProviderRecord, url: URL) {
    return {
      address: await resolveGuardedHost(url, provider.allow_private_addresses, this.calls.resolve),
      timeoutMs: this.calls.timeoutMs,
      signal: new AbortController().signal,
      maxBytes: MAX_ANSWER_BYTES,
      accept: 'application/json',
    };
  }
}

const formEncoded = (text: string) => encodeURIComponent(text).replace(/%20/g, '+');

function jsonOf(body: Buffer): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new ProviderError('the provider answered something else than JSON');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ProviderError('the provider answered something else than a JSON object');
  }
  return parsed as Record<string, unknown>;
}

/** An endpoint of the document: https, or http where the provider may be on a private network. */
function endpointOf(document: Record<string, unknown>, name: string, provider: ProviderRecord): string {
  const value = document[name];
  if (typeof value !== 'string' || jwksUriProblem(value, provider.allow_private_addresses)) {
    throw new ProviderError(`the discovery document has no usable ${name}`);
  }
  return value;
}
