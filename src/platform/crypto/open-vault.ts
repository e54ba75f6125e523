import type { Kysely } from 'kysely';
import { ConfigError } from '#config/load';
import type { Config } from '#config/settings';
import type { DB } from '#platform/db/types';
import { KeyVault, KeyVaultError } from './key-vault.ts';
import { loadMasterKey } from './master-key.ts';
import { OWN_KEY_TABLES, sealContext } from './own-keys.ts';

/**
 * The start of the key vault, before anything signs or decrypts: load the master key, check that it
 * opens every private key already sealed (a wrong master key stops the start with one line, before
 * anything new is sealed under it), then seal the keys that earlier versions stored in the clear
 * (idempotent: a key is sealed once, by whichever gateway gets to it first).
 */
export async function openKeyVault(
  config: Pick<Config, 'masterKey' | 'dataDir'>,
  db: Kysely<DB>,
): Promise<{ vault: KeyVault; sealed: number }> {
  const vault = new KeyVault(loadMasterKey(config));
  await checkMasterKey(db, vault);
  return { vault, sealed: await sealPlainKeys(db, vault) };
}

/** Throws a ConfigError when the master key does not open every sealed key. */
async function checkMasterKey(db: Kysely<DB>, vault: KeyVault): Promise<void> {
  let total = 0;
  const failures: string[] = [];
  for (const table of OWN_KEY_TABLES) {
    const rows = await db
      .selectFrom(table as 'dci_encryption_keys')
      .select(['id', 'sealed_private_key'])
      .where('sealed_private_key', 'is not', null)
      .execute();
    for (const row of rows) {
      total += 1;
      await vault.open(row.sealed_private_key, sealContext(table, row.id)).catch((error: unknown) => {
        if (!(error instanceof KeyVaultError)) {
          throw error;
        }
        failures.push(error.message);
      });
    }
  }
  if (failures.length > 0) {
    throw new ConfigError(
      `${vault.masterKeySource}: this master key does not open ${failures.length} of the ${total} private keys ` +
        `in the database (${failures[0]}); start with the master key they were sealed under`,
    );
  }
}

/** Seals the private keys stored in the clear before migration 0015; the number sealed. */
async function sealPlainKeys(db: Kysely<DB>, vault: KeyVault): Promise<number> {
  let sealed = 0;
  for (const table of ['dci_signing_keys', 'oauth_signing_keys'] as const) {
    const rows = await db
      .selectFrom(table)
      .select(['id', 'private_key'])
      .where('private_key', 'is not', null)
      .execute();
    for (const row of rows) {
      const result = await db
        .updateTable(table)
        .set({
          sealed_private_key: await vault.seal(row.private_key!, sealContext(table, row.id)),
          private_key: null,
        })
        .where('id', '=', row.id)
        .where('private_key', 'is not', null)
        .executeTakeFirst();
      sealed += Number(result.numUpdatedRows);
    }
  }
  return sealed;
}
