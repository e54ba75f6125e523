import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GRAPHQL_LIMITS } from '#graphql/limits';
import { createTestApp, type TestApp } from '#test/app';
import { insertHousehold, insertIndividual } from '#test/factories';
import { graphql, type Json } from './helpers.ts';

/** What /graphql refuses, and how: credentials, malformed requests, bad input, depth and cost. */
describe('GraphQL refusals', () => {
  let t: TestApp;
  let household: string;

  beforeAll(async () => {
    t = await createTestApp();
    household = await insertHousehold(t.database.db);
    await insertIndividual(t.database.db, household);
  });
  afterAll(() => t.close());

  const post = (payload: string, headers: Record<string, string> = {}) =>
    t.app.inject({
      method: 'POST',
      url: '/graphql',
      headers: { authorization: `Bearer ${t.adminKey}`, 'content-type': 'application/json', ...headers },
      payload,
    });
  const auditOf = async (requestId: string) => {
    const audit = await t.get('/api/v1/audit?action=graphql.query&limit=100', t.adminKey);
    return audit.json<Json>()['items'].find((e: Json) => e['request_id'] === requestId);
  };

  describe('credentials', () => {
    it('refuses a call without credentials with a 401 problem, and a key without registry:read with a 403', async () => {
      const anonymous = await graphql(t, undefined, '{ programs { code } }');
      expect(anonymous.status).toBe(401);
      expect(anonymous.body).toMatchObject({ status: 401, title: 'Unauthorized' });

      const auditor = await t.keyFor('admin', ['audit:read']);
      const narrow = await graphql(t, auditor, '{ programs { code } }');
      expect(narrow.status).toBe(403);
      expect(narrow.body['detail']).toBe('this key lacks the permission registry:read');
    });
  });

  describe('malformed requests', () => {
    it.each([
      ['no query', '{}', '/query'],
      ['an empty query', '{"query": ""}', '/query'],
      ['an unknown member', '{"query": "{ programs { code } }", "debug": true}', '/debug'],
      [
        'variables that are not an object',
        '{"query": "{ programs { code } }", "variables": [1]}',
        '/variables',
      ],
    ])('answers %s with a 400 problem naming it', async (_what, payload, pointer) => {
      const res = await post(payload);
      expect(res.statusCode).toBe(400);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.json<Json>()['errors'].map((e: Json) => e['pointer'])).toContain(pointer);
    });

    it('refuses a query sent as a JSON syntax tree', async () => {
      const res = await post(
        JSON.stringify({ query: JSON.stringify({ kind: 'Document', definitions: [] }) }),
      );
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ detail: 'query must be GraphQL source text' });
    });

    it('serves POST only', async () => {
      expect((await t.get('/graphql?query={programs{code}}', t.adminKey)).statusCode).toBe(404);
    });
  });

  describe('documents refused before they run: 400 with GraphQL errors, audited as invalid', () => {
    it.each([
      [
        'a syntax error',
        '{ households(first: 2 { id }',
        'GRAPHQL_PARSE_FAILED',
        'Syntax Error: Expected Name, found "{".',
      ],
      [
        'an unknown field',
        '{ households { edges { node { shoeSize } } } }',
        'GRAPHQL_VALIDATION_FAILED',
        'Cannot query field "shoeSize" on type "Household".',
      ],
      [
        'an unknown argument',
        '{ households(limit: 3) { edges { node { id } } } }',
        'GRAPHQL_VALIDATION_FAILED',
        'Unknown argument "limit" on field "Query.households". Did you mean "first"?',
      ],
      [
        'a mutation',
        'mutation { deleteHousehold(id: "x") }',
        'GRAPHQL_VALIDATION_FAILED',
        'this API is read-only: it has no mutation operations',
      ],
    ])('%s', async (what, query, code, message) => {
      const requestId = `graphql-refusal-${what.replace(/\W+/g, '-')}`;
      const { status, body } = await graphql(t, t.adminKey, query, undefined, { 'x-request-id': requestId });
      expect(status).toBe(400);
      expect(body['data']).toBeUndefined();
      expect(body['errors'][0]).toMatchObject({ message, extensions: { code } });
      expect(await auditOf(requestId)).toMatchObject({
        outcome: 'invalid',
        status_code: 400,
        record_count: 0,
      });
    });

    it('runs the operation the request names, and refuses a name the document lacks', async () => {
      const query =
        'query A { programs { code } } query B { household(id: "00000000-0000-4000-8000-000000000000") { id } }';
      const named = await post(JSON.stringify({ query, operationName: 'B' }));
      expect(named.json()).toEqual({ data: { household: null } });
      const unknown = await post(JSON.stringify({ query, operationName: 'C' }));
      expect(unknown.statusCode).toBe(400);
      expect(unknown.json<Json>()['errors'][0].message).toBe('no operation named "C"');
      const unnamed = await post(JSON.stringify({ query }));
      expect(unnamed.statusCode).toBe(400);
    });

    it('a string argument holding the NUL character, which no field can hold', async () => {
      const { status, body } = await graphql(
        t,
        t.adminKey,
        '{ individuals(filter: { identifierType: "UIN", identifierValue: "NID\\u0000" }) { edges { node { id } } } }',
      );
      expect(status).toBe(400);
      expect(body['errors'][0]).toMatchObject({
        message: 'a string argument holds the NUL character (U+0000), which no field can hold',
        extensions: { code: 'BAD_USER_INPUT' },
      });
    });

    it('a variable of the wrong type', async () => {
      const { status, body } = await graphql(
        t,
        t.adminKey,
        'query($n: Int!) { households(first: $n) { edges { node { id } } } }',
        {
          n: 'ten',
        },
      );
      expect(status).toBe(400);
      expect(body['errors'][0].message).toContain('Variable "$n" got invalid value "ten"');
    });
  });

  describe('bad arguments of a query that runs: the field fails, naming the argument', () => {
    it.each([
      [
        'a cursor this API did not issue',
        `{ households(after: "bm90LWEtY3Vyc29y") { edges { node { id } } } }`,
        'after',
      ],
      [
        'a household id that is no UUID',
        `{ individuals(filter: { householdId: "42" }) { edges { node { id } } } }`,
        'filter.householdId',
      ],
      [
        'an admin area with wildcards',
        `{ households(filter: { adminArea: "R0%" }) { edges { node { id } } } }`,
        'filter.adminArea',
      ],
      [
        'a date that is no date-time',
        `{ enrollments(filter: { updatedSince: "yesterday" }) { edges { node { id } } } }`,
        'filter.updatedSince',
      ],
      [
        'half an identifier',
        `{ individuals(filter: { identifierType: "UIN" }) { edges { node { id } } } }`,
        'filter.identifierValue',
      ],
      [
        'a NUL character in a where expression (which no field can hold)',
        `{ households(where: "{\\"household_number\\": \\"HH\\\\u0000\\"}") { edges { node { id } } } }`,
        'where/household_number',
      ],
    ])('%s', async (_what, query, pointer) => {
      const { status, body } = await graphql(t, t.adminKey, query);
      expect(status).toBe(200);
      expect(Object.values(body['data'])).toEqual([null]);
      expect(body['errors'][0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', status: 400 });
      expect(body['errors'][0].extensions.errors[0].pointer).toBe(pointer);
    });
  });

  describe('limits', () => {
    const deep = (levels: number) => {
      // individuals > edges > node, then household > members > household ..., then id.
      const links = Array.from({ length: levels - 4 }, (_, i) => (i % 2 === 0 ? 'household' : 'members'));
      const inner = links.reduceRight((selection, link) => `${link} { ${selection} }`, 'id');
      return `{ individuals(first: 1) { edges { node { ${inner} } } } }`;
    };

    it(`runs a query ${GRAPHQL_LIMITS.depth} levels deep and refuses one level more`, async () => {
      const allowed = await graphql(t, t.adminKey, deep(GRAPHQL_LIMITS.depth));
      expect(allowed.status).toBe(200);
      expect(allowed.body['errors']).toBeUndefined();

      const refused = await graphql(t, t.adminKey, deep(GRAPHQL_LIMITS.depth + 1));
      expect(refused.status).toBe(400);
      expect(refused.body['errors']).toEqual([
        {
          message: `the query is ${GRAPHQL_LIMITS.depth + 1} levels deep; at most ${GRAPHQL_LIMITS.depth} are allowed`,
          extensions: {
            code: 'QUERY_TOO_DEEP',
            depth: GRAPHQL_LIMITS.depth + 1,
            limit: GRAPHQL_LIMITS.depth,
          },
        },
      ]);
    });

    it('refuses a query that may return too many records, before reading any', async () => {
      const requestId = 'graphql-too-costly';
      const { status, body } = await graphql(
        t,
        t.adminKey,
        `
          query ($n: Int) {
            households(first: $n) {
              edges {
                node {
                  members {
                    enrollments {
                      id
                    }
                  }
                }
              }
            }
          }
        `,
        { n: 500 },
        { 'x-request-id': requestId },
      );
      expect(status).toBe(400);
      // 500 households, 10 members each assumed, 5 enrollments each assumed.
      expect(body['errors'][0]).toMatchObject({
        message: `the query may return up to 30500 records; at most ${GRAPHQL_LIMITS.cost} are allowed: ask for smaller pages (first) or fewer nested lists`,
        extensions: { code: 'QUERY_TOO_COSTLY', cost: 30_500 },
      });
      expect(await auditOf(requestId)).toMatchObject({ outcome: 'invalid', record_count: 0 });

      const smaller = await graphql(
        t,
        t.adminKey,
        `
          {
            households(first: 100) {
              edges {
                node {
                  members {
                    enrollments {
                      id
                    }
                  }
                }
              }
            }
          }
        `,
      );
      expect(smaller.status).toBe(200);
    });

    it('prices fragments where they are spread, and entity lookups by their number', async () => {
      const fragments = await graphql(
        t,
        t.adminKey,
        `
          fragment M on Household {
            members {
              id
            }
          }
          {
            a: households(first: 500) {
              edges {
                node {
                  ...M
                }
              }
            }
            b: households(first: 500) {
              edges {
                node {
                  ...M
                }
              }
            }
          }
        `,
      );
      expect(fragments.body['errors'][0].extensions).toMatchObject({
        code: 'QUERY_TOO_COSTLY',
        cost: 11_000,
      });

      const representations = Array.from({ length: GRAPHQL_LIMITS.cost + 1 }, () => ({
        __typename: 'Household',
        id: household,
      }));
      const entities = await graphql(
        t,
        t.adminKey,
        `
          query ($r: [_Any!]!) {
            _entities(representations: $r) {
              ... on Household {
                id
              }
            }
          }
        `,
        {
          r: representations,
        },
      );
      expect(entities.body['errors'][0].extensions).toMatchObject({ code: 'QUERY_TOO_COSTLY' });
    });

    it(`caps first at ${GRAPHQL_LIMITS.first}`, async () => {
      for (const first of [GRAPHQL_LIMITS.first + 1, 0, -1]) {
        const { status, body } = await graphql(
          t,
          t.adminKey,
          `
            query ($n: Int) {
              households(first: $n) {
                edges {
                  node {
                    id
                  }
                }
              }
            }
          `,
          {
            n: first,
          },
        );
        expect(status).toBe(400);
        expect(body['errors'][0]).toMatchObject({
          message: `first must be from 1 to ${GRAPHQL_LIMITS.first} (Query.households)`,
          extensions: { code: 'BAD_USER_INPUT' },
        });
      }
    });
  });
});
