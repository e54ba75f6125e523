import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type LightMyRequestResponse } from 'fastify';
import { createClient, createKey } from '#platform/auth/clients';
import type { Role } from '#platform/auth/roles';
import { installAccessControl } from '#platform/http/access-control';
import { handleError } from '#platform/http/errors';
import { ProblemSchema } from '#platform/http/problem';
import type { App } from '#platform/http/types';
import { createTestDatabase, type TestDatabase } from '#test/db';
import { dciRoutes, type DciRouteOptions } from '#dci/routes';

/**
 * The DCI routes on a fresh database, behind the real access control and error handler, mounted as
 * the gateway will mount them (/dci/sr, /dci/ibr). Until they are wired into buildApp, tests build
 * this small app from the same pieces.
 */
export interface DciTestApp extends TestDatabase {
  app: App;
  keyFor(role: Role, scopes?: string[]): Promise<string>;
  /** POST a DCI message to /dci/<sr|ibr>/registry/sync/search. */
  search(registry: 'sr' | 'ibr', body: unknown, key: string | undefined): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

type Options = Partial<Omit<DciRouteOptions, 'db' | 'registry'>>;

export async function createDciApp(options: Options = {}): Promise<DciTestApp> {
  const test = await createTestDatabase();
  const db = test.database.db;
  const app = Fastify({
    logger: process.env['SPX_TEST_LOG'] ? { level: 'error' } : false,
    ajv: { customOptions: { removeAdditional: false, allErrors: true, coerceTypes: 'array' } },
  }).withTypeProvider<TypeBoxTypeProvider>() as unknown as App;
  app.setErrorHandler(handleError);
  app.addSchema(ProblemSchema);
  installAccessControl(app, db);
  await app.register(dciRoutes, { prefix: '/dci/sr', db, registry: 'social', ...options });
  await app.register(dciRoutes, { prefix: '/dci/ibr', db, registry: 'ibr', ...options });
  await app.ready();
  const keyFor = async (role: Role, scopes?: string[]) => {
    const client = await createClient(db, { name: `${role}-${randomBytes(4).toString('hex')}`, role });
    return (await createKey(db, client, { scopes, expiresInDays: 1 })).key;
  };
  return {
    ...test,
    app,
    keyFor,
    search: (registry, body, key) =>
      app.inject({
        method: 'POST',
        url: `/dci/${registry}/registry/sync/search`,
        headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
        payload: typeof body === 'string' ? body : JSON.stringify(body),
      }),
    close: async () => {
      await app.close();
      await test.drop();
    },
  };
}

/** One of the minimal DCI example messages (test/dci/examples, copied from the reference set). */
export function example<T = Record<string, unknown>>(name: string): T {
  return JSON.parse(readFileSync(new URL(`./examples/${name}.json`, import.meta.url), 'utf8')) as T;
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
  query_type: 'predicate',
  query: tests.map(([attribute_name, operator, attribute_value], i) => ({
    seq_num: i + 1,
    expression1: { attribute_name, operator, attribute_value },
  })),
});

/** `search_criteria` of an expression query (the spec's MongoDB-like form). */
export const expression = (collection: string, query: Record<string, unknown>) => ({
  reg_record_type: collection,
  query_type: 'expression',
  query: { type: 'ns:org:QueryType:expression', value: { expression: { collection, query } } },
});

/** `search_criteria` of an idtype-value query. */
export const idType = (recordType: string, type: string, value: string) => ({
  reg_record_type: recordType,
  query_type: 'idtype-value',
  query: { type, value },
});
