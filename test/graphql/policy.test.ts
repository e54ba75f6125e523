import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedRegistry } from '#registry/seed/load';
import { createTestApp, type TestApp } from '#test/app';
import { newClient } from '#test/clients';
import { setPolicy } from '#test/security/policy/helpers';
import { everyPage, graphql, nodesOf, type Json } from './helpers.ts';

/** Field policy, area scope and data sharing agreements, applied to every GraphQL read. */
describe('GraphQL policy', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp();
    await seedRegistry(t.database, { households: 60, seed: 23 });
  });
  afterAll(() => t.close());

  const PERSON_FIELDS =
    'id sex birthYear givenName middleName familyName birthDate phone identifiers { type value }';
  const withheldOf = (body: Json) =>
    (body['errors'] ?? [])
      .filter((e: Json) => e['extensions']?.code === 'FIELD_WITHHELD')
      .map((e: Json) => e['extensions'].field)
      .sort();

  describe('field policy', () => {
    it('an analyst never receives names, birth dates, contacts or identifiers: null, and one error per field', async () => {
      const analyst = await t.keyFor('analyst');
      const { status, body } = await graphql(
        t,
        analyst,
        `{ individuals(first: 20) { edges { node { ${PERSON_FIELDS} } } } }`,
      );
      expect(status).toBe(200);
      const people = nodesOf(body['data'].individuals);
      expect(people).toHaveLength(20);
      for (const person of people) {
        expect(person).toMatchObject({
          givenName: null,
          middleName: null,
          familyName: null,
          birthDate: null,
          phone: null,
          identifiers: null,
        });
        expect(person['sex']).toEqual(expect.any(String));
        expect(person['birthYear']).toEqual(expect.any(Number));
      }
      expect(withheldOf(body)).toEqual([
        'Individual.birthDate',
        'Individual.familyName',
        'Individual.givenName',
        'Individual.identifiers',
        'Individual.middleName',
        'Individual.phone',
      ]);
      const error = body['errors'].find((e: Json) => e['extensions'].field === 'Individual.givenName');
      expect(error).toMatchObject({
        message:
          'Individual.givenName is withheld: your role or data sharing agreement hides the field class "name"',
        path: ['individuals', 'edges', 0, 'node', 'givenName'],
        extensions: { fieldClass: 'name' },
      });
      expect(JSON.stringify(body)).not.toMatch(/"(UIN|BRN)"/);
    });

    it('an admin receives every field, with no error', async () => {
      const { body } = await graphql(
        t,
        t.adminKey,
        `{ individuals(first: 20) { edges { node { ${PERSON_FIELDS} } } } }`,
      );
      expect(body['errors']).toBeUndefined();
      const people = nodesOf(body['data'].individuals);
      expect(people.every((p) => typeof p['givenName'] === 'string' && Array.isArray(p['identifiers']))).toBe(
        true,
      );
    });

    it('withholds household places and enrollment payment accounts by role, and what an agreement adds', async () => {
      const query = `{ households(first: 30) { edges { node { pmtScore location { latitude } addressLine
        enrollments { paymentAccount programBeneficiaryId } members { enrollments { paymentAccount } } } } } }`;
      const analyst = await graphql(t, await t.keyFor('analyst'), query);
      expect(withheldOf(analyst.body)).toEqual([
        'Enrollment.paymentAccount',
        'Enrollment.programBeneficiaryId',
        'Household.addressLine',
        'Household.location',
      ]);
      expect(nodesOf(analyst.body['data'].households).some((h) => typeof h['pmtScore'] === 'number')).toBe(
        true,
      );

      const integrator = await newClient(t, 'integrator');
      const before = await graphql(t, integrator.key, query);
      expect(withheldOf(before.body)).toEqual(['Enrollment.paymentAccount']);
      await setPolicy(t, integrator.id, { hidden_fields: ['poverty_score'] });
      const after = await graphql(t, integrator.key, query);
      expect(withheldOf(after.body)).toEqual(['Enrollment.paymentAccount', 'Household.pmtScore']);
      expect(nodesOf(after.body['data'].households).every((h) => h['pmtScore'] === null)).toBe(true);
    });

    it('refuses filters on fields the caller may not see', async () => {
      const analyst = await t.keyFor('analyst');
      const byIdentifier = await graphql(
        t,
        analyst,
        `
          {
            individuals(filter: { identifierType: "UIN", identifierValue: "123" }) {
              edges {
                node {
                  id
                }
              }
            }
          }
        `,
      );
      expect(byIdentifier.body['errors'][0]).toMatchObject({
        message: 'your role may not search by identifier',
        extensions: { code: 'FORBIDDEN', status: 403 },
      });
      const byName = await graphql(
        t,
        analyst,
        `
          query ($w: JSON) {
            individuals(where: $w) {
              edges {
                node {
                  id
                }
              }
            }
          }
        `,
        {
          w: { given_name: 'Amina' },
        },
      );
      expect(byName.body['errors'][0].message).toBe('invalid filter: your role may not search by given_name');
    });
  });

  describe('area scope', () => {
    let region: string;
    let inRegion: number;
    let outside: { household: string; person: string };

    beforeAll(async () => {
      const db = t.database.db;
      region = (
        await db.selectFrom('households').select('admin_area_code').orderBy('id').executeTakeFirstOrThrow()
      ).admin_area_code.split('-')[0]!;
      inRegion = (
        await db
          .selectFrom('households')
          .select(sql<number>`count(*)::int`.as('n'))
          .where('admin_area_code', 'like', `${region}-%`)
          .executeTakeFirstOrThrow()
      ).n;
      const other = await db
        .selectFrom('households as h')
        .innerJoin('individuals as i', 'i.household_id', 'h.id')
        .select(['h.id as household', 'i.id as person'])
        .where('h.admin_area_code', 'not like', `${region}-%`)
        .executeTakeFirstOrThrow();
      outside = other;
    });

    it('a client limited to one region reads only its records, in lists, by id and through links', async () => {
      const client = await newClient(t, 'integrator');
      await setPolicy(t, client.id, { area_codes: [region] });

      const households = await everyPage(t, client.key, 'households', { first: 10, fields: 'adminAreaCode' });
      expect(households.nodes).toHaveLength(inRegion);
      expect(households.nodes.every((h) => h['adminAreaCode'].startsWith(`${region}-`))).toBe(true);

      const people = await everyPage(t, client.key, 'individuals', {
        first: 100,
        fields: 'household { adminAreaCode }',
      });
      expect(people.nodes.every((p) => p['household'].adminAreaCode.startsWith(`${region}-`))).toBe(true);

      const enrollments = await everyPage(t, client.key, 'enrollments', {
        first: 100,
        fields: 'household { adminAreaCode } individual { household { adminAreaCode } }',
      });
      expect(enrollments.nodes.length).toBeGreaterThan(0);
      for (const e of enrollments.nodes) {
        expect((e['household'] ?? e['individual'].household).adminAreaCode.startsWith(`${region}-`)).toBe(
          true,
        );
      }

      const byId = await graphql(
        t,
        client.key,
        `
          query ($h: ID!, $p: ID!) {
            household(id: $h) {
              id
            }
            individual(id: $p) {
              id
            }
          }
        `,
        {
          h: outside.household,
          p: outside.person,
        },
      );
      expect(byId.body).toEqual({ data: { household: null, individual: null } });
      const entities = await graphql(
        t,
        client.key,
        `
          query ($r: [_Any!]!) {
            _entities(representations: $r) {
              ... on Household {
                id
              }
            }
          }
        `,
        { r: [{ __typename: 'Household', id: outside.household }] },
      );
      expect(entities.body).toEqual({ data: { _entities: [null] } });
      // The admin, without an agreement, sees the record.
      const admin = await graphql(
        t,
        t.adminKey,
        `
          query ($h: ID!) {
            household(id: $h) {
              id
            }
          }
        `,
        { h: outside.household },
      );
      expect(admin.body['data'].household).toEqual({ id: outside.household });
    });
  });

  describe('data sharing agreements', () => {
    it('an agreement covering only the Social Registry withholds enrollments (IBR records), keeping the rest', async () => {
      const client = await newClient(t, 'integrator');
      await setPolicy(t, client.id, { registries: ['social'] });
      const { status, body } = await graphql(
        t,
        client.key,
        `
          {
            households(first: 2) {
              edges {
                node {
                  id
                  enrollments {
                    id
                  }
                  members {
                    enrollments {
                      id
                    }
                  }
                }
              }
            }
            enrollments(first: 1) {
              edges {
                node {
                  id
                }
              }
            }
          }
        `,
      );
      expect(status).toBe(200);
      expect(body['data'].enrollments).toBeNull();
      const households = nodesOf(body['data'].households);
      expect(households).toHaveLength(2);
      expect(households.map((h) => h['enrollments'])).toEqual([null, null]);
      expect(households.flatMap((h) => h['members']).every((m: Json) => m['enrollments'] === null)).toBe(
        true,
      );
      // One error says why, however many fields it nulls.
      expect(body['errors']).toHaveLength(1);
      expect(body['errors'][0]).toMatchObject({
        message: 'the data sharing agreement DSA-TEST-1 does not cover the ibr registry',
        extensions: { code: 'FORBIDDEN', status: 403 },
      });
    });

    it('an agreement that does not list the GraphQL operation refuses the call', async () => {
      const client = await newClient(t, 'integrator');
      await setPolicy(t, client.id, { operations: ['household.*'] });
      const { status, body } = await graphql(
        t,
        client.key,
        `
          {
            programs {
              code
            }
          }
        `,
      );
      expect(status).toBe(403);
      expect(body['detail']).toContain('does not allow the operation graphql.query');
    });
  });
});
