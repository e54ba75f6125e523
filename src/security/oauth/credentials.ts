import type { JWK } from 'jose';
import { sql, type Kysely } from 'kysely';
import type { DB } from '#platform/db/types';

/**
 * OAuth credentials of clients (oauth_credentials), one small query each: client secrets (hashes),
 * public keys or JWKS URLs for private_key_jwt, and identities at external identity providers.
 */

export const CREDENTIAL_KINDS = ['client_secret', 'private_key_jwt', 'identity_provider'] as const;
export type CredentialKind = (typeof CREDENTIAL_KINDS)[number];

/** A credential as the admin API shows it: never the secret's hash. */
export interface CredentialRecord {
  id: string;
  client_id: string;
  kind: CredentialKind;
  key_id: string | null;
  public_jwk: JWK | null;
  jwks_uri: string | null;
  allow_private_addresses: boolean;
  provider_id: string | null;
  external_id: string | null;
  scopes: string[];
  description: string | null;
  created_at: Date;
  expires_at: Date | null;
  revoked_at: Date | null;
}

const recordColumns = [
  'id',
  'client_id',
  'kind',
  'key_id',
  'public_jwk',
  'jwks_uri',
  'allow_private_addresses',
  'provider_id',
  'external_id',
  'scopes',
  'description',
  'created_at',
  'expires_at',
  'revoked_at',
] as const;

export interface NewCredential {
  clientId: string;
  kind: CredentialKind;
  scopes: readonly string[];
  secretHash?: Buffer;
  keyId?: string;
  jwk?: JWK;
  jwksUri?: string;
  allowPrivateAddresses?: boolean;
  providerId?: string;
  externalId?: string;
  description?: string | undefined;
  expiresAt: Date | null;
  createdBy: string | undefined;
}

/**
 * Inserts a credential; undefined when its key id (for the client) or its identity (at the
 * provider) is already taken by a credential not revoked.
 */
export async function insertCredential(
  db: Kysely<DB>,
  credential: NewCredential,
): Promise<CredentialRecord | undefined> {
  const row = await db
    .insertInto('oauth_credentials')
    .values({
      client_id: credential.clientId,
      kind: credential.kind,
      scopes: [...credential.scopes],
      secret_hash: credential.secretHash ?? null,
      key_id: credential.keyId ?? null,
      public_jwk: credential.jwk ? JSON.stringify(credential.jwk) : null,
      jwks_uri: credential.jwksUri ?? null,
      allow_private_addresses: credential.allowPrivateAddresses ?? false,
      provider_id: credential.providerId ?? null,
      external_id: credential.externalId ?? null,
      description: credential.description ?? null,
      expires_at: credential.expiresAt,
      created_by: credential.createdBy ?? null,
    })
    .onConflict((oc) => oc.doNothing())
    .returning(recordColumns)
    .executeTakeFirst();
  return row as CredentialRecord | undefined;
}

export const listCredentials = async (db: Kysely<DB>, clientId: string): Promise<CredentialRecord[]> =>
  (await db
    .selectFrom('oauth_credentials')
    .select(recordColumns)
    .where('client_id', '=', clientId)
    .orderBy('created_at')
    .orderBy('id')
    .execute()) as CredentialRecord[];

/** Revokes a credential of the client at once; revoking twice is harmless. */
export const revokeCredential = async (
  db: Kysely<DB>,
  clientId: string,
  credentialId: string,
): Promise<CredentialRecord | undefined> =>
  (await db
    .updateTable('oauth_credentials')
    .set((eb) => ({ revoked_at: eb.fn.coalesce('revoked_at', sql<Date>`now()`) }))
    .where('client_id', '=', clientId)
    .where('id', '=', credentialId)
    .returning(recordColumns)
    .executeTakeFirst()) as CredentialRecord | undefined;

/** A usable credential with what authenticates it (the secret's hash, the key). */
export interface UsableCredential extends CredentialRecord {
  secret_hash: Buffer | null;
}

/** The client's credentials of a kind that are neither revoked nor expired. */
export const usableCredentials = async (
  db: Kysely<DB>,
  clientId: string,
  kind: CredentialKind,
): Promise<UsableCredential[]> =>
  (await db
    .selectFrom('oauth_credentials')
    .select([...recordColumns, 'secret_hash'])
    .where('client_id', '=', clientId)
    .where('kind', '=', kind)
    .where('revoked_at', 'is', null)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', sql<Date>`now()`)]))
    .orderBy('created_at')
    .execute()) as UsableCredential[];

/** A credential with its client, as token verification needs them. */
export interface CredentialGrant {
  credential_id: string;
  client_id: string;
  scopes: string[];
  expires_at: Date | null;
  revoked_at: Date | null;
  client_name: string;
  role: string;
  disabled_at: Date | null;
}

const grantQuery = (db: Kysely<DB>) =>
  db
    .selectFrom('oauth_credentials as c')
    .innerJoin('api_clients as a', 'a.id', 'c.client_id')
    .select([
      'c.id as credential_id',
      'c.client_id',
      'c.scopes',
      'c.expires_at',
      'c.revoked_at',
      'a.name as client_name',
      'a.role',
      'a.disabled_at',
    ]);

/** The credential a token of ours was obtained with. */
export const findGrant = (db: Kysely<DB>, credentialId: string): Promise<CredentialGrant | undefined> =>
  grantQuery(db).where('c.id', '=', credentialId).executeTakeFirst();

/** The credential linking an identity at a provider to a client (not revoked). */
export const findLinkedGrant = (
  db: Kysely<DB>,
  providerId: string,
  externalId: string,
): Promise<CredentialGrant | undefined> =>
  grantQuery(db)
    .where('c.provider_id', '=', providerId)
    .where('c.external_id', '=', externalId)
    .where('c.revoked_at', 'is', null)
    .executeTakeFirst();

/** A usable JWKS URL credential, for the fetch policy of its key set. */
export const findUsableJwksUri = (db: Kysely<DB>, credentialId: string) =>
  db
    .selectFrom('oauth_credentials')
    .select(['jwks_uri', 'allow_private_addresses'])
    .where('id', '=', credentialId)
    .where('revoked_at', 'is', null)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', sql<Date>`now()`)]))
    .executeTakeFirst();
