import { createHmac, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { KeyVault } from '#platform/crypto/key-vault';
import type { DB } from '#platform/db/types';
import type { Pseudonymiser } from './source.ts';

/**
 * Pseudonyms of identifiers: HMAC-SHA256 under a random key of the recipient (the client running
 * the export), sealed under the master key at rest. The same recipient gets the same pseudonym for
 * an identifier in every export (its files join up); two recipients get different ones (theirs do
 * not), and without the key a pseudonym cannot be recomputed from a guessed identifier.
 */

const context = (clientId: string) => `export_pseudonym_keys/${clientId}`;

async function keyOf(db: Kysely<DB>, vault: KeyVault, clientId: string): Promise<Uint8Array> {
  const stored = await db
    .selectFrom('export_pseudonym_keys')
    .select('sealed_key')
    .where('client_id', '=', clientId)
    .executeTakeFirst();
  if (stored) {
    return vault.open(stored.sealed_key, context(clientId));
  }
  const sealed = await vault.seal(randomBytes(32), context(clientId));
  // Two first exports at once: one key wins, both use it.
  await db
    .insertInto('export_pseudonym_keys')
    .values({ client_id: clientId, sealed_key: sealed })
    .onConflict((oc) => oc.column('client_id').doNothing())
    .execute();
  return keyOf(db, vault, clientId);
}

/** 128 bits of the keyed hash, base64url: 22 characters. */
export async function pseudonymiserFor(
  db: Kysely<DB>,
  vault: KeyVault,
  clientId: string,
): Promise<Pseudonymiser> {
  const key = await keyOf(db, vault, clientId);
  return (value) => createHmac('sha256', key).update(value).digest().subarray(0, 16).toString('base64url');
}
