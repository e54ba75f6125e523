import type { Kysely } from 'kysely';
import { secretMatches } from '#platform/auth/api-keys';
import { findClient, type ClientRecord } from '#platform/auth/clients';
import type { DB } from '#platform/db/types';
import { ProblemError } from '#platform/problem';
import {
  assertedClientId,
  CLIENT_ASSERTION_TYPE,
  verifyClientAssertion,
  type AssertionDeps,
} from './assertion.ts';
import { usableCredentials, type UsableCredential } from './credentials.ts';
import { OAuthError } from './errors.ts';

/**
 * Client authentication at the token endpoint (RFC 6749 §2.3): exactly one of client_secret_basic
 * (HTTP Basic), client_secret_post (client_id and client_secret in the body) and private_key_jwt
 * (client_assertion, RFC 7523). The client_id is the client's id. A failed secret says no more than
 * that authentication failed; a failed assertion says what to fix (it was signed by the client).
 */

export const AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt'] as const;
type AuthMethod = (typeof AUTH_METHODS)[number];

export interface AuthenticatedClient {
  client: ClientRecord;
  credential: UsableCredential;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function authenticateClient(
  deps: AssertionDeps,
  authorization: string | undefined,
  params: Readonly<Record<string, string>>,
): Promise<AuthenticatedClient> {
  const method = methodOf(authorization, params);
  switch (method) {
    case 'client_secret_basic': {
      const { id, secret } = basicCredentials(authorization!);
      if (params['client_id'] !== undefined && params['client_id'] !== id) {
        throw new OAuthError(
          'invalid_request',
          'client_id differs from the client of the Authorization header',
        );
      }
      return bySecret(deps.db, id, secret, true);
    }
    case 'client_secret_post': {
      const id = params['client_id'];
      if (id === undefined) {
        throw new OAuthError('invalid_request', 'client_id is required with client_secret');
      }
      return bySecret(deps.db, id, params['client_secret']!, false);
    }
    case 'private_key_jwt':
      return byAssertion(deps, params);
  }
}

function methodOf(authorization: string | undefined, params: Readonly<Record<string, string>>): AuthMethod {
  const used: AuthMethod[] = [];
  if (authorization !== undefined && /^basic /i.test(authorization)) {
    used.push('client_secret_basic');
  }
  if (params['client_secret'] !== undefined) {
    used.push('client_secret_post');
  }
  if (params['client_assertion'] !== undefined || params['client_assertion_type'] !== undefined) {
    used.push('private_key_jwt');
  }
  if (used.length > 1) {
    throw new OAuthError(
      'invalid_request',
      `use one client authentication method, not ${used.join(' and ')}`,
    );
  }
  if (used.length === 0) {
    throw new OAuthError(
      'invalid_client',
      `client authentication is required: ${AUTH_METHODS.join(', ')}`,
      authorization !== undefined,
    );
  }
  return used[0]!;
}

/** RFC 6749 §2.3.1: Basic over the form-urlencoded client_id and client_secret. */
function basicCredentials(authorization: string): { id: string; secret: string } {
  const decoded = Buffer.from(authorization.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) {
    throw new OAuthError('invalid_client', 'the Basic credentials must be client_id:client_secret', true);
  }
  const formDecode = (text: string) => decodeURIComponent(text.replace(/\+/g, ' '));
  try {
    return { id: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) };
  } catch {
    throw new OAuthError('invalid_client', 'the Basic credentials are not form-urlencoded', true);
  }
}

async function bySecret(
  db: Kysely<DB>,
  id: string,
  secret: string,
  basic: boolean,
): Promise<AuthenticatedClient> {
  const failed = new OAuthError('invalid_client', 'client authentication failed', basic);
  const client = await enabledClient(db, id);
  if (!client) {
    throw failed;
  }
  const secrets = await usableCredentials(db, client.id, 'client_secret');
  const credential = secrets.find((c) => c.secret_hash !== null && secretMatches(secret, c.secret_hash));
  if (!credential) {
    throw failed;
  }
  return { client, credential };
}

async function byAssertion(
  deps: AssertionDeps,
  params: Readonly<Record<string, string>>,
): Promise<AuthenticatedClient> {
  if (params['client_assertion_type'] !== CLIENT_ASSERTION_TYPE) {
    throw new OAuthError('invalid_request', `client_assertion_type must be ${CLIENT_ASSERTION_TYPE}`);
  }
  const assertion = params['client_assertion'];
  if (assertion === undefined) {
    throw new OAuthError('invalid_request', 'client_assertion is required with client_assertion_type');
  }
  const id = assertedClientId(assertion);
  if (params['client_id'] !== undefined && params['client_id'] !== id) {
    throw new OAuthError('invalid_client', 'client_id differs from the client of the assertion');
  }
  const client = await enabledClient(deps.db, id);
  const keys = client ? await usableCredentials(deps.db, client.id, 'private_key_jwt') : [];
  if (!client || keys.length === 0) {
    throw new OAuthError('invalid_client', 'no key is registered for private_key_jwt for this client');
  }
  return { client, credential: await verifyClientAssertion(deps, assertion, client.id, keys) };
}

/** The client with this id when it exists and is enabled. */
async function enabledClient(db: Kysely<DB>, id: string): Promise<ClientRecord | undefined> {
  if (!UUID.test(id)) {
    return undefined;
  }
  const client = await findClient(db, id).catch((error: unknown) => {
    if (error instanceof ProblemError && error.status === 404) {
      return undefined;
    }
    throw error;
  });
  return client && !client.disabled_at ? client : undefined;
}
