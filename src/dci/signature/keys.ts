import { generateKeyPairSync } from 'node:crypto';
import type { JWK } from 'jose';
import { sql, type Kysely } from 'kysely';
import type { OwnKeyKind } from '#platform/crypto/own-keys';
import type { DB } from '#platform/db/types';
import { JWS_ALG } from '@spx/dci-client';
import { saveSettingsColumns } from '../settings-store.ts';

/**
 * Key storage, one small query each: our signing keys (dci_signing_keys) and the public keys
 * clients registered (dci_client_keys), plus a client's signature settings (dci_client_settings).
 */

/** Which messages of a client must be signed: all, those to async and subscription endpoints, or none. */
export const SIGNATURE_POLICIES = ['all', 'async', 'none'] as const;
export type SignaturePolicy = (typeof SIGNATURE_POLICIES)[number];

export interface SignatureSettings {
  policy: SignaturePolicy;
  jwksUri: string | null;
  updatedAt?: Date | undefined;
}

export const DEFAULT_SIGNATURE_SETTINGS: SignatureSettings = { policy: 'async', jwksUri: null };

const isPolicy = (value: string): value is SignaturePolicy =>
  (SIGNATURE_POLICIES as readonly string[]).includes(value);

export async function findSignatureSettings(db: Kysely<DB>, clientId: string): Promise<SignatureSettings> {
  const row = await db
    .selectFrom('dci_client_settings')
    .select(['signature_policy', 'jwks_uri', 'updated_at'])
    .where('client_id', '=', clientId)
    .executeTakeFirst();
  return signatureSettingsOf(row);
}

/** The signature settings of a `dci_client_settings` row (the defaults without one). */
export function signatureSettingsOf(
  row: { signature_policy: string; jwks_uri: string | null; updated_at: Date } | undefined,
): SignatureSettings {
  if (!row) {
    return DEFAULT_SIGNATURE_SETTINGS;
  }
  // An unknown stored value (the check constraint forbids it) is read as the strictest policy.
  const policy = isPolicy(row.signature_policy) ? row.signature_policy : 'all';
  return { policy, jwksUri: row.jwks_uri, updatedAt: row.updated_at };
}

/** Upserts the signature columns only: the callback columns keep their values (or defaults). */
export async function saveSignatureSettings(
  db: Kysely<DB>,
  clientId: string,
  settings: SignatureSettings,
  updatedBy: string | undefined,
): Promise<void> {
  const columns = { signature_policy: settings.policy, jwks_uri: settings.jwksUri };
  await saveSettingsColumns(db, clientId, columns, updatedBy);
}

// ---- client public keys

/** What a client's key is for: verifying its signatures, or encrypting messages to it (migration 0015). */
export type KeyUse = 'sig' | 'enc';

export interface ClientKeyRow {
  client_id: string;
  key_id: string;
  use: KeyUse;
  /** A SignatureAlgorithm for `sig`, a JWE key management algorithm for `enc`. */
  algorithm: string;
  public_jwk: JWK;
  created_by: string | null;
  created_at: Date;
  expires_at: Date | null;
  revoked_at: Date | null;
}

const clientKeyColumns = [
  'client_id',
  'key_id',
  'use',
  'algorithm',
  'public_jwk',
  'created_by',
  'created_at',
  'expires_at',
  'revoked_at',
] as const;

export interface NewClientKey {
  clientId: string;
  keyId: string;
  use: KeyUse;
  algorithm: string;
  jwk: JWK;
  expiresAt: Date | null;
  createdBy: string | undefined;
}

/** Inserts a client key; undefined when the client already has a key with this id. */
export async function insertClientKey(db: Kysely<DB>, key: NewClientKey): Promise<ClientKeyRow | undefined> {
  const row = await db
    .insertInto('dci_client_keys')
    .values({
      client_id: key.clientId,
      key_id: key.keyId,
      use: key.use,
      algorithm: key.algorithm,
      public_jwk: JSON.stringify(key.jwk),
      created_by: key.createdBy ?? null,
      expires_at: key.expiresAt,
    })
    .onConflict((oc) => oc.columns(['client_id', 'key_id']).doNothing())
    .returning(clientKeyColumns)
    .executeTakeFirst();
  return row as ClientKeyRow | undefined;
}

/** The client's key of this id and use (a signature is never checked with an encryption key). */
export const findClientKey = async (
  db: Kysely<DB>,
  clientId: string,
  keyId: string,
  use: KeyUse,
): Promise<ClientKeyRow | undefined> =>
  (await db
    .selectFrom('dci_client_keys')
    .select(clientKeyColumns)
    .where('client_id', '=', clientId)
    .where('key_id', '=', keyId)
    .where('use', '=', use)
    .executeTakeFirst()) as ClientKeyRow | undefined;

/** The client's newest key of this use that is neither revoked nor expired. */
export const newestUsableClientKey = async (
  db: Kysely<DB>,
  clientId: string,
  use: KeyUse,
): Promise<ClientKeyRow | undefined> =>
  (await db
    .selectFrom('dci_client_keys')
    .select(clientKeyColumns)
    .where('client_id', '=', clientId)
    .where('use', '=', use)
    .where('revoked_at', 'is', null)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', sql<Date>`now()`)]))
    .orderBy('created_at', 'desc')
    .orderBy('key_id')
    .executeTakeFirst()) as ClientKeyRow | undefined;

export const listClientKeys = async (db: Kysely<DB>, clientId: string): Promise<ClientKeyRow[]> =>
  (await db
    .selectFrom('dci_client_keys')
    .select(clientKeyColumns)
    .where('client_id', '=', clientId)
    .orderBy('created_at')
    .orderBy('key_id')
    .execute()) as ClientKeyRow[];

/** Keys that may still verify (not revoked, not expired): registration is capped on these. */
export async function countUsableClientKeys(db: Kysely<DB>, clientId: string): Promise<number> {
  const row = await db
    .selectFrom('dci_client_keys')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('client_id', '=', clientId)
    .where('revoked_at', 'is', null)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', sql<Date>`now()`)]))
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

/** Revokes a client key at once; revoking twice is harmless. Undefined when there is no such key. */
export const revokeClientKey = async (
  db: Kysely<DB>,
  clientId: string,
  keyId: string,
): Promise<ClientKeyRow | undefined> =>
  (await db
    .updateTable('dci_client_keys')
    .set((eb) => ({ revoked_at: eb.fn.coalesce('revoked_at', sql<Date>`now()`) }))
    .where('client_id', '=', clientId)
    .where('key_id', '=', keyId)
    .returning(clientKeyColumns)
    .executeTakeFirst()) as ClientKeyRow | undefined;

// ---- our signing keys

/**
 * Our DCI signing keys (dci_signing_keys, #platform/crypto/own-keys): Ed25519. A message we sign
 * names the key in its kid `<sender_id>|<id>|ed25519`; retired keys stay published until they expire.
 */
export const DCI_SIGNING_KEYS: OwnKeyKind = {
  purpose: 'dci-signing',
  table: 'dci_signing_keys',
  use: 'sig',
  alg: JWS_ALG.ed25519,
  generate: () => ({ algorithm: 'ed25519', ...generateKeyPairSync('ed25519') }),
  publishRetired: true,
};
