import type { Kysely } from 'kysely';
import type { DB } from '#platform/db/types';
import { findGrant } from '#security/oauth/credentials';
import { findCertificateById } from '#security/tls/queries';
import { principalFor, type AuthMethod, type Principal } from '#platform/auth/principal';
import { isRole, roleDefinitions } from '#platform/auth/roles';

/**
 * A credential as stored with what was sent with it (a DCI message answered later, a subscription
 * notified for months): its kind, its id (API key, OAuth credential, client certificate registration)
 * and the scopes the sender held then. The principal it stands for is read again whenever work is
 * done on its behalf: a client disabled, or a credential revoked or expired, since then gets nothing.
 */
export interface StoredCredential {
  clientId: string;
  method: AuthMethod;
  credentialId: string;
  scopes: readonly string[] | null;
}

/** What each kind of credential says now: its client, whether it is usable, what it grants. */
interface CurrentCredential {
  client_id: string;
  name: string;
  role: string;
  disabled_at: Date | null;
  usable: boolean;
  scopes: readonly string[];
}

const notExpired = (expiresAt: Date | null) => expiresAt === null || expiresAt.getTime() > Date.now();

const CURRENT: Record<AuthMethod, (db: Kysely<DB>, id: string) => Promise<CurrentCredential | undefined>> = {
  async api_key(db, id) {
    const row = await db
      .selectFrom('api_keys as k')
      .innerJoin('api_clients as c', 'c.id', 'k.client_id')
      .select(['k.scopes', 'k.expires_at', 'k.revoked_at', 'c.id as client_id', 'c.name', 'c.role'])
      .select('c.disabled_at')
      .where('k.id', '=', id)
      .executeTakeFirst();
    return row && { ...row, usable: !row.revoked_at && notExpired(row.expires_at) };
  },
  async access_token(db, id) {
    const grant = await findGrant(db, id);
    return (
      grant && {
        ...grant,
        name: grant.client_name,
        usable: !grant.revoked_at && notExpired(grant.expires_at),
      }
    );
  },
  async client_certificate(db, id) {
    const row = await findCertificateById(db, id);
    const scopes = row && isRole(row.role) ? roleDefinitions[row.role].permissions : [];
    return row && { ...row, scopes, usable: !row.revoked_at && notExpired(row.not_after) };
  },
};

export async function principalOfCredential(
  db: Kysely<DB>,
  stored: StoredCredential,
): Promise<Principal | undefined> {
  const current = await CURRENT[stored.method](db, stored.credentialId);
  if (!current || current.client_id !== stored.clientId || !current.usable || current.disabled_at) {
    return undefined;
  }
  if (!isRole(current.role)) {
    return undefined;
  }
  const held = stored.scopes === null ? undefined : new Set(stored.scopes);
  const scopes = current.scopes.filter((scope) => held === undefined || held.has(scope));
  return principalFor(
    { id: current.client_id, name: current.name, role: current.role },
    { id: stored.credentialId, scopes },
    stored.method,
  );
}

/** The columns that store the credential of a principal with what it sent. */
export interface CredentialColumns {
  key_id: string;
  auth_method: AuthMethod;
  scopes: string[];
}

export const credentialColumns = (principal: Principal): CredentialColumns => ({
  key_id: principal.keyId,
  auth_method: principal.authMethod,
  scopes: [...principal.scopes],
});

const isAuthMethod = (value: string): value is AuthMethod =>
  value === 'api_key' || value === 'access_token' || value === 'client_certificate';

/** The stored credential of a row of dci_exchanges or dci_subscriptions. */
export function storedCredentialOf(row: {
  client_id: string;
  key_id: string;
  auth_method: string;
  scopes: string[] | null;
}): StoredCredential | undefined {
  return isAuthMethod(row.auth_method)
    ? { clientId: row.client_id, method: row.auth_method, credentialId: row.key_id, scopes: row.scopes }
    : undefined;
}
