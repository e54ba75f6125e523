import { randomUUID, type KeyObject } from 'node:crypto';
import {
  decryptMessage,
  EncryptionError,
  encryptMessage,
  readEncryptedMessage,
  type Recipient,
} from './encryption/jwe.ts';
import { keyManagementAlgorithmOf, publicEncryptionKeyFromJwk } from './encryption/jwk.ts';
import { DciMessageError } from './errors.ts';
import {
  isEnvelope,
  PROTOCOL_VERSION,
  type Ack,
  type Envelope,
  type RequestHeader,
  type ResponseHeader,
  type SearchCriteria,
  type SearchResponseMessage,
} from './messages.ts';
import { signEnvelope, type SigningKey } from './signature/sign.ts';
import {
  keySetOf,
  verifierFor,
  type JoseKeySet,
  type KeySource,
  type SignatureCheck,
} from './verify-signature.ts';

/**
 * A typed client of the DCI SR and IBR APIs: builds the envelope (fresh message id and timestamp),
 * encrypts its message to the registry's encryption key when asked to, signs it with the sender's
 * key, POSTs it with the API key, and verifies the signature of what comes back (sync answers, and
 * callbacks handed to `receive`) against the registry's JWKS, decrypting an encrypted message. For
 * programme MIS and other systems that query a registry such as SP Exchange (README.md); SP Exchange's
 * own tests use it against the gateway.
 */

export interface DciClientOptions {
  /** The registry's DCI base, e.g. https://sr.example.org/dci/sr (paths /registry/... follow). */
  baseUrl: string;
  /** Sent as `Authorization: Bearer`. */
  apiKey: string;
  /** Our id in `header.sender_id`; also the first part of our key id. */
  senderId: string;
  /** Where async answers go (`header.sender_uri`); else the registry uses the registered callback URI. */
  senderUri?: string;
  /** The registry's id (`header.receiver_id`), when it checks it. */
  receiverId?: string;
  /** Our private key; without it, messages go unsigned. */
  signingKey?: SigningKey;
  /** The registry's public keys: a JWKS URL, or the keys themselves. Without them nothing is verified. */
  registryKeys?: KeySource;
  /** Encrypt our messages (is_msg_encrypted) to the registry's key of use "enc" in registryKeys. */
  encrypt?: boolean;
  /** The private key of our public key registered with use "enc": decrypts what the registry encrypts to us. */
  decryptionKey?: KeyObject;
  /** Default: the global fetch. */
  fetch?: typeof fetch;
}

/** A request the registry answered with an error (HTTP 4xx/5xx): the status and the DCI body. */
export class DciClientError extends Error {
  override name = 'DciClientError';
  constructor(
    readonly statusCode: number,
    readonly body: unknown,
  ) {
    super(`the registry answered HTTP ${statusCode}: ${describe(body)}`);
  }
}

/** One `search_request` item, as the caller states it; reference ids and timestamps are filled in. */
export interface SearchItem {
  criteria: SearchCriteria;
  referenceId?: string;
  locale?: string;
}

/** An answer of the registry: the envelope, its message decrypted. */
export type Response<M> = Envelope<ResponseHeader, M> & { signature?: string };

export class DciClient {
  readonly #options: DciClientOptions;
  readonly #fetch: typeof fetch;
  readonly #keys: JoseKeySet | undefined;
  readonly #verify: SignatureCheck | undefined;

  constructor(options: DciClientOptions) {
    this.#options = options;
    this.#fetch = options.fetch ?? fetch;
    const keys = options.registryKeys;
    this.#keys = keys === undefined ? undefined : keySetOf(keys);
    // The registry signs as its receiver id, when we know it.
    this.#verify =
      this.#keys && verifierFor(this.#keys, options.receiverId ? { senderId: options.receiverId } : {});
  }

  /** `/registry/sync/search`: the answer of every item, verified. */
  syncSearch(items: SearchItem[], transactionId = randomUUID()): Promise<Response<SearchResponseMessage>> {
    return this.#exchange(
      '/registry/sync/search',
      'search',
      searchMessage(items, transactionId),
      items.length,
    );
  }

  /** `/registry/search`: an ACK; the answer arrives on `<sender_uri>/registry/on-search` (see receive). */
  search(items: SearchItem[], transactionId = randomUUID()): Promise<Ack> {
    return this.#exchange('/registry/search', 'search', searchMessage(items, transactionId), items.length);
  }

  /** `/registry/sync/txn/status` about one of our transactions. */
  syncTxnStatus(transactionId: string, txnType = 'search'): Promise<Response<unknown>> {
    return this.#exchange(
      '/registry/sync/txn/status',
      'txn-status',
      txnStatusMessage(transactionId, txnType),
      1,
    );
  }

  /** `/registry/subscribe`: an ACK; the subscription codes arrive on `/registry/on-subscribe`. */
  subscribe(criteria: Record<string, unknown>[], transactionId = randomUUID()): Promise<Ack> {
    const message = {
      transaction_id: transactionId,
      subscribe_request: criteria.map((subscribe_criteria) => ({
        reference_id: randomUUID(),
        timestamp: new Date().toISOString(),
        subscribe_criteria,
      })),
    };
    return this.#exchange('/registry/subscribe', 'subscribe', message, criteria.length);
  }

  /** `/registry/unsubscribe`: an ACK; the outcome arrives on `/registry/on-unsubscribe`. */
  unsubscribe(codes: string[], transactionId = randomUUID()): Promise<Ack> {
    const message = {
      transaction_id: transactionId,
      timestamp: new Date().toISOString(),
      subscription_codes: codes,
    };
    return this.#exchange('/registry/unsubscribe', 'unsubscribe', message, codes.length);
  }

  /** Any other DCI operation: the message is the caller's, the envelope and signature ours. */
  send<T>(path: string, action: string, message: object, totalCount = 1): Promise<T> {
    return this.#exchange(path, action, message, totalCount);
  }

  /**
   * A message the registry POSTed to us (on-search, on-status, notify...): verified against the
   * registry's keys, then decrypted if encrypted; throws a DciMessageError (err.signature.*,
   * err.encryption.invalid) when it does not verify or decrypt.
   */
  async receive<M>(body: unknown): Promise<Response<M>> {
    await this.#check(body);
    return (await this.#open(body)) as Response<M>;
  }

  /**
   * A request envelope for this message, encrypted if so configured, then signed (exposed for
   * callers that send it themselves).
   */
  async envelope(
    action: string,
    message: object,
    totalCount: number,
  ): Promise<Envelope<RequestHeader, unknown>> {
    const { senderId, senderUri, receiverId, signingKey, encrypt } = this.#options;
    const envelope = {
      header: {
        version: PROTOCOL_VERSION,
        message_id: randomUUID(),
        message_ts: new Date().toISOString(),
        action,
        sender_id: senderId,
        ...(senderUri ? { sender_uri: senderUri } : {}),
        ...(receiverId ? { receiver_id: receiverId } : {}),
        total_count: totalCount,
        is_msg_encrypted: encrypt === true,
      },
      message: encrypt ? await encryptMessage(message, await this.#registryRecipient()) : message,
    };
    return signingKey ? signEnvelope(envelope, signingKey) : envelope;
  }

  async #exchange<T>(path: string, action: string, message: object, totalCount: number): Promise<T> {
    const response = await this.#fetch(`${this.#options.baseUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${this.#options.apiKey}` },
      body: JSON.stringify(await this.envelope(action, message, totalCount)),
    });
    const text = await response.text();
    const body: unknown = text ? JSON.parse(text) : undefined;
    if (!response.ok) {
      throw new DciClientError(response.status, body);
    }
    if (isEnvelope(body)) {
      await this.#check(body);
      return (await this.#open(body)) as T;
    }
    return body as T;
  }

  /** The envelope with its message decrypted, when the registry encrypted it to us. */
  async #open(body: unknown): Promise<unknown> {
    const envelope = body as { header?: { is_msg_encrypted?: unknown }; message?: unknown };
    if (envelope.header?.is_msg_encrypted !== true || envelope.message === undefined) {
      return body;
    }
    const key = this.#options.decryptionKey;
    if (!key) {
      throw new DciMessageError(
        'err.encryption.invalid',
        'the message is encrypted and no decryptionKey was given',
      );
    }
    try {
      const encrypted = readEncryptedMessage(envelope.message);
      return { ...envelope, message: await decryptMessage(encrypted, key, keyManagementAlgorithmOf(key)) };
    } catch (error) {
      throw error instanceof EncryptionError
        ? new DciMessageError('err.encryption.invalid', error.message)
        : error;
    }
  }

  /** The registry's encryption key: the one of use "enc" in its key set. */
  async #registryRecipient(): Promise<Recipient> {
    const keys = this.#keys;
    if (keys === undefined) {
      throw new Error('encrypting needs the registry keys (registryKeys)');
    }
    if ('reload' in keys && !keys.fresh) {
      await keys.reload();
    }
    const jwk = keys.jwks()?.keys.find((candidate) => candidate.use === 'enc' && candidate.kid);
    if (!jwk) {
      throw new Error('the registry publishes no encryption key (use "enc", with a kid)');
    }
    const { algorithm, key } = await publicEncryptionKeyFromJwk(jwk);
    return { kid: jwk.kid!, algorithm, key };
  }

  /** The signature of what the registry sent, when we know its keys; a body that is no envelope is left as it is. */
  async #check(body: unknown): Promise<void> {
    if (this.#verify && isEnvelope(body)) {
      await this.#verify(body);
    }
  }
}

function searchMessage(items: SearchItem[], transactionId: string) {
  return {
    transaction_id: transactionId,
    search_request: items.map((item, index) => ({
      reference_id: item.referenceId ?? `${transactionId}-${index + 1}`,
      timestamp: new Date().toISOString(),
      search_criteria: item.criteria,
      ...(item.locale ? { locale: item.locale } : {}),
    })),
  };
}

function txnStatusMessage(transactionId: string, txnType: string) {
  return {
    transaction_id: randomUUID(),
    txnstatus_request: {
      reference_id: randomUUID(),
      txn_type: txnType,
      attribute_type: 'transaction_id',
      attribute_value: transactionId,
    },
  };
}

function describe(body: unknown): string {
  const text = JSON.stringify(body) ?? '';
  return text.length > 300 ? `${text.slice(0, 300)}...` : text;
}
