import type { Kysely } from 'kysely';
import type { DB } from '#platform/db/types';
import type { App } from '#platform/http/types';
import { ackErrorHandler } from './async/ack.ts';
import { createClientPolicies, type ClientPolicies } from './client-policy.ts';
import { defaultReceiver, type Receiver } from './envelope.ts';
import { handleDciError } from './errors.ts';
import { exchangeRecorder } from './exchange/store.ts';
import { ibrRoutes } from './routes/ibr.ts';
import type { RouteContext } from './routes/kit.ts';
import { asyncSearchRoute, searchRoutes } from './routes/search.ts';
import { subscriptionRoutes } from './routes/subscriptions.ts';
import { asyncTxnStatusRoute, txnStatusRoutes } from './routes/txn-status.ts';
import { DEFAULT_LIMITS, type SearchLimits } from './query/criteria.ts';
import { DEFAULT_MAX_BATCH, DEFAULT_SYNC_MAX_RECORDS } from './search.ts';
import type { DciEncryption } from './encryption/service.ts';
import type { DciSignatures } from './signature/service.ts';
import type { Registry } from './spec.ts';

export interface DciRouteOptions {
  db: Kysely<DB>;
  /** Which DCI API this mount speaks: the Social Registry or the Integrated Beneficiary Registry. */
  registry: Registry;
  limits?: Partial<SearchLimits>;
  /** Most `search_request` items per message. */
  maxBatch?: number;
  /** Most records one sync search answer holds, over all its items. */
  syncMaxRecords?: number;
  /** Our id as DCI callers know it; requests addressed to another `receiver_id` are refused. */
  receiverId?: string;
  /** Clock and id source (tests pin them). */
  receiver?: Receiver;
  /** Message signatures (shared with the jobs and the JWKS route). */
  signatures: DciSignatures;
  /** Message encryption (shared with the jobs and the JWKS route). */
  encryption: DciEncryption;
  /** Client policies (shared by the mounts, cached); by default this mount's own, uncached. */
  policies?: ClientPolicies;
}

/**
 * DCI API routes of one registry, to mount under a prefix (`/dci/sr`, `/dci/ibr`). Thin: the cores
 * are search.ts, txn-status.ts and ibr/. Errors leave as the spec's HttpErrorResponse
 * (`{ errors: [{ code, message }] }`), also for authentication failures of these routes, except on
 * the async endpoints, which answer ERR acknowledgements. The async endpoints queue their answers on
 * the gateway's job queue (`app.jobs`, with the kinds of dciJobKinds defined on it). Every route
 * verifies signatures, decrypts, encrypts and signs its envelopes through `app.dciSignatures` and
 * `app.dciEncryption` (see http/kit.ts).
 */
export async function dciRoutes(app: App, options: DciRouteOptions): Promise<void> {
  if (!app.hasDecorator('jobs')) {
    throw new Error('dciRoutes needs the job queue (app.jobs) for the async DCI endpoints');
  }
  const receiver = options.receiver ?? defaultReceiver(options.receiverId);
  const ctx: RouteContext = {
    db: options.db,
    registry: options.registry,
    receiver,
    limits: { ...DEFAULT_LIMITS, ...options.limits },
    maxBatch: options.maxBatch ?? DEFAULT_MAX_BATCH,
    syncMaxRecords: options.syncMaxRecords ?? DEFAULT_SYNC_MAX_RECORDS,
    jobs: app.jobs,
    recordExchange: exchangeRecorder(options.db),
  };
  app.decorate('dciSignatures', options.signatures);
  app.decorate('dciEncryption', options.encryption);
  const policies = options.policies ?? createClientPolicies(options.db, { cacheMs: 0 });
  app.decorate('dciPolicies', policies);
  app.clientChanges.onChange((clientId) => {
    policies.forget(clientId);
    options.signatures.forgetClient(clientId);
  });
  app.setErrorHandler(handleDciError);
  searchRoutes(app, ctx);
  txnStatusRoutes(app, ctx);
  if (options.registry === 'ibr') {
    ibrRoutes(app, ctx);
  }
  await app.register(async (acked: App) => {
    acked.setErrorHandler(ackErrorHandler(receiver));
    asyncSearchRoute(acked, ctx);
    asyncTxnStatusRoute(acked, ctx);
    subscriptionRoutes(acked, ctx);
  });
}
