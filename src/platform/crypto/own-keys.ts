import { createPrivateKey, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, type JWK } from 'jose';
import { sql, type Kysely } from 'kysely';
import type { DB, DciEncryptionKeyTable } from '#platform/db/types';
import { conflict } from '#platform/problem';
import { KeyVaultError, type KeyVault } from './key-vault.ts';

/**
 * Our own key pairs, one table per purpose (DCI message signatures, access tokens, DCI message
 * encryption), kept alike: the current key (generated on first use) signs or is encrypted to; a
 * rotation makes a new key current and retires the old one, which still verifies or decrypts until
 * its expires_at (the grace period) and is then of no use. Private keys are stored sealed under the
 * master key (key-vault.ts) and opened only in memory.
 */

/** The tables of our key pairs: the same columns (migrations 0005, 0008, 0015). */
export const OWN_KEY_TABLES = ['dci_signing_keys', 'oauth_signing_keys', 'dci_encryption_keys'] as const;
export type OwnKeyTable = (typeof OWN_KEY_TABLES)[number];

/** What a kind of key of ours is: where it lives, what it is for, how a new one is made. */
export interface OwnKeyKind {
  /** Its name in the admin API and the CLI, e.g. `dci-signing`. */
  purpose: string;
  table: OwnKeyTable;
  /** JWK `use` and `alg` of its public keys. */
  use: 'sig' | 'enc';
  alg: string;
  /** A new key pair and the algorithm name stored with it. */
  generate(): { algorithm: string; publicKey: KeyObject; privateKey: KeyObject };
  /**
   * Whether retired keys are published until they expire: yes for signing keys (what they signed
   * must still verify); no for encryption keys (nobody should encrypt to a key on its way out).
   */
  publishRetired: boolean;
}

export interface OwnKey {
  id: string;
  algorithm: string;
  privateKey: KeyObject;
}

export type OwnKeyStatus = 'current' | 'retiring' | 'expired';

/** A key as the admin API lists it: never its private part. */
export interface OwnKeyInfo {
  id: string;
  purpose: string;
  use: 'sig' | 'enc';
  algorithm: string;
  status: OwnKeyStatus;
  createdAt: Date;
  retiredAt: Date | null;
  expiresAt: Date | null;
}

/** Our current key is read again after this long, so that a rotation by another gateway is seen. */
const CURRENT_KEY_TTL_MS = 5 * 60_000;

// The three tables have the same columns; Kysely is shown one of them (the legacy plain column of
// the two older ones is read only by sealPlainKeys).
type KeyTable = 'dci_encryption_keys';
type KeyRow = Pick<DciEncryptionKeyTable, 'id' | 'algorithm' | 'sealed_private_key'>;

export class OwnKeys {
  #current: { key: Promise<OwnKey>; at: number } | undefined;
  #rotations = 0;

  constructor(
    private readonly db: Kysely<DB>,
    private readonly vault: KeyVault,
    readonly kind: OwnKeyKind,
  ) {}

  private get table(): KeyTable {
    return this.kind.table as KeyTable;
  }

  /** The current key (generated when there is none), cached for a few minutes. */
  current(): Promise<OwnKey> {
    if (!this.#current || Date.now() - this.#current.at > CURRENT_KEY_TTL_MS) {
      const key = this.#readOrGenerateCurrent();
      this.#current = { key, at: Date.now() };
      key.catch(() => {
        if (this.#current?.key === key) {
          this.#current = undefined; // a failed read is tried again by the next use
        }
      });
    }
    return this.#current.key;
  }

  /** The key of this id if it may still be used (current, or retired and not yet expired). */
  async usable(id: string): Promise<OwnKey | undefined> {
    const current = await this.current();
    if (current.id === id) {
      return current;
    }
    const row = await this.db
      .selectFrom(this.table)
      .select(['id', 'algorithm', 'sealed_private_key'])
      .where('id', '=', id)
      .where((eb) => eb.or([eb('status', '=', 'current'), eb('expires_at', '>', sql<Date>`now()`)]))
      .executeTakeFirst();
    return row && this.#open(row);
  }

  /** Public JWKs (with kid, alg, use) of the current key, and of retired ones not expired when published. */
  async published(): Promise<JWK[]> {
    await this.current(); // generated on first use: a key set is never empty
    const rows = await this.db
      .selectFrom(this.table)
      .select('public_jwk')
      .where((eb) =>
        eb.or([
          eb('status', '=', 'current'),
          ...(this.kind.publishRetired
            ? [eb.and([eb('status', '=', 'retired'), eb('expires_at', '>', sql<Date>`now()`)])]
            : []),
        ]),
      )
      .orderBy('created_at', 'desc')
      .execute();
    return rows.map((row) => row.public_jwk as JWK);
  }

  /** Every key of this kind, newest first, with its status. */
  async list(): Promise<OwnKeyInfo[]> {
    const rows = await this.db
      .selectFrom(this.table)
      .select((eb) => [
        'id',
        'algorithm',
        'status',
        'created_at',
        'retired_at',
        'expires_at',
        eb('expires_at', '>', sql<Date>`now()`).as('usable'),
      ])
      .orderBy('created_at', 'desc')
      .orderBy('id')
      .execute();
    return rows.map((row) => ({
      id: row.id,
      purpose: this.kind.purpose,
      use: this.kind.use,
      algorithm: row.algorithm,
      status: row.status === 'current' ? 'current' : row.usable ? 'retiring' : 'expired',
      createdAt: row.created_at,
      retiredAt: row.retired_at,
      expiresAt: row.expires_at,
    }));
  }

  /**
   * A new current key; the old one is retired and still verifies or decrypts for `graceSeconds`
   * (0: not at all, for a key that leaked). Returns both.
   */
  async rotate(graceSeconds: number): Promise<{ current: OwnKeyInfo; retired: OwnKeyInfo | undefined }> {
    const next = await this.#newRow();
    const retired = await this.db.transaction().execute(async (trx) => {
      const old = await trx
        .updateTable(this.table)
        .set({
          status: 'retired',
          retired_at: sql`now()`,
          expires_at: sql`now() + make_interval(secs => ${graceSeconds})`,
        })
        .where('status', '=', 'current')
        .returning('id')
        .executeTakeFirst();
      const inserted = await trx
        .insertInto(this.table)
        .values(next)
        .onConflict((oc) => oc.doNothing())
        .returning('id')
        .executeTakeFirst();
      if (!inserted) {
        throw conflict('another rotation of this key made a new key at the same time: list the keys');
      }
      return old?.id;
    });
    this.forget();
    const keys = await this.list();
    return {
      current: keys.find((key) => key.id === next.id)!,
      retired: keys.find((key) => key.id === retired),
    };
  }

  /** Drops the cached current key (it is read again at the next use). */
  forget(): void {
    this.#current = undefined;
    this.#rotations += 1;
  }

  /** Counts the rotations made through this object: caches of published keys compare it. */
  get rotations(): number {
    return this.#rotations;
  }

  async #readOrGenerateCurrent(): Promise<OwnKey> {
    const found = await this.#findCurrent();
    if (found) {
      return found;
    }
    // Another gateway may win the race: the unique index keeps one current key, read it.
    await this.db
      .insertInto(this.table)
      .values(await this.#newRow())
      .onConflict((oc) => oc.doNothing())
      .execute();
    const current = await this.#findCurrent();
    if (!current) {
      throw new Error(`no current ${this.kind.purpose} key after generating one`);
    }
    return current;
  }

  async #findCurrent(): Promise<OwnKey | undefined> {
    const row = await this.db
      .selectFrom(this.table)
      .select(['id', 'algorithm', 'sealed_private_key'])
      .where('status', '=', 'current')
      .executeTakeFirst();
    return row && this.#open(row);
  }

  /** A new key pair as a current row: public JWK with kid (its RFC 7638 thumbprint), private key sealed. */
  async #newRow() {
    const { algorithm, publicKey, privateKey } = this.kind.generate();
    const jwk = await exportJWK(publicKey);
    const id = await calculateJwkThumbprint(jwk, 'sha256');
    const der = privateKey.export({ format: 'der', type: 'pkcs8' });
    return {
      id,
      algorithm,
      public_jwk: JSON.stringify({ ...jwk, kid: id, alg: this.kind.alg, use: this.kind.use }),
      sealed_private_key: await this.vault.seal(der, sealContext(this.kind.table, id)),
      status: 'current',
    };
  }

  async #open(row: KeyRow): Promise<OwnKey> {
    // Null in a row an older gateway wrote after this one started: the next start seals it.
    if (!(row.sealed_private_key as string | null)) {
      throw new KeyVaultError(`${this.kind.table}/${row.id} is not sealed yet: restart a gateway`);
    }
    const der = await this.vault.open(row.sealed_private_key, sealContext(this.kind.table, row.id));
    const privateKey = createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' });
    return { id: row.id, algorithm: row.algorithm, privateKey };
  }
}

/** What a sealed key is bound to (key-vault.ts `ctx`): its table and id. */
export const sealContext = (table: OwnKeyTable, id: string): string => `${table}/${id}`;
