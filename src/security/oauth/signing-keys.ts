import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createLocalJWKSet, type JWK, type JWTVerifyGetKey } from 'jose';
import type { OwnKeyKind, OwnKeys } from '#platform/crypto/own-keys';

/**
 * The keys our access tokens are signed with (oauth_signing_keys, #platform/crypto/own-keys):
 * Ed25519, JWS alg EdDSA. The current key is generated on first use; retired keys not yet expired
 * still verify and are published, so that a rotation does not break tokens already issued.
 */

export const TOKEN_ALG = 'EdDSA';

export const TOKEN_SIGNING_KEYS: OwnKeyKind = {
  purpose: 'token-signing',
  table: 'oauth_signing_keys',
  use: 'sig',
  alg: TOKEN_ALG,
  generate: () => ({ algorithm: TOKEN_ALG, ...generateKeyPairSync('ed25519') }),
  publishRetired: true,
};

export interface TokenSigningKey {
  kid: string;
  privateKey: KeyObject;
}

/** A token naming a kid we do not know reloads the published keys at most this often. */
const RELOAD_COOLDOWN_MS = 30_000;
/** The published keys are read again after this long: a key retired by another gateway expires. */
const PUBLISHED_TTL_MS = 5 * 60_000;

/** Our token keys, cached: the one to sign with, and those that verify. */
export class TokenKeys {
  private published: { keys: JWK[]; verify: JWTVerifyGetKey; at: number; rotations: number } | undefined;
  private signingKid: string | undefined;

  constructor(private readonly keys: OwnKeys) {}

  /** The current signing key (generated when there is none). */
  async signingKey(): Promise<TokenSigningKey> {
    const key = await this.keys.current();
    if (key.id !== this.signingKid) {
      this.signingKid = key.id;
      this.published = undefined; // a key read (or just generated, or rotated to) verifies at once
    }
    return { kid: key.id, privateKey: key.privateKey };
  }

  /** Public JWKs of the keys that verify (for /.well-known/jwks.json); generates the first key. */
  publicKeys(): Promise<JWK[]> {
    return this.keys.published();
  }

  /**
   * A jose key resolver over the published keys, read again when a kid is unknown (rate-limited),
   * after a rotation here (a key retired at once must stop verifying at once) and every few minutes.
   */
  readonly verificationKey: JWTVerifyGetKey = async (header, token) => {
    if (this.stale(header.kid)) {
      const rotations = this.keys.rotations;
      const keys = await this.keys.published();
      this.published = { keys, verify: createLocalJWKSet({ keys }), at: Date.now(), rotations };
    }
    return this.published!.verify(header, token);
  };

  private stale(kid: string | undefined): boolean {
    const published = this.published;
    if (!published || published.rotations !== this.keys.rotations) {
      return true;
    }
    const age = Date.now() - published.at;
    const known = published.keys.some((jwk) => jwk.kid === kid);
    return age > PUBLISHED_TTL_MS || (!known && age > RELOAD_COOLDOWN_MS);
  }
}
