import { generateKeyPairSync } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { OwnKeyKind } from '#platform/crypto/own-keys';
import type { DB } from '#platform/db/types';
import { newestUsableClientKey } from '../signature/keys.ts';
import { publicEncryptionKeyFromJwk, type Recipient } from '@spx/dci-client';
import { saveSettingsColumns } from '../settings-store.ts';

/**
 * Keys and settings of DCI message encryption, one small query each: our key pair (clients encrypt
 * to it), a client's encryption key (we encrypt to it), and a client's encryption settings.
 */

/** Our DCI encryption keys (dci_encryption_keys): ECDH-ES+A256KW on P-256, published with use "enc". */
export const DCI_ENCRYPTION_KEYS: OwnKeyKind = {
  purpose: 'dci-encryption',
  table: 'dci_encryption_keys',
  use: 'enc',
  alg: 'ECDH-ES+A256KW',
  generate: () => ({ algorithm: 'ECDH-ES+A256KW', ...generateKeyPairSync('ec', { namedCurve: 'P-256' }) }),
  publishRetired: false,
};

/** The key we encrypt a client's messages to: its newest usable registered key of use "enc". */
export async function clientRecipient(db: Kysely<DB>, clientId: string): Promise<Recipient | undefined> {
  const row = await newestUsableClientKey(db, clientId, 'enc');
  if (!row) {
    return undefined;
  }
  const { algorithm, key } = await publicEncryptionKeyFromJwk(row.public_jwk);
  return { kid: row.key_id, algorithm, key };
}

export interface EncryptionSettings {
  /** The client's messages must come encrypted. */
  required: boolean;
  /** Every envelope we send the client is encrypted (answers to an encrypted message always are). */
  encryptMessages: boolean;
  updatedAt?: Date | undefined;
}

export const encryptionSettingsOf = (
  row: { encryption_required: boolean; encrypt_messages: boolean; updated_at: Date } | undefined,
): EncryptionSettings => ({
  required: row?.encryption_required ?? false,
  encryptMessages: row?.encrypt_messages ?? false,
  updatedAt: row?.updated_at,
});

export async function findEncryptionSettings(db: Kysely<DB>, clientId: string): Promise<EncryptionSettings> {
  const row = await db
    .selectFrom('dci_client_settings')
    .select(['encryption_required', 'encrypt_messages', 'updated_at'])
    .where('client_id', '=', clientId)
    .executeTakeFirst();
  return encryptionSettingsOf(row);
}

/** Upserts the encryption columns only: the other sections keep their values (or defaults). */
export async function saveEncryptionSettings(
  db: Kysely<DB>,
  clientId: string,
  settings: EncryptionSettings,
  updatedBy: string | undefined,
): Promise<void> {
  const columns = { encryption_required: settings.required, encrypt_messages: settings.encryptMessages };
  await saveSettingsColumns(db, clientId, columns, updatedBy);
}
