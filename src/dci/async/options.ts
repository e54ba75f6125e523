import type { Kysely } from 'kysely';
import type { DB } from '#platform/db/types';
import { systemResolve, type Resolve } from '../callback/address.ts';
import type { DeliveryDeps } from '../callback/deliver.ts';
import { defaultReceiver, type Receiver } from '../envelope.ts';
import { DEFAULT_LIMITS, type SearchLimits } from '../query/criteria.ts';
import { DEFAULT_MAX_BATCH } from '../search.ts';
import type { DciEncryption } from '../encryption/service.ts';
import type { DciSignatures } from '../signature/service.ts';
import type { RetryPolicy } from './job.ts';

/** What the DCI job kinds need; everything but the database, signatures and encryption has a default. */
export interface DciJobOptions {
  db: Kysely<DB>;
  /** Our id as DCI callers know it (`sender_id` of our callbacks). */
  receiverId?: string;
  /** Clock and id source (tests pin them). */
  receiver?: Receiver;
  limits?: Partial<SearchLimits>;
  maxBatch?: number;
  /** DNS for the SSRF guard (tests may pin answers). */
  resolve?: Resolve;
  /** One callback attempt may take this long (default 10 s). */
  timeoutMs?: number;
  /** Retries of a failed callback (SPX_DCI_CALLBACK_RETRIES, SPX_DCI_CALLBACK_BACKOFF_SECONDS). */
  retry: RetryPolicy;
  /** Signs the callbacks (shared with the routes). */
  signatures: DciSignatures;
  /** Encrypts the callbacks that must be (shared with the routes). */
  encryption: DciEncryption;
}

export interface ResolvedJobOptions extends DeliveryDeps {
  receiver: Receiver;
  limits: SearchLimits;
  maxBatch: number;
  retry: RetryPolicy;
}

export function resolveJobOptions(options: DciJobOptions): ResolvedJobOptions {
  const receiver = options.receiver ?? defaultReceiver(options.receiverId);
  return {
    db: options.db,
    receiver,
    limits: { ...DEFAULT_LIMITS, ...options.limits },
    maxBatch: options.maxBatch ?? DEFAULT_MAX_BATCH,
    resolve: options.resolve ?? systemResolve,
    timeoutMs: options.timeoutMs ?? 10_000,
    retry: options.retry,
    signatures: options.signatures,
    encryption: options.encryption,
  };
}
