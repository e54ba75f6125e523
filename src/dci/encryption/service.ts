import type { JWK } from 'jose';
import type { Kysely } from 'kysely';
import type { OwnKeys } from '#platform/crypto/own-keys';
import type { DB } from '#platform/db/types';
import { JSON_TEXT, slicedJson } from '#platform/http/long-reads';
import { isEnvelope } from '../envelope.ts';
import { DciError } from '../errors.ts';
import {
  decryptMessage,
  EncryptionError,
  encryptJson,
  type KeyManagementAlgorithm,
  readEncryptedMessage,
} from '@spx/dci-client';
import { clientRecipient, findEncryptionSettings, type EncryptionSettings } from './keys.ts';

/**
 * DCI message encryption in one object, shared by the routes and the jobs, at the edges only: an
 * incoming message is decrypted after its signature was checked (the signature covers the message
 * as sent, encrypted) and before the core validates it; an outgoing envelope is encrypted before it
 * is signed (our signature covers it as sent). Only `message` is encrypted: the header stays
 * readable, as the spec has it (`is_msg_encrypted`).
 *
 * What leaves encrypted: an envelope whose header says `is_msg_encrypted: true` (the core sets it on
 * every answer to an encrypted message, envelope.ts responseHeader), and every envelope to a client
 * whose settings say `encrypt_messages`. It is encrypted to the client's newest registered key of
 * use "enc"; without one it does not leave at all (err.encryption.invalid), never in the clear.
 */
export interface DciEncryption {
  /**
   * The envelope as the core reads it: an encrypted message decrypted (its header still saying
   * `is_msg_encrypted: true`, so that the answer is encrypted too); a plain one refused when the
   * client must encrypt. Throws err.encryption.invalid; leaves bodies that are no envelope as they are.
   */
  open(body: unknown, clientId: string, settings: EncryptionSettings): Promise<unknown>;
  /** The envelope as it leaves for the client, its message encrypted when it must be. */
  seal<T>(payload: T, clientId: string, settings?: EncryptionSettings): Promise<T>;
  /** Our published encryption key (use "enc"), for /.well-known/jwks.json. */
  publicKeys(): Promise<JWK[]>;
}

const encryptionInvalid = (reason: string) =>
  new DciError('err.encryption.invalid', `the message cannot be decrypted: ${reason}`);

export function createDciEncryption({ db, keys }: { db: Kysely<DB>; keys: OwnKeys }): DciEncryption {
  const decrypted = async (message: unknown, clientId: string) => {
    const encrypted = readEncryptedMessage(message);
    if (!(await clientRecipient(db, clientId))) {
      throw new EncryptionError(
        'its answer would be encrypted, and no encryption key (use "enc") is registered for you',
      );
    }
    const key = await keys.usable(encrypted.header.kid);
    if (!key) {
      throw new EncryptionError(
        `kid ${encrypted.header.kid} is not one of our encryption keys: read /.well-known/jwks.json again`,
      );
    }
    return decryptMessage(encrypted, key.privateKey, key.algorithm as KeyManagementAlgorithm);
  };

  return {
    async open(body, clientId, settings) {
      if (!isEnvelope(body)) {
        return body;
      }
      if (body.header['is_msg_encrypted'] !== true) {
        if (settings.required) {
          throw new DciError(
            'err.encryption.invalid',
            'your messages must be encrypted: message as a JWE to our key of use "enc" ' +
              '(/.well-known/jwks.json), and header.is_msg_encrypted: true',
          );
        }
        return body;
      }
      try {
        return { ...body, message: await decrypted(body.message, clientId) };
      } catch (error) {
        throw error instanceof EncryptionError ? encryptionInvalid(error.message) : error;
      }
    },

    async seal(payload, clientId, known) {
      if (!isEnvelope(payload)) {
        return payload;
      }
      const { header, message } = payload;
      if (message === undefined) {
        // Nothing to encrypt (a message rejected as a whole): the header must not say otherwise.
        return header['is_msg_encrypted'] === true
          ? { ...payload, header: { ...header, is_msg_encrypted: false } }
          : payload;
      }
      if (header['is_msg_encrypted'] !== true) {
        const settings = known ?? (await findEncryptionSettings(db, clientId));
        if (!settings.encryptMessages) {
          return payload;
        }
      }
      const to = await clientRecipient(db, clientId);
      if (!to) {
        throw new DciError(
          'err.encryption.invalid',
          'the message must be encrypted and the client has no usable encryption key: it is not sent',
        );
      }
      const sealed = { ...payload, header: { ...header, is_msg_encrypted: true } };
      // The plaintext written a slice at a time: an async search answer may hold 10,000 records.
      const plaintext = await slicedJson(message, JSON_TEXT);
      return { ...sealed, message: await encryptJson(plaintext, to) };
    },

    publicKeys: () => keys.published(),
  };
}
