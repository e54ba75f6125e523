import { ApolloGateway, IntrospectAndCompose, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import Fastify, { type FastifyInstance } from 'fastify';
// The CommonJS build, which mercurius and the Apollo packages load too (see src/graphql/routes.ts).
import { parse } from 'graphql/index.js';
import mercurius from 'mercurius';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '#test/app';
import { insertArea, insertHousehold, insertIndividual } from '#test/factories';
import { newClient } from '#test/clients';
import { setPolicy } from '#test/security/policy/helpers';

/**
 * The registry composed into a supergraph by a real federation gateway (Apollo Gateway 2, the
 * reference implementation of Federation v2 composition and query planning) with a second
 * subgraph, a small payments service that adds `payments` to Household by its key and points
 * its payments at households. The gateway forwards each caller's Authorization header, so the
 * registry applies that caller's role, area scope and audit, not the gateway's.
 */

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;

/** A payments subgraph on a real port: Household extended by key, payments pointing at households. */
async function paymentsSubgraph(householdIds: readonly string[]) {
  const seen: (string | undefined)[] = [];
  const typeDefs = parse(`
    extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])
    type Household @key(fields: "id") {
      id: ID!
      payments: [Payment!]!
    }
    type Payment {
      amount: Float!
      paidOn: String!
      household: Household
    }
    type Query {
      recentPayments: [Payment!]!
    }
  `);
  const paymentsOf = (id: string) => [
    { amount: 30_000 + householdIds.indexOf(id), paidOn: '2025-01-31', household: { id } },
  ];
  const resolvers = {
    Query: { recentPayments: () => householdIds.flatMap(paymentsOf) },
    Household: {
      __resolveReference: ({ id }: { id: string }) => ({ id }),
      payments: ({ id }: { id: string }) => paymentsOf(id),
    },
  };
  const app: FastifyInstance = Fastify();
  app.addHook('onRequest', async (request) => {
    seen.push(request.headers.authorization);
  });
  await app.register(mercurius, { schema: buildSubgraphSchema([{ typeDefs, resolvers }]) });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, url: `${url}/graphql`, seen };
}

describe('the registry as a federation subgraph', () => {
  let t: TestApp;
  let payments: Awaited<ReturnType<typeof paymentsSubgraph>>;
  let server: ApolloServer;
  let gatewayUrl: string;
  const households: string[] = [];

  beforeAll(async () => {
    t = await createTestApp();
    const db = t.database.db;
    await insertArea(db, 'R02');
    await insertArea(db, 'R02-D01', 'R02');
    for (const area of ['R01-D01', 'R01-D01', 'R02-D01']) {
      const id = await insertHousehold(db, { admin_area_code: area });
      await insertIndividual(db, id, { given_name: `Head of ${id.slice(0, 4)}` });
      households.push(id);
    }
    households.sort();
    const registryUrl = `${await t.app.listen({ port: 0, host: '127.0.0.1' })}/graphql`;
    payments = await paymentsSubgraph(households);

    // The gateway reads the subgraphs' schemas with a key of its own, and sends each query on with
    // the caller's credentials.
    const gatewayKey = await t.keyFor('integrator');
    const gateway = new ApolloGateway({
      supergraphSdl: new IntrospectAndCompose({
        subgraphs: [
          { name: 'registry', url: registryUrl },
          { name: 'payments', url: payments.url },
        ],
        introspectionHeaders: { authorization: `Bearer ${gatewayKey}` },
      }),
      buildService: ({ url }) =>
        new RemoteGraphQLDataSource<{ authorization?: string }>({
          url,
          willSendRequest({ request, context }) {
            if (context.authorization) {
              request.http?.headers.set('authorization', context.authorization);
            }
          },
        }),
    });
    server = new ApolloServer({ gateway });
    ({ url: gatewayUrl } = await startStandaloneServer(server, {
      listen: { port: 0, host: '127.0.0.1' },
      context: async ({ req }) => ({ authorization: req.headers.authorization }),
    }));
  });

  afterAll(async () => {
    await server?.stop();
    await payments?.app.close();
    await t?.close();
  });

  const viaGateway = async (query: string, key?: string): Promise<Json> => {
    const res = await fetch(gatewayUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
      body: JSON.stringify({ query }),
    });
    return (await res.json()) as Json;
  };

  it('composes: one query joins registry households with their payments from the other subgraph', async () => {
    const answer = await viaGateway(
      `{ households(first: 10) { edges { node { id householdNumber members { givenName } payments { amount } } } } }`,
      t.adminKey,
    );
    expect(answer['errors']).toBeUndefined();
    const nodes = answer['data'].households.edges.map((e: Json) => e['node']);
    expect(nodes.map((n: Json) => n['id'])).toEqual(households);
    nodes.forEach((node: Json, i: number) => {
      expect(node['payments']).toEqual([{ amount: 30_000 + i }]);
      expect(node['householdNumber']).toBe(`HH-${households[i]!.slice(0, 8)}`);
      expect(node['members'][0].givenName).toBe(`Head of ${households[i]!.slice(0, 4)}`);
    });
    expect(payments.seen).toContain(`Bearer ${t.adminKey}`);
  });

  it('resolves households the other subgraph points at through _entities, within the caller scope', async () => {
    const query = `{ recentPayments { amount household { id adminAreaCode memberCount } } }`;
    const admin = await viaGateway(query, t.adminKey);
    expect(admin['errors']).toBeUndefined();
    expect(admin['data'].recentPayments.map((p: Json) => p['household'].memberCount)).toEqual([1, 1, 1]);

    // A client whose agreement covers region R01 only: the R02 household is not resolved for it.
    const client = await newClient(t, 'integrator');
    await setPolicy(t, client.id, { area_codes: ['R01'] });
    const scoped = await viaGateway(query, client.key);
    const areas = scoped['data']?.recentPayments.map((p: Json) => p['household']?.adminAreaCode ?? null);
    expect(areas?.filter((a: string | null) => a !== null).sort()).toEqual(['R01-D01', 'R01-D01']);
    expect(areas, JSON.stringify(scoped)).toContain(null);
  });

  it("forwards the caller's credentials: the registry applies the caller's role and audits the caller", async () => {
    const analyst = await newClient(t, 'analyst');
    const answer = await viaGateway(
      `{ households(first: 10) { edges { node { id members { givenName birthYear } } } } }`,
      analyst.key,
    );
    const members = answer['data'].households.edges.flatMap((e: Json) => e['node'].members);
    expect(members.map((m: Json) => m['givenName'])).toEqual([null, null, null]);
    expect(members.every((m: Json) => m['birthYear'] === 1985)).toBe(true);
    expect(answer['errors']).toHaveLength(1);
    expect(answer['errors'][0].extensions).toMatchObject({
      code: 'FIELD_WITHHELD',
      field: 'Individual.givenName',
    });

    const audit = await t.get(`/api/v1/audit?client_id=${analyst.id}&action=graphql.query`, t.adminKey);
    expect(audit.json<Json>()['items'][0]).toMatchObject({ outcome: 'success', record_count: 6 });
  });

  it('without credentials the registry refuses the gateway call', async () => {
    const answer = await viaGateway(`{ households(first: 1) { edges { node { id } } } }`);
    expect(answer['data']?.households ?? null).toBeNull();
    expect(JSON.stringify(answer['errors'])).toContain('401');
  });
});
