import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, createLocalJWKSet, exportJWK, type JWK, type JWTVerifyGetKey } from 'jose';
import { sql, type Kysely } from 'kysely';
import type { DB } from '#platform/db/types';

/**
 * The keys our access tokens are signed with (oauth_signing_keys): Ed25519, JWS alg EdDSA. The
 * current key is generated on first use; retired keys not yet expired still verify and are
 * published, so that a rotation does not break tokens already issued.
 */

export const TOKEN_ALG = 'EdDSA';

export interface TokenSigningKey {
  kid: string;
  privateKey: KeyObject;
}

/** Our current key is read again after this long, so that a rotation by another gateway is seen. */
const CURRENT_KEY_TTL_MS = 5 * 60_000;
/** A token naming a kid we do not know reloads the published keys at most this often. */
const RELOAD_COOLDOWN_MS = 30_000;

/** Our token keys, cached: the one to sign with, and those that verify. */
export class TokenKeys {
  private current: { key: Promise<TokenSigningKey>; at: number } | undefined;
  private published: { keys: JWK[]; verify: JWTVerifyGetKey; at: number } | undefined;

  constructor(private readonly db: Kysely<DB>) {}

  /** The current signing key (generated when there is none). */
  signingKey(): Promise<TokenSigningKey> {
    if (!this.current || Date.now() - this.current.at > CURRENT_KEY_TTL_MS) {
      const key = currentTokenKey(this.db);
      this.current = { key, at: Date.now() };
      this.published = undefined; // the key read (or just generated) verifies at once
      key.catch(() => {
        if (this.current?.key === key) {
          this.current = undefined; // a failed read is tried again by the next token
        }
      });
    }
    return this.current.key;
  }

  /** Public JWKs of the keys that verify (for /.well-known/jwks.json); generates the first key. */
  async publicKeys(): Promise<JWK[]> {
    await this.signingKey();
    return publishedTokenKeys(this.db);
  }

  /** A jose key resolver over the published keys; a kid it does not know reloads them (rate-limited). */
  readonly verificationKey: JWTVerifyGetKey = async (header, token) => {
    const known = this.published?.keys.some((jwk) => jwk.kid === header.kid);
    if (!this.published || (!known && Date.now() - this.published.at > RELOAD_COOLDOWN_MS)) {
      const keys = await publishedTokenKeys(this.db);
      this.published = { keys, verify: createLocalJWKSet({ keys }), at: Date.now() };
    }
    return this.published.verify(header, token);
  };
}

async function currentTokenKey(db: Kysely<DB>): Promise<TokenSigningKey> {
  const found = await findCurrent(db);
  if (found) {
    return found;
  }
  await insertGeneratedKey(db);
  // Another gateway may have won the race: the unique index keeps one current key, read it.
  const current = await findCurrent(db);
  if (!current) {
    throw new Error('no current token signing key after generating one');
  }
  return current;
}

async function findCurrent(db: Kysely<DB>): Promise<TokenSigningKey | undefined> {
  const row = await db
    .selectFrom('oauth_signing_keys')
    .select(['id', 'private_key'])
    .where('status', '=', 'current')
    .executeTakeFirst();
  return row
    ? {
        kid: row.id,
        privateKey: createPrivateKey({ key: Buffer.from(row.private_key), format: 'der', type: 'pkcs8' }),
      }
    : undefined;
}

async function insertGeneratedKey(db: Kysely<DB>): Promise<void> {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk, 'sha256');
  await db
    .insertInto('oauth_signing_keys')
    .values({
      id: kid,
      algorithm: TOKEN_ALG,
      public_jwk: JSON.stringify({ ...jwk, kid, alg: TOKEN_ALG, use: 'sig' }),
      private_key: privateKey.export({ format: 'der', type: 'pkcs8' }),
      status: 'current',
    })
    .onConflict((oc) => oc.doNothing())
    .execute();
}

/** Public JWKs of the current key and of retired keys not yet expired. */
async function publishedTokenKeys(db: Kysely<DB>): Promise<JWK[]> {
  const rows = await db
    .selectFrom('oauth_signing_keys')
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
