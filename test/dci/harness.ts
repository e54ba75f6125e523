import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type LightMyRequestResponse } from 'fastify';
import { createClient, createKey } from '#platform/auth/clients';
import { createJobQueue } from '#platform/jobs/queue';
import type { Role } from '#platform/auth/roles';
import { installAccessControl } from '#platform/http/access-control';
import { createPolicyEnforcement } from '#security/policy/enforce';
import { handleError } from '#platform/http/errors';
import { ProblemSchema } from '#platform/problem';
import type { App } from '#platform/http/types';
import { createTestDatabase, type TestDatabase } from '#test/db';
import { dciClientSettingsRoutes } from '#dci/routes/client-settings';
import { auditRoutes } from '#audit/routes';
import { policyRoutes } from '#security/policy/routes';
import { dciDeliveryRoutes } from '#dci/routes/deliveries';
import { dciJobKinds, REPLAY_JOBS, type DciJobOptions } from '#dci/jobs';
import { dciRoutes, type DciRouteOptions } from '#dci/plugin';
import { dciNotifications } from '#dci/subscriptions/notifier';
import { dciSubscriptionAdminRoutes } from '#dci/routes/subscription-admin';
import { senderIdOf } from '#dci/envelope';
import {
  type Signable,
  type SignatureAlgorithm,
  signEnvelope,
  type SigningKey,
  type SignOptions,
} from '@spx/dci-client';
import { dciSignatureRoutes } from '#dci/signature/routes';
import { jwksRoute } from '#platform/http/jwks-routes';
import { createDciSignatures } from '#dci/signature/service';
import { createDciEncryption } from '#dci/encryption/service';
import { gatewayKeys } from '#app';
import { KeyVault } from '#platform/crypto/key-vault';
import { masterKeyOf } from '#platform/crypto/master-key';

/**
 * The DCI routes on a fresh database, behind the real access control and error handler, mounted as
 * the gateway mounts them (/dci/sr, /dci/ibr), with a running job queue holding the DCI job kinds
 * and the client settings routes under /api/v1: the same pieces as buildApp, with test settings.
 */
export interface DciTestApp extends TestDatabase {
  app: App;
  /** The master key our keys are sealed under (a gateway restarted on this database needs it). */
  masterKey: string;
  keyFor(role: Role, scopes?: string[]): Promise<string>;
  /** A new client of this role, with its id and a key. */
  clientFor(role: Role): Promise<{ id: string; key: string }>;
  /** POST a DCI message to /dci/<sr|ibr>/registry/sync/search. */
  search(registry: 'sr' | 'ibr', body: unknown, key: string | undefined): Promise<LightMyRequestResponse>;
  /** POST a JSON body to any path. */
  post(url: string, body: unknown, key: string | undefined): Promise<LightMyRequestResponse>;
  /** Sets a client's DCI callback settings through the admin route (PUT /api/v1/clients/{id}/dci). */
  setCallbacks(clientId: string, settings: Record<string, unknown>): Promise<void>;
  /** Sets a client's signature policy / JWKS URL (PUT /api/v1/clients/{id}/dci/signature). */
  setSignature(clientId: string, settings: Record<string, unknown>): Promise<void>;
  /**
   * A fresh key pair, its public key registered for the client through the admin route
   * (POST /api/v1/clients/{id}/dci/keys): a function that signs messages as that client.
   */
  signerFor(clientId: string, algorithm?: SignatureAlgorithm): Promise<TestSigner>;
  /** As an admin: PUT, POST, GET or DELETE any path. */
  asAdmin(
    method: 'GET' | 'PUT' | 'POST' | 'DELETE',
    url: string,
    body?: unknown,
  ): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

type Options = Partial<Omit<DciRouteOptions, 'db' | 'registry'>> &
  Pick<DciJobOptions, 'timeoutMs' | 'resolve'> & {
    /** Callback retries (default: 1 retry after 1 s, so that a delivery runs out of them within a test). */
    retry?: Partial<DciJobOptions['retry']>;
    /** A database to build on instead of a fresh one: a restarted gateway (close the first app only). */
    on?: TestDatabase & { masterKey?: string };
  };

export async function createDciApp(options: Options = {}): Promise<DciTestApp> {
  const { on, ...rest } = options;
  const test = on
    ? { database: on.database, url: on.url, schema: on.schema, drop: on.drop }
    : await createTestDatabase();
  const db = test.database.db;
  const app = Fastify({
    logger: process.env['SPX_TEST_LOG'] ? { level: 'error' } : false,
    ajv: { customOptions: { removeAdditional: false, allErrors: true, coerceTypes: 'array' } },
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as App;
  app.setErrorHandler(handleError);
  app.addSchema(ProblemSchema);
  installAccessControl(app, db, { admission: (changes) => createPolicyEnforcement(app, db, changes) });
  const { retry, timeoutMs, resolve, ...routeOptions } = rest;
  const jobs = createJobQueue({
    database: test.database,
    url: test.url,
    schema: test.url ? `${test.schema}_q` : 'spx_queue',
    pollSeconds: 0.5,
    workersEnabled: true,
  });
  app.decorate('jobs', jobs);
  // Quick retries, so that a delivery runs out of them within a test.
  // One signer, verifier and encrypter for routes, jobs and the JWKS route, as buildApp shares them,
  // on keys sealed under a master key of this test's own.
  const masterKey = on?.masterKey ?? randomBytes(32).toString('base64');
  const keys = gatewayKeys(db, new KeyVault(masterKeyOf(masterKey, 'test')));
  const signatures =
    routeOptions.signatures ??
    createDciSignatures({
      db,
      keys: keys.dciSigning,
      senderId: senderIdOf({ id: routeOptions.receiverId ?? routeOptions.receiver?.id }),
      ...(routeOptions.receiver ? { now: routeOptions.receiver.now } : {}),
    });
  const encryption = routeOptions.encryption ?? createDciEncryption({ db, keys: keys.dciEncryption });
  const jobOptions = {
    db,
    ...routeOptions,
    signatures,
    encryption,
    retry: { retryLimit: 1, retryDelaySeconds: 1, ...retry },
  };
  dciJobKinds({ ...jobOptions, timeoutMs: timeoutMs ?? 2_000, ...(resolve ? { resolve } : {}) }).forEach(
    (kind) => jobs.define(kind),
  );
  app.addHook('onReady', () => jobs.start());
  app.addHook('onClose', () => jobs.stop({ graceful: true, timeoutMs: 2_000 }));
  dciNotifications(app, { db, intervalMs: 200 });
  const dci = { db, ...routeOptions, signatures, encryption };
  await app.register(dciRoutes, { prefix: '/dci/sr', registry: 'social', ...dci });
  await app.register(dciRoutes, { prefix: '/dci/ibr', registry: 'ibr', ...dci });
  await app.register(dciClientSettingsRoutes, { prefix: '/api/v1', db });
  await app.register(dciSubscriptionAdminRoutes, { prefix: '/api/v1', db });
  await app.register(dciSignatureRoutes, { prefix: '/api/v1', db });
  await app.register(jwksRoute, { sources: [() => signatures.publicKeys(), () => encryption.publicKeys()] });
  await app.register(dciDeliveryRoutes, { prefix: '/api/v1', db, jobs, replayJobs: REPLAY_JOBS });
  await app.register(auditRoutes, { prefix: '/api/v1', db });
  await app.register(policyRoutes, { prefix: '/api/v1', db });
  await app.ready();
  const clientFor = async (role: Role, scopes?: string[]) => {
    const client = await createClient(db, { name: `${role}-${randomBytes(4).toString('hex')}`, role });
    return { id: client.id, key: (await createKey(db, client, { scopes, expiresInDays: 1 })).key };
  };
  const send = (
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    url: string,
    body: unknown,
    key: string | undefined,
  ) => {
    const json = body !== undefined || method === 'POST' || method === 'PUT';
    return app.inject({
      method,
      url,
      headers: {
        ...(json ? { 'content-type': 'application/json' } : {}),
        ...(key ? { authorization: `Bearer ${key}` } : {}),
      },
      ...(json ? { payload: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
  };
  const post = (url: string, body: unknown, key: string | undefined) => send('POST', url, body, key);
  const admin = await clientFor('admin');
  return {
    ...test,
    app,
    masterKey,
    keyFor: async (role, scopes) => (await clientFor(role, scopes)).key,
    clientFor,
    search: (registry, body, key) => post(`/dci/${registry}/registry/sync/search`, body, key),
    post,
    setCallbacks: async (clientId, settings) => {
      const res = await send('PUT', `/api/v1/clients/${clientId}/dci`, settings, admin.key);
      if (res.statusCode !== 200) {
        throw new Error(`setting callbacks failed: ${res.body}`);
      }
    },
    setSignature: async (clientId, settings) => {
      const res = await send('PUT', `/api/v1/clients/${clientId}/dci/signature`, settings, admin.key);
      if (res.statusCode !== 200) {
        throw new Error(`setting the signature policy failed: ${res.body}`);
      }
    },
    signerFor: async (clientId, algorithm = 'ed25519') => {
      const signer = newSigner(algorithm);
      const res = await send(
        'POST',
        `/api/v1/clients/${clientId}/dci/keys`,
        { key_id: signer.keyId, jwk: signer.publicKey.export({ format: 'jwk' }) },
        admin.key,
      );
      if (res.statusCode !== 201) {
        throw new Error(`registering a key failed: ${res.body}`);
      }
      return signer;
    },
    asAdmin: (method, url, body) => send(method, url, body, admin.key),
    close: async () => {
      await app.close();
      await test.drop();
    },
  };
}

/** Signs messages as a client would: kid `<header.sender_id>|<keyId>|<algorithm>`. */
export interface TestSigner {
  <T extends object>(message: T, options?: SignOptions): T & { signature: string };
  keyId: string;
  algorithm: SignatureAlgorithm;
  publicKey: KeyObject;
  /** The private key as the DCI client takes it, signing as `senderId`. */
  signingKey(senderId: string): SigningKey;
}

/** A new key pair that signs messages (not registered anywhere: see DciTestApp.signerFor). */
export function newSigner(algorithm: SignatureAlgorithm = 'ed25519', keyId?: string): TestSigner {
  const { publicKey, privateKey } =
    algorithm === 'ed25519'
      ? generateKeyPairSync('ed25519')
      : generateKeyPairSync('rsa', { modulusLength: 2048 });
  const id = keyId ?? `test-${randomBytes(6).toString('hex')}`;
  const sign = <T extends object>(message: T, options?: SignOptions) => {
    const envelope = message as T & Signable;
    const senderId = String((envelope.header as { sender_id?: unknown } | undefined)?.sender_id);
    return signEnvelope(envelope, { kid: { senderId, keyId: id, algorithm }, privateKey }, options);
  };
  const signingKey = (senderId: string): SigningKey => ({
    kid: { senderId, keyId: id, algorithm },
    privateKey,
  });
  return Object.assign(sign, { keyId: id, algorithm, publicKey, signingKey });
}

/**
 * One of the minimal DCI example messages (test/dci/examples, copied from the reference set). A
 * request gets a fresh message id each time (a client may use one only once: rjct.message_id.duplicate)
 * and the time of now as its message_ts.
 */
export function example<T = Record<string, unknown>>(name: string): T {
  const parsed = JSON.parse(readFileSync(new URL(`./examples/${name}.json`, import.meta.url), 'utf8')) as {
    header?: { message_id?: string };
  };
  if (name.endsWith('-request') && parsed.header?.message_id) {
    parsed.header.message_id = `${parsed.header.message_id}-${randomBytes(4).toString('hex')}`;
    // Sent now: a message_ts older than a day is refused (rjct.message_ts.invalid).
    (parsed.header as { message_ts?: string }).message_ts = new Date().toISOString();
  }
  return parsed as T;
}

/** A DCI request message, loosely typed so that tests can break it. */
export interface TestMessage {
  signature?: string;
  header: Record<string, unknown>;
  message: { transaction_id: string; search_request: Record<string, unknown>[] } & Record<string, unknown>;
}

let sequence = 0;

/**
 * A sync search message with these search criteria, one item each (reference ids ref-1, ref-2, ...),
 * built on the minimal idtype example so that its envelope is the validated one.
 */
export function searchMessage(...criteria: Record<string, unknown>[]): TestMessage {
  const base = example<TestMessage>('sr-sync-search-idtype-request');
  sequence += 1;
  base.header['message_id'] = `msg-${sequence}-${randomBytes(3).toString('hex')}`;
  base.header['total_count'] = criteria.length;
  base.message.transaction_id = `txn-${sequence}`;
  base.message.search_request = criteria.map((c, i) => ({
    reference_id: `ref-${i + 1}`,
    timestamp: '2025-01-15T10:00:00+00:00',
    search_criteria: { version: '1.0.0', ...c },
    locale: 'eng',
  }));
  return base;
}

/** `search_criteria` of a predicate query on one record type. */
export const predicate = (recordType: string, ...tests: [string, string, unknown][]) => ({
  reg_record_type: recordType,
  query_type: 'predicate' as const,
  query: tests.map(([attribute_name, operator, attribute_value], i) => ({
    seq_num: i + 1,
    expression1: { attribute_name, operator, attribute_value },
  })),
});

/** `search_criteria` of an expression query (the spec's MongoDB-like form). */
export const expression = (collection: string, query: Record<string, unknown>) => ({
  reg_record_type: collection,
  query_type: 'expression' as const,
  query: { type: 'ns:org:QueryType:expression', value: { expression: { collection, query } } },
});

/** `search_criteria` of an idtype-value query. */
export const idType = (recordType: string, type: string, value: string) => ({
  reg_record_type: recordType,
  query_type: 'idtype-value' as const,
  query: { type, value },
});

/**
 * A txn status message (the minimal example, fresh ids) asking about a transaction by
 * transaction_id, correlation_id or reference_id_list.
 */
export function txnStatusMessage(
  attributeType: string,
  attributeValue: unknown,
  txnType = 'search',
): TestMessage {
  const base = example<TestMessage>('sr-txn-status-request');
  sequence += 1;
  base.message.transaction_id = `txn-status-${sequence}`;
  base.message['txnstatus_request'] = {
    reference_id: `ref-status-${sequence}`,
    txn_type: txnType,
    attribute_type: attributeType,
    attribute_value: attributeValue,
    locale: 'eng',
  };
  return base;
}
