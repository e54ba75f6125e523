import { CompactEncrypt, compactDecrypt, decodeProtectedHeader, errors } from 'jose';
import type { MasterKey } from './master-key.ts';

/**
 * Envelope encryption of private key material under the master key, as a compact JWE (RFC 7516):
 * `A256GCM` encrypts the key with a fresh random data key (the JWE content encryption key), and
 * `A256GCMKW` wraps that data key with the master key, both AES-256-GCM, so both are authenticated.
 * The protected header, which AES-GCM authenticates as associated data, names the master key (`kid`)
 * and what the key is (`ctx`, e.g. `dci_signing_keys/<kid>`): a sealed key copied onto another row,
 * or opened with another master key, is refused instead of being used.
 */

const ALG = 'A256GCMKW';
const ENC = 'A256GCM';

/** A sealed key that cannot be opened: the wrong master key, another key's row, or damaged. */
export class KeyVaultError extends Error {
  override name = 'KeyVaultError';
}

export class KeyVault {
  constructor(private readonly master: MasterKey) {}

  /** Where the master key came from (SPX_MASTER_KEY or its file). */
  get masterKeySource(): string {
    return this.master.source;
  }

  /** The key material sealed for `context` (the table and key id it is stored under). */
  seal(plaintext: Uint8Array, context: string): Promise<string> {
    return new CompactEncrypt(plaintext)
      .setProtectedHeader({ alg: ALG, enc: ENC, kid: this.master.id, ctx: context })
      .encrypt(this.master.secret);
  }

  /** The key material of a sealed value, which must have been sealed for `context`. */
  async open(sealed: string, context: string): Promise<Uint8Array> {
    const header = readHeader(sealed);
    if (header.kid !== this.master.id) {
      throw new KeyVaultError(
        `${context} was sealed under master key ${String(header.kid)}, not under the configured ${this.master.id}`,
      );
    }
    if (header.ctx !== context) {
      throw new KeyVaultError(`${context} holds the sealed key of ${String(header.ctx)}`);
    }
    try {
      const { plaintext } = await compactDecrypt(sealed, this.master.secret, {
        keyManagementAlgorithms: [ALG],
        contentEncryptionAlgorithms: [ENC],
      });
      return plaintext;
    } catch (error) {
      if (error instanceof errors.JOSEError) {
        throw new KeyVaultError(`${context} cannot be opened with the configured master key`);
      }
      throw error;
    }
  }
}

function readHeader(sealed: string): { kid?: unknown; ctx?: unknown } {
  try {
    return decodeProtectedHeader(sealed);
  } catch {
    throw new KeyVaultError('a sealed key is not a JWE');
  }
}
