import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { exportJWK, type JWK } from 'jose';
import { sql, type Kysely } from 'kysely';
import type { DB } from '#platform/db/types';
import type { SignatureAlgorithm } from './format.ts';
import { JWS_ALG, thumbprintOf } from './jwk.ts';

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
  const values = {
    signature_policy: settings.policy,
    jwks_uri: settings.jwksUri,
    updated_by: updatedBy ?? null,
  };
  await db
    .insertInto('dci_client_settings')
    .values({ client_id: clientId, ...values })
    .onConflict((oc) => oc.column('client_id').doUpdateSet({ ...values, updated_at: sql`now()` }))
    .execute();
}

// ---- client public keys

export interface ClientKeyRow {
  client_id: string;
  key_id: string;
  algorithm: SignatureAlgorithm;
  public_jwk: JWK;
  created_by: string | null;
  created_at: Date;
  expires_at: Date | null;
  revoked_at: Date | null;
}

const clientKeyColumns = [
  'client_id',
  'key_id',
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
  algorithm: SignatureAlgorithm;
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

export const findClientKey = async (
  db: Kysely<DB>,
  clientId: string,
  keyId: string,
): Promise<ClientKeyRow | undefined> =>
  (await db
    .selectFrom('dci_client_keys')
    .select(clientKeyColumns)
    .where('client_id', '=', clientId)
    .where('key_id', '=', keyId)
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

export interface OwnKey {
  id: string;
  algorithm: SignatureAlgorithm;
  privateKey: KeyObject;
}

/** The current signing key; generates an Ed25519 one first when there is none. */
export async function currentSigningKey(db: Kysely<DB>): Promise<OwnKey> {
  const found = await findCurrent(db);
  if (found) {
    return found;
  }
  await insertGeneratedKey(db);
  // Another gateway may have won the race: the unique index keeps one current key, read it.
  const current = await findCurrent(db);
  if (!current) {
    throw new Error('no current DCI signing key after generating one');
  }
  return current;
}

async function findCurrent(db: Kysely<DB>): Promise<OwnKey | undefined> {
  const row = await db
    .selectFrom('dci_signing_keys')
    .select(['id', 'algorithm', 'private_key'])
    .where('status', '=', 'current')
    .executeTakeFirst();
  if (!row) {
    return undefined;
  }
  const privateKey = createPrivateKey({ key: Buffer.from(row.private_key), format: 'der', type: 'pkcs8' });
  return { id: row.id, algorithm: row.algorithm as SignatureAlgorithm, privateKey };
}

async function insertGeneratedKey(db: Kysely<DB>): Promise<void> {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const jwk = await exportJWK(publicKey);
  const id = await thumbprintOf(jwk);
  await db
    .insertInto('dci_signing_keys')
    .values({
      id,
      algorithm: 'ed25519',
      public_jwk: JSON.stringify({ ...jwk, kid: id, alg: JWS_ALG.ed25519, use: 'sig' }),
      private_key: privateKey.export({ format: 'der', type: 'pkcs8' }),
      status: 'current',
    })
    .onConflict((oc) => oc.doNothing())
    .execute();
}

/** Public JWKs of the current key and of retired keys not yet expired (for /.well-known/jwks.json). */
export async function publishedKeys(db: Kysely<DB>): Promise<JWK[]> {
  const rows = await db
    .selectFrom('dci_signing_keys')
    .select('public_jwk')
    .where((eb) =>
      eb.or([
        eb('status', '=', 'current'),
        eb.and([eb('status', '=', 'retired'), eb('expires_at', '>', sql<Date>`now()`)]),
      ]),
    )
    .orderBy('created_at', 'desc')
    .execute();
  return rows.map((row) => row.public_jwk as JWK);
}
