import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedRegistry } from '#registry/seed/load';
import { createTestApp, type TestApp } from '#test/app';
import { everyPage, graphql, nodesOf, type Json } from './helpers.ts';

/** The GraphQL API over a generated registry of 60 households, as an admin sees it. */
describe('GraphQL queries', () => {
  let t: TestApp;
  const idsOf = async (table: 'households' | 'individuals' | 'enrollments') =>
    (await t.database.db.selectFrom(table).select('id').orderBy('id').execute()).map((row) => row.id);

  beforeAll(async () => {
    t = await createTestApp();
    await seedRegistry(t.database, { households: 60, seed: 11 });
  });
  afterAll(() => t.close());

  describe('cursor pagination', () => {
    it.each([
      ['households', 7],
      ['individuals', 50],
      ['enrollments', 9],
    ] as const)('walks every %s page by page, none skipped or repeated', async (field, first) => {
      const expected = await idsOf(field);
      expect(expected.length).toBeGreaterThan(first);
      const { nodes, pages } = await everyPage(t, t.adminKey, field, { first });
      expect(nodes.map((node) => node['id'])).toEqual(expected);
      expect(pages).toBe(Math.ceil(expected.length / first));
    });

    it('gives every edge a cursor that resumes after it, and an empty last page no cursor', async () => {
      const first = await graphql(
        t,
        t.adminKey,
        `
          {
            households(first: 3) {
              edges {
                cursor
                node {
                  id
                }
              }
            }
          }
        `,
      );
      const [, second] = first.body['data'].households.edges;
      const next = await graphql(
        t,
        t.adminKey,
        `
          query ($after: String) {
            households(first: 1, after: $after) {
              edges {
                node {
                  id
                }
              }
            }
          }
        `,
        { after: second.cursor },
      );
      expect(nodesOf(next.body['data'].households)[0]!['id']).toBe(
        first.body['data'].households.edges[2].node.id,
      );

      const none = await graphql(
        t,
        t.adminKey,
        `
          {
            households(first: 5, filter: { updatedSince: "2999-01-01T00:00:00Z" }) {
              edges {
                node {
                  id
                }
              }
              pageInfo {
                hasNextPage
                endCursor
              }
            }
          }
        `,
      );
      expect(none.body['data'].households).toEqual({
        edges: [],
        pageInfo: { hasNextPage: false, endCursor: null },
      });
    });
  });

  describe('filters', () => {
    it('filters households by admin area (and the areas below), status and update time', async () => {
      const region = (
        await t.database.db.selectFrom('households').select('admin_area_code').executeTakeFirstOrThrow()
      ).admin_area_code.split('-')[0]!;
      const { nodes } = await everyPage(t, t.adminKey, 'households', {
        first: 100,
        args: `, filter: { adminArea: "${region}", status: active }`,
        fields: 'adminAreaCode status',
      });
      const expected = await t.database.db
        .selectFrom('households')
        .select(sql<number>`count(*)::int`.as('n'))
        .where('admin_area_code', 'like', `${region}-%`)
        .where('status', '=', 'active')
        .executeTakeFirstOrThrow();
      expect(nodes).toHaveLength(expected.n);
      expect(
        nodes.every((n) => n['adminAreaCode'].startsWith(`${region}-`) && n['status'] === 'active'),
      ).toBe(true);
    });

    it('filters individuals by household, and by identifier', async () => {
      const person = await t.database.db
        .selectFrom('identifiers as x')
        .innerJoin('individuals as i', 'i.id', 'x.individual_id')
        .select(['x.id_type', 'x.id_value', 'i.id', 'i.household_id'])
        .executeTakeFirstOrThrow();
      const members = await graphql(
        t,
        t.adminKey,
        `
          query ($h: ID!) {
            individuals(first: 50, filter: { householdId: $h }) {
              edges {
                node {
                  householdId
                }
              }
            }
            household(id: $h) {
              memberCount
            }
          }
        `,
        { h: person.household_id },
      );
      const found = nodesOf(members.body['data'].individuals);
      expect(found).toHaveLength(members.body['data'].household.memberCount);
      expect(found.every((n) => n['householdId'] === person.household_id)).toBe(true);

      const byId = await graphql(
        t,
        t.adminKey,
        `
          query ($type: String, $value: String) {
            individuals(first: 5, filter: { identifierType: $type, identifierValue: $value }) {
              edges {
                node {
                  id
                  identifiers {
                    type
                    value
                  }
                }
              }
            }
          }
        `,
        { type: person.id_type, value: person.id_value },
      );
      const [match] = nodesOf(byId.body['data'].individuals);
      expect(match).toMatchObject({ id: person.id });
      expect(match!['identifiers']).toContainEqual({ type: person.id_type, value: person.id_value });
    });

    it('filters enrollments by program and status, each with its program, beneficiary and history', async () => {
      const { nodes } = await everyPage(t, t.adminKey, 'enrollments', {
        first: 100,
        args: ', filter: { programCode: "CCT", status: enrolled }',
        fields:
          'status beneficiaryType program { code } household { id } individual { id } history { toStatus changedAt }',
      });
      const expected = await t.database.db
        .selectFrom('enrollments as e')
        .innerJoin('programs as p', 'p.id', 'e.program_id')
        .select(sql<number>`count(*)::int`.as('n'))
        .where('p.code', '=', 'CCT')
        .where('e.status', '=', 'enrolled')
        .executeTakeFirstOrThrow();
      expect(expected.n).toBeGreaterThan(0);
      expect(nodes).toHaveLength(expected.n);
      for (const node of nodes) {
        expect(node).toMatchObject({ status: 'enrolled', program: { code: 'CCT' } });
        // CCT is a household-level program.
        expect(node['beneficiaryType']).toBe('household');
        expect(node['household']).not.toBeNull();
        expect(node['history'].at(-1)).toMatchObject({ toStatus: 'enrolled' });
      }
    });
  });

  describe('where: DCI expressions', () => {
    it('selects households by an expression over group attributes', async () => {
      const { nodes } = await everyPage(t, t.adminKey, 'households', {
        first: 100,
        // In a literal, as a string: GraphQL names cannot start with $.
        args: `, where: ${JSON.stringify(JSON.stringify({ pmt_score: { $lt: 30 } }))}`,
        fields: 'pmtScore',
      });
      const expected = await t.database.db
        .selectFrom('households')
        .select(sql<number>`count(*)::int`.as('n'))
        .where('pmt_score', '<', 30)
        .executeTakeFirstOrThrow();
      expect(nodes).toHaveLength(expected.n);
      expect(nodes.every((n) => n['pmtScore'] < 30)).toBe(true);
    });

    it('takes the expression as a variable, combined with the filters', async () => {
      const { body } = await graphql(
        t,
        t.adminKey,
        `
          query ($where: JSON) {
            individuals(first: 500, where: $where, filter: { isDeceased: false }) {
              edges {
                node {
                  relationshipToHead
                  isDeceased
                }
              }
            }
          }
        `,
        { where: { $and: [{ relationship_type: 'SELF' }] } },
      );
      const heads = nodesOf(body['data'].individuals);
      const expected = await t.database.db
        .selectFrom('individuals')
        .select(sql<number>`count(*)::int`.as('n'))
        .where('relationship_to_head', '=', 'SELF')
        .where('is_deceased', '=', false)
        .executeTakeFirstOrThrow();
      expect(heads).toHaveLength(expected.n);
      expect(heads.every((n) => n['relationshipToHead'] === 'SELF' && n['isDeceased'] === false)).toBe(true);
    });

    it('refuses a bad expression, naming what is wrong', async () => {
      const search = (where: unknown) =>
        graphql(
          t,
          t.adminKey,
          `
            query ($where: JSON) {
              households(where: $where) {
                edges {
                  node {
                    id
                  }
                }
              }
            }
          `,
          {
            where,
          },
        );
      const unknown = await search({ shoe_size: { $gt: 3 } });
      expect(unknown.status).toBe(200);
      expect(unknown.body['data']).toEqual({ households: null });
      expect(unknown.body['errors'][0]).toMatchObject({
        path: ['households'],
        extensions: { code: 'BAD_USER_INPUT', status: 400 },
      });
      expect(unknown.body['errors'][0].message).toMatch(
        /^invalid filter: unknown attribute "shoe_size"; known: .*pmt_score/,
      );

      const operator = await search({ pmt_score: { $regex: '1' } });
      expect(operator.body['errors'][0].message).toContain('$regex');
      const notJson = await search('{pmt_score: 3');
      expect(notJson.body['errors'][0]).toMatchObject({
        message: 'where must be a DCI expression: a JSON object, or a string holding one',
        extensions: { code: 'BAD_USER_INPUT', errors: [{ pointer: 'where' }] },
      });
    });
  });

  describe('records by id, and links', () => {
    it('reads a household with its members and their household, and null for an unknown id', async () => {
      const [id] = await idsOf('households');
      const { body } = await graphql(
        t,
        t.adminKey,
        `
          query ($id: ID!) {
            household(id: $id) {
              id
              memberCount
              members {
                relationshipToHead
                household {
                  id
                }
              }
            }
            missing: household(id: "00000000-0000-4000-8000-000000000000") {
              id
            }
            notAnId: individual(id: "42") {
              id
            }
          }
        `,
        { id },
      );
      expect(body['errors']).toBeUndefined();
      const household = body['data'].household;
      expect(household.members).toHaveLength(household.memberCount);
      expect(household.members[0].relationshipToHead).toBe('SELF');
      expect(household.members.every((m: Json) => m['household'].id === id)).toBe(true);
      expect(body['data']).toMatchObject({ missing: null, notAnId: null });
    });

    it("lists a person's own and their household's enrollments, and programs", async () => {
      const row = await t.database.db
        .selectFrom('enrollments')
        .select(['individual_id'])
        .where('individual_id', 'is not', null)
        .executeTakeFirstOrThrow();
      const rest = (
        await t.get(`/api/v1/individuals/${row.individual_id}/enrollments`, t.adminKey)
      ).json<Json>();
      const { body } = await graphql(
        t,
        t.adminKey,
        `
          query ($id: ID!) {
            individual(id: $id) {
              enrollments {
                id
              }
            }
            programs {
              code
              targetUnit
            }
          }
        `,
        { id: row.individual_id },
      );
      expect(body['data'].individual.enrollments.map((e: Json) => e['id'])).toEqual(
        rest['items'].map((e: Json) => e['id']),
      );
      expect(body['data'].programs.map((p: Json) => p['code'])).toEqual([
        'CCT',
        'DISG',
        'FOOD',
        'PWP',
        'SPEN',
        'UCT',
      ]);
    });
  });

  describe('audit', () => {
    it('records each query with the caller, the purpose, the number and the ids of the records returned', async () => {
      const { body } = await graphql(
        t,
        t.adminKey,
        `
          {
            households(first: 4) {
              edges {
                node {
                  id
                }
              }
            }
          }
        `,
        undefined,
        { 'x-purpose': 'graphql audit test', 'x-request-id': 'graphql-audit-1' },
      );
      const ids = nodesOf(body['data'].households).map((n) => n['id']);
      const audit = await t.get('/api/v1/audit?action=graphql.query&limit=100', t.adminKey);
      const entry = audit.json<Json>()['items'].find((e: Json) => e['request_id'] === 'graphql-audit-1');
      expect(entry).toMatchObject({
        action: 'graphql.query',
        resource_type: 'graphql',
        purpose: 'graphql audit test',
        outcome: 'success',
        status_code: 200,
        record_count: 4,
      });
      expect([...entry['subject_ids']].sort()).toEqual([...ids].sort());
    });
  });

  describe('introspection and federation', () => {
    it('answers introspection and the subgraph SDL to an authenticated caller', async () => {
      const analyst = await t.keyFor('analyst');
      const { getIntrospectionQuery } = await import('graphql/index.js');
      const introspection = await graphql(t, analyst, getIntrospectionQuery());
      expect(introspection.status).toBe(200);
      const types = introspection.body['data'].__schema.types.map((type: Json) => type['name']);
      expect(types).toEqual(
        expect.arrayContaining(['Household', 'Individual', 'Program', 'Enrollment', 'PageInfo']),
      );

      const sdl = await graphql(t, analyst, '{ _service { sdl } }');
      expect(sdl.body['data']._service.sdl).toMatch(/type Household\s+@key\(fields: "id"\)/);
      expect(sdl.body['data']._service.sdl).toContain(
        '@link(url: "https://specs.apollo.dev/federation/v2.3"',
      );
    });
  });
});
