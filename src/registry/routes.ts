import { Type } from '@sinclair/typebox';
import type { Kysely } from 'kysely';
import type { Principal } from '#platform/auth/principal';
import type { DB } from '#platform/db/types';
import { keyset, Keys, Page, PageQuery } from '#platform/http/pagination';
import { identifierKey, singleLookup } from '#security/anomaly/lookup-keys';
import { badRequest, notFound } from '#platform/problem';
import type { App } from '#platform/http/types';
import { accessTo, IdParams, principalOf, problems, StringEnum } from '#platform/http/kit';
import * as queries from './queries.ts';
import {
  AdminAreaSchema,
  EnrollmentSchema,
  HouseholdDetailSchema,
  HouseholdSchema,
  IndividualSchema,
  ProgramSchema,
} from './schemas.ts';
import { assertMayLookUp, enrollmentView, householdView, individualView } from './views.ts';

const households = keyset('registry.households', Keys.id);
const individuals = keyset('registry.individuals', Keys.id);

const AreaCode = Type.String({
  pattern: '^[A-Za-z0-9-]{1,40}$',
  description: 'Admin area code; includes the areas below it',
});
const Since = Type.String({ format: 'date-time', description: 'Only records updated at or after this time' });
const notFoundResponse = { ...problems(400, 404) };

/** Households and persons are Social Registry records; enrollments, the IBR's (data sharing agreements). */
const readSocial = accessTo('registry:read', 'household', 'social');
const readIbr = accessTo('registry:read', 'individual', 'ibr');
const read = accessTo('registry:read', 'program');

/** Read API v1 over households, individuals, programs, enrollments and admin areas. */
export async function registryRoutes(app: App, { db }: { db: Kysely<DB> }): Promise<void> {
  app.get(
    '/households',
    {
      config: readSocial('household.list'),
      schema: {
        tags: ['registry'],
        operationId: 'listHouseholds',
        summary: 'List households (keyset pagination)',
        querystring: Type.Object(
          {
            ...PageQuery,
            admin_area: Type.Optional(AreaCode),
            status: Type.Optional(StringEnum(['active', 'inactive', 'merged', 'archived'])),
            updated_since: Type.Optional(Since),
          },
          { additionalProperties: false },
        ),
        response: { 200: Page(HouseholdSchema), ...problems(400) },
      },
    },
    async (request) => {
      const { limit = 50, cursor, admin_area, status, updated_since } = request.query;
      const rows = await queries.listHouseholds(db, {
        scope: principalOf(request).areaScope,
        limit,
        after: households.after(cursor),
        adminArea: admin_area,
        status,
        updatedSince: updated_since,
      });
      const page = households.page(rows, limit, (row) => row.id);
      request.auditNote = { recordCount: page.items.length };
      return { ...page, items: page.items.map((row) => householdView(row, principalOf(request))) };
    },
  );

  app.get(
    '/households/:id',
    {
      config: readSocial('household.read'),
      schema: {
        tags: ['registry'],
        operationId: 'getHousehold',
        summary: 'One household with its members',
        params: IdParams,
        response: { 200: HouseholdDetailSchema, ...notFoundResponse },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      request.auditNote = { resourceId: request.params.id, recordCount: 0 };
      const row = await queries.findHousehold(db, request.params.id, principal.areaScope);
      request.lookups = singleLookup(`household:${request.params.id}`, row !== undefined);
      if (!row) {
        throw notFound('household');
      }
      const members = await queries.listMembers(db, row.id);
      request.auditNote.recordCount = 1 + members.length;
      return { ...householdView(row, principal), members: members.map((m) => individualView(m, principal)) };
    },
  );

  app.get(
    '/individuals',
    {
      config: readSocial('individual.list', 'individual'),
      schema: {
        tags: ['registry'],
        operationId: 'listIndividuals',
        summary: 'List individuals (keyset pagination)',
        querystring: Type.Object(
          {
            ...PageQuery,
            household_id: Type.Optional(Type.String({ format: 'uuid' })),
            sex: Type.Optional(StringEnum(['male', 'female', 'other', 'unknown'])),
            is_deceased: Type.Optional(Type.Boolean()),
            admin_area: Type.Optional(AreaCode),
            identifier_type: Type.Optional(Type.String({ minLength: 1, maxLength: 40 })),
            identifier_value: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
            updated_since: Type.Optional(Since),
          },
          { additionalProperties: false },
        ),
        response: { 200: Page(IndividualSchema), ...problems(400) },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const q = request.query;
      const limit = q.limit ?? 50;
      const identifier = identifierFilter(principal, q.identifier_type, q.identifier_value);
      const rows = await queries.listIndividuals(db, {
        scope: principal.areaScope,
        limit,
        after: individuals.after(q.cursor),
        householdId: q.household_id,
        sex: q.sex,
        isDeceased: q.is_deceased,
        adminArea: q.admin_area,
        identifier,
        updatedSince: q.updated_since,
      });
      const page = individuals.page(rows, limit, (row) => row.id);
      request.auditNote = { recordCount: page.items.length };
      // The members of a household by its id, or persons by an identifier: lookups by key.
      const keys = [
        ...(q.household_id ? [`household:${q.household_id}`] : []),
        ...(identifier ? [identifierKey(identifier.type, identifier.value)] : []),
      ];
      if (keys.length > 0) {
        request.lookups = { keys, found: rows.length > 0 ? keys.length : 0 };
      }
      return { ...page, items: page.items.map((row) => individualView(row, principal)) };
    },
  );

  app.get(
    '/individuals/:id',
    {
      config: readSocial('individual.read', 'individual'),
      schema: {
        tags: ['registry'],
        operationId: 'getIndividual',
        summary: 'One individual',
        params: IdParams,
        response: { 200: IndividualSchema, ...notFoundResponse },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      request.auditNote = { resourceId: request.params.id, recordCount: 0 };
      const row = await queries.findIndividual(db, request.params.id, principal.areaScope);
      request.lookups = singleLookup(`individual:${request.params.id}`, row !== undefined);
      if (!row) {
        throw notFound('individual');
      }
      request.auditNote.recordCount = 1;
      return individualView(row, principal);
    },
  );

  app.get(
    '/individuals/:id/enrollments',
    {
      config: readIbr('enrollment.list'),
      schema: {
        tags: ['registry'],
        operationId: 'listIndividualEnrollments',
        summary: "A person's program enrollments (their own and their household's), with status history",
        params: IdParams,
        response: { 200: Type.Object({ items: Type.Array(EnrollmentSchema) }), ...notFoundResponse },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      request.auditNote = { resourceId: request.params.id, recordCount: 0 };
      const person = await queries.findIndividual(db, request.params.id, principal.areaScope);
      request.lookups = singleLookup(`individual:${request.params.id}`, person !== undefined);
      if (!person) {
        throw notFound('individual');
      }
      const rows = await queries.listEnrollmentsOfIndividual(db, person.id, person.household_id);
      request.auditNote.recordCount = rows.length;
      return { items: rows.map((row) => enrollmentView(row, principal)) };
    },
  );

  app.get(
    '/programs',
    {
      config: read('program.list'),
      schema: {
        tags: ['registry'],
        operationId: 'listPrograms',
        summary: 'Social protection programs',
        response: { 200: Type.Object({ items: Type.Array(ProgramSchema) }) },
      },
    },
    async (request) => {
      const items = await queries.listPrograms(db);
      request.auditNote = { recordCount: items.length };
      return { items };
    },
  );

  app.get(
    '/admin-areas',
    {
      config: read('admin_area.list', 'admin_area'),
      schema: {
        tags: ['registry'],
        operationId: 'listAdminAreas',
        summary: 'Administrative areas (regions > districts > villages), optionally with GeoJSON boundaries',
        querystring: Type.Object(
          {
            level: Type.Optional(Type.Integer({ minimum: 1, maximum: 6 })),
            parent: Type.Optional(AreaCode),
            boundary: Type.Optional(
              Type.Boolean({ default: false, description: 'Include the boundary geometry' }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ items: Type.Array(AdminAreaSchema) }), ...problems(400) },
      },
    },
    async (request) => {
      const { level, parent, boundary = false } = request.query;
      const items = await queries.listAdminAreas(db, { level, parent, withBoundary: boundary });
      request.auditNote = { recordCount: items.length };
      return { items };
    },
  );
}

/** Both parts of an identifier filter or neither; never a filter on a field the caller may not see. */
function identifierFilter(principal: Principal, type: string | undefined, value: string | undefined) {
  if (type === undefined && value === undefined) {
    return undefined;
  }
  if (type === undefined || value === undefined) {
    throw badRequest('identifier_type and identifier_value go together', [
      {
        pointer: type === undefined ? 'identifier_type' : 'identifier_value',
        detail: 'required with the other',
      },
    ]);
  }
  assertMayLookUp(principal, 'identifier');
  return { type, value };
}
