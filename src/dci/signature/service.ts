import type { KeyObject } from 'node:crypto';
import type { JWK } from 'jose';
import type { Kysely } from 'kysely';
import type { OwnKeys } from '#platform/crypto/own-keys';
import { TtlCache } from '#platform/cache/ttl-cache';
import type { DB } from '#platform/db/types';
import type { RemoteJwks } from '#platform/outbound/remote-jwks';
import { systemResolve, type Resolve } from '../callback/address.ts';
import {
  checkMessageTime,
  DEFAULT_MESSAGE_TIME_WINDOW,
  DEFAULT_SENDER_ID,
  isEnvelope,
  type MessageTimeWindow,
} from '../envelope.ts';
import { asDciError } from '../errors.ts';
import {
  DEFAULT_SIGNATURE_LIMITS,
  invalidSignature,
  KeyError,
  type Kid,
  publicKeyFromJwk,
  type SignatureAlgorithm,
  type SignatureLimits,
  type SigningKey,
  verifyEnvelope,
} from '@spx/dci-client';
import { signedEnvelopeJson } from './signed-json.ts';
import { clientJwks } from './jwks.ts';
import { findClientKey, findSignatureSettings, type SignatureSettings } from './keys.ts';

/**
 * The gateway's DCI signatures in one object, shared by the routes and the jobs: incoming messages
 * checked (signature as the client's policy requires, message_ts window), outgoing envelopes signed
 * with our current key, our public keys for /.well-known/jwks.json.
 */

/** Whether a route counts as asynchronous (async answers, subscriptions) for the signature policy. */
export type SignatureMode = 'async' | 'sync';

export interface DciSignatures {
  /** Throws err.signature.* or rjct.message_ts.invalid; leaves bodies that are no envelope to the route. */
  checkIncoming(
    body: unknown,
    clientId: string,
    mode: SignatureMode,
    settings?: SignatureSettings,
  ): Promise<void>;
  /**
   * A DCI envelope (`{ header, message? }`) with our signature, as JSON text written and signed a
   * slice at a time (signed-json.ts); undefined when the payload is no envelope.
   */
  signedJson(payload: unknown): Promise<string | undefined>;
  /** Drops what is cached of a client's keys (call on every change of the client's keys). */
  forgetClient(clientId: string): void;
  /** Our published public keys. */
  publicKeys(): Promise<JWK[]>;
}

export interface SignatureOptions {
  db: Kysely<DB>;
  /** Our DCI signing keys (keys.ts DCI_SIGNING_KEYS), shared with the key rotation routes. */
  keys: OwnKeys;
  /** First part of our kid; must be the sender_id of our headers (senderIdOf(receiver)). */
  senderId?: string;
  now?: () => Date;
  /** DNS for the JWKS fetch's SSRF guard. */
  resolve?: Resolve;
  limits?: Partial<SignatureLimits>;
  messageTime?: Partial<MessageTimeWindow>;
  /** Lifetime of our signatures (expires - created), in seconds; default 3600. */
  lifetimeSeconds?: number;
  /** A JWKS fetch may take this long; default 5 s. */
  jwksTimeoutMs?: number;
  /** How long a client's registered key, imported, is reused (ms; 0 by default: read every time). */
  cacheMs?: number;
}

/** Is this policy's signature required on a route of this mode? */
export const signatureRequired = (policy: SignatureSettings['policy'], mode: SignatureMode): boolean =>
  policy === 'all' || (policy === 'async' && mode === 'async');

export function createDciSignatures(options: SignatureOptions): DciSignatures {
  const { db } = options;
  const now = options.now ?? (() => new Date());
  const senderId = options.senderId ?? DEFAULT_SENDER_ID;
  const limits = { ...DEFAULT_SIGNATURE_LIMITS, ...options.limits };
  const window = { ...DEFAULT_MESSAGE_TIME_WINDOW, ...options.messageTime };
  const lifetimeSeconds = options.lifetimeSeconds ?? 3600;
  const jwks = clientJwks({
    db,
    resolve: options.resolve ?? systemResolve,
    timeoutMs: options.jwksTimeoutMs ?? 5_000,
  });
  const signingKey = async (): Promise<SigningKey> => {
    const key = await options.keys.current();
    const algorithm = key.algorithm as SignatureAlgorithm; // the table's check constraint allows no other
    return { kid: { senderId, keyId: key.id, algorithm }, privateKey: key.privateKey };
  };
  const signOptions = () => ({ created: Math.floor(now().getTime() / 1000), lifetimeSeconds });
  // Registered keys, imported once: a signed message costs no key read nor JWK import while cached.
  const registered = new TtlCache<string, RegisteredKey | undefined>(options.cacheMs ?? 0);
  const registeredKey = (clientId: string, kid: Kid) =>
    registered.through(
      `${clientId}|${kid.keyId}|${kid.algorithm}`,
      () => readRegisteredKey(db, clientId, kid),
      Boolean,
    );

  return {
    async checkIncoming(body, clientId, mode, known) {
      if (!isEnvelope(body)) {
        return;
      }
      const settings = known ?? (await findSignatureSettings(db, clientId));
      await verifyEnvelope(body, {
        required: signatureRequired(settings.policy, mode),
        now: now(),
        limits,
        findKey: (kid) => clientKey({ jwks, registeredKey }, clientId, settings, kid, now()),
      }).catch(asDciError);
      checkMessageTime(body.header, now(), window);
    },

    async signedJson(payload) {
      return isEnvelope(payload) ? signedEnvelopeJson(payload, await signingKey(), signOptions()) : undefined;
    },

    publicKeys: () => options.keys.published(),

    forgetClient: (clientId) => registered.deleteWhere((key) => key.startsWith(`${clientId}|`)),
  };
}

/**
 * The sender's key for `kid`: a key registered for this client (not revoked, not expired, of the
 * kid's algorithm), else one at the client's JWKS URL. Keys of other clients are never looked at.
 */
/** A registered key as a signature check needs it; revoked keys are never cached. */
interface RegisteredKey {
  key: KeyObject;
  expiresAt: Date | null;
}

async function readRegisteredKey(
  db: Kysely<DB>,
  clientId: string,
  kid: Kid,
): Promise<RegisteredKey | undefined> {
  const row = await findClientKey(db, clientId, kid.keyId, 'sig');
  if (!row) {
    return undefined;
  }
  if (row.revoked_at) {
    throw invalidSignature(`key ${kid.keyId} was revoked`);
  }
  return { key: await ofAlgorithm(row.public_jwk, kid), expiresAt: row.expires_at };
}

async function clientKey(
  sources: {
    jwks: RemoteJwks;
    registeredKey: (clientId: string, kid: Kid) => Promise<RegisteredKey | undefined>;
  },
  clientId: string,
  settings: SignatureSettings,
  kid: Kid,
  now: Date,
): Promise<KeyObject> {
  const registered = await sources.registeredKey(clientId, kid);
  if (registered) {
    if (registered.expiresAt && registered.expiresAt.getTime() <= now.getTime()) {
      throw invalidSignature(`key ${kid.keyId} expired`);
    }
    return registered.key;
  }
  if (settings.jwksUri) {
    const jwk = await sources.jwks.find(clientId, settings.jwksUri, kid.keyId).catch((error: unknown) => {
      throw invalidSignature(`the sender's JWKS could not be read: ${(error as Error).message}`);
    });
    if (jwk) {
      return ofAlgorithm(jwk, kid);
    }
  }
  throw invalidSignature(`key ${kid.keyId} is not registered for this client`);
}

async function ofAlgorithm(jwk: JWK, kid: Kid): Promise<KeyObject> {
  try {
    const key = await publicKeyFromJwk(jwk);
    if (key.algorithm !== kid.algorithm) {
      throw new KeyError(`key ${kid.keyId} is an ${key.algorithm} key, the kid says ${kid.algorithm}`);
    }
    return key.key;
  } catch (error) {
    if (error instanceof KeyError) {
      throw invalidSignature(error.message);
    }
    throw error;
  }
}
