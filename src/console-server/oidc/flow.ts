import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import { ConfigError } from '#config/load';
import { settings, type Config } from '#config/settings';
import type { Principal } from '#platform/auth/principal';
import { principalOfCredential } from '#security/stored-credential';
import type { DB } from '#platform/db/types';
import { InvalidTokenError } from '#security/oauth/access-token';
import { findLinkedGrant } from '#security/oauth/credentials';
import { verifyIdToken } from '#security/oauth/external-token';
import type { EnabledProviders, ProviderRecord } from '#security/oauth/providers';
import type { RemoteJwks } from '#platform/outbound/remote-jwks';
import { insertLogin, purgeExpiredLogins, takeLogin } from './logins.ts';
import type { OpenIdProvider } from './provider.ts';

/**
 * Signing in to the console through an OpenID provider (OpenID Connect Core §3.1, the authorization
 * code flow; PKCE S256, RFC 7636), free of HTTP: `startSignIn` makes the provider's authorization
 * URL and remembers the login; `finishSignIn` takes the provider's answer back, exchanges the code,
 * verifies the ID token and finds the client linked to its subject. Every refusal is a SignInError
 * with a short code the console explains; its reason is for the log and holds no personal data.
 */

export interface ConsoleOidcSettings {
  /** The registered name of the identity provider. */
  providerName: string;
  clientId: string;
  /** Set for a confidential client (client_secret_basic); unset: a public client. */
  clientSecret: string | undefined;
}

/** The console's OpenID settings, or undefined when sign-in through a provider is off. */
export function consoleOidcSettings(config: Config): ConsoleOidcSettings | undefined {
  const { consoleOidcProvider: providerName, consoleOidcClientId: clientId } = config;
  if (providerName === undefined) {
    if (clientId !== undefined || config.consoleOidcClientSecret !== undefined) {
      throw new ConfigError(
        `${settings.consoleOidcClientId.env} and ${settings.consoleOidcClientSecret.env} need ${settings.consoleOidcProvider.env}`,
      );
    }
    return undefined;
  }
  if (clientId === undefined) {
    throw new ConfigError(
      `${settings.consoleOidcProvider.env} is set, so ${settings.consoleOidcClientId.env} must be set too`,
    );
  }
  return { providerName, clientId, clientSecret: config.consoleOidcClientSecret };
}

export const SIGN_IN_ERRORS = [
  'unavailable', // the provider is not registered, disabled or unreachable
  'state', // the answer matches no sign-in started in this browser
  'expired', // the sign-in took longer than LOGIN_MINUTES
  'cancelled', // the person declined at the provider (access_denied)
  'provider', // the provider answered an error, or no code
  'token', // the code exchange failed or the ID token is not valid
  'not_linked', // the identity is linked to no client
  'refused', // its client is disabled or the link expired
] as const;
export type SignInErrorCode = (typeof SIGN_IN_ERRORS)[number];

export class SignInError extends Error {
  override name = 'SignInError';
  constructor(
    readonly code: SignInErrorCode,
    reason: string,
    /** The client concerned, when one is known (the refusal is then audited). */
    readonly client?: { id: string; name: string },
  ) {
    super(reason);
  }
}

export interface ConsoleOidc {
  db: Kysely<DB>;
  settings: ConsoleOidcSettings;
  providers: EnabledProviders;
  providerJwks: RemoteJwks;
  provider: OpenIdProvider;
}

const LOGIN_MINUTES = 10;
const newSecret = () => randomBytes(32).toString('base64url');
const sha256 = (text: string) => createHash('sha256').update(text).digest();

/** The console's provider if it is registered and enabled. */
export async function consoleProvider(oidc: ConsoleOidc): Promise<ProviderRecord | undefined> {
  return oidc.providers.byName(oidc.settings.providerName);
}

async function usableProvider(oidc: ConsoleOidc): Promise<ProviderRecord> {
  const provider = await consoleProvider(oidc);
  if (!provider) {
    throw new SignInError('unavailable', 'the identity provider is not registered or is disabled');
  }
  return provider;
}

/**
 * Remembers a new login and answers where to send the browser, and the binding secret to give it
 * (in a cookie): the answer is accepted only from the browser holding it.
 */
export async function startSignIn(
  oidc: ConsoleOidc,
  redirectUri: string,
): Promise<{ location: string; binding: string }> {
  const provider = await usableProvider(oidc);
  const { authorizationEndpoint } = await oidc.provider.metadata(provider).catch((error: unknown) => {
    throw new SignInError('unavailable', `discovery failed: ${String(error)}`);
  });
  const [state, nonce, codeVerifier, binding] = [newSecret(), newSecret(), newSecret(), newSecret()];
  await purgeExpiredLogins(oidc.db);
  await insertLogin(oidc.db, {
    stateHash: sha256(state),
    bindingHash: sha256(binding),
    codeVerifier,
    nonce,
    redirectUri,
    expiresAt: new Date(Date.now() + LOGIN_MINUTES * 60_000),
  });
  const location = new URL(authorizationEndpoint);
  const parameters = {
    response_type: 'code',
    scope: 'openid',
    client_id: oidc.settings.clientId,
    redirect_uri: redirectUri,
    state,
    nonce,
    code_challenge: sha256(codeVerifier).toString('base64url'),
    code_challenge_method: 'S256',
  };
  Object.entries(parameters).forEach(([name, value]) => location.searchParams.set(name, value));
  return { location: location.toString(), binding };
}

/** The provider's answer at the callback, and the binding secret of the browser bringing it. */
export interface ProviderAnswer {
  state?: string | undefined;
  code?: string | undefined;
  error?: string | undefined;
  /** RFC 9207: the issuer of the answer, when the provider names it. */
  iss?: string | undefined;
  binding: string | undefined;
}

/** The client whose identity signed in, and the identity link the session will rest on. */
export async function finishSignIn(
  oidc: ConsoleOidc,
  answer: ProviderAnswer,
): Promise<{ principal: Principal; credentialId: string }> {
  // Taken out first, whatever follows: a state is good for one answer only.
  const login = answer.state ? await takeLogin(oidc.db, sha256(answer.state)) : undefined;
  if (answer.error !== undefined) {
    // OAuth error codes are short ASCII words (RFC 6749 §4.1.2.1); anything else is not logged.
    const shown = /^[a-z_]{1,40}$/.test(answer.error) ? answer.error : 'another error';
    throw new SignInError(
      answer.error === 'access_denied' ? 'cancelled' : 'provider',
      `the provider answered ${shown}`,
    );
  }
  if (!login || answer.binding === undefined || !sameHash(login.bindingHash, sha256(answer.binding))) {
    throw new SignInError('state', 'no sign-in of this browser has this state');
  }
  if (login.expiresAt.getTime() <= Date.now()) {
    throw new SignInError('expired', 'the sign-in expired');
  }
  const provider = await usableProvider(oidc);
  if (!answer.code || (answer.iss !== undefined && answer.iss !== provider.issuer)) {
    throw new SignInError('provider', 'the answer has no code, or names another issuer');
  }
  const subject = await verifiedSubject(oidc, provider, { ...login, code: answer.code });
  return linkedPrincipal(oidc, provider, subject);
}

async function verifiedSubject(
  oidc: ConsoleOidc,
  provider: ProviderRecord,
  login: { code: string; codeVerifier: string; redirectUri: string; nonce: string },
): Promise<string> {
  const { clientId, clientSecret } = oidc.settings;
  const { idToken } = await oidc.provider
    .exchangeCode(provider, { ...login, clientId, ...(clientSecret === undefined ? {} : { clientSecret }) })
    .catch((error: unknown) => {
      throw new SignInError('token', `the code exchange failed: ${String(error)}`);
    });
  try {
    return (await verifyIdToken(provider, oidc.providerJwks, idToken, { clientId, nonce: login.nonce }))
      .subject;
  } catch (error) {
    if (error instanceof InvalidTokenError) {
      throw new SignInError('token', `invalid ID token: ${error.message}`);
    }
    throw error;
  }
}

/**
 * The principal of the client linked to the subject at the provider, as the identity link grants
 * it now (the same reading as for a token obtained through it: link usable, client enabled).
 */
async function linkedPrincipal(oidc: ConsoleOidc, provider: ProviderRecord, subject: string) {
  const grant = await findLinkedGrant(oidc.db, provider.id, subject);
  if (!grant) {
    throw new SignInError('not_linked', 'the identity is linked to no client');
  }
  const principal = await principalOfCredential(oidc.db, {
    clientId: grant.client_id,
    method: 'access_token',
    credentialId: grant.credential_id,
    scopes: null,
  });
  if (!principal) {
    throw new SignInError('refused', 'the client is disabled or its identity link expired', {
      id: grant.client_id,
      name: grant.client_name,
    });
  }
  return { principal, credentialId: grant.credential_id };
}

const sameHash = (a: Buffer, b: Buffer) => a.length === b.length && timingSafeEqual(a, b);
