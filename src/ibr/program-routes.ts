import { randomUUID } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import type { Kysely } from 'kysely';
import type { DB } from '#platform/db/types';
import { conflict, notFound } from '#platform/problem';
import type { App } from '#platform/http/types';
import { accessTo, problems, StringEnum } from '#platform/http/kit';
import { listPrograms } from '#registry/queries';
import { Nullable, ProgramCode, ProgramSchema } from '#registry/schemas';

/**
 * Program definitions (issue 7): the programs the IBR coordinates, with the exclusion groups that
 * make programs mutually exclusive. Defining programs is an administrator's act (`clients:manage`),
 * like benefit caps; a program's target unit is fixed once created (its enrollments depend on it).
 * Changes apply to enrollments made afterwards; existing ones are not re-checked.
 */

const Editable = {
  name: Type.String({ minLength: 1, maxLength: 200 }),
  description: Nullable(Type.String({ maxLength: 2000 })),
  benefit_type: StringEnum(['cash', 'voucher', 'in_kind', 'training', 'work_opportunity', 'insurance']),
  benefit_frequency: Nullable(StringEnum(['one_off', 'monthly', 'bimonthly', 'quarterly', 'yearly'])),
  currency: Nullable(Type.String({ pattern: '^[A-Z]{3}$' })),
  exclusion_groups: Type.Array(Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,39}$' }), {
    maxItems: 20,
    uniqueItems: true,
    description: 'Programs sharing a group are mutually exclusive (a household holds at most one of them)',
  }),
  active: Type.Boolean({ description: 'false: closed to new enrollments' }),
};
const NewProgram = Type.Object(
  {
    code: ProgramCode,
    target_unit: StringEnum(['household', 'individual']),
    ...Editable,
    description: Type.Optional(Editable.description),
    benefit_frequency: Type.Optional(Editable.benefit_frequency),
    currency: Type.Optional(Editable.currency),
    exclusion_groups: Type.Optional(Editable.exclusion_groups),
    active: Type.Optional(Editable.active),
  },
  { additionalProperties: false },
);
const ProgramChange = Type.Partial(Type.Object(Editable, { additionalProperties: false }), {
  additionalProperties: false,
  minProperties: 1,
});

const manage = accessTo('clients:manage', 'program');

const programView = async (db: Kysely<DB>, code: string) =>
  (await listPrograms(db)).find((program) => program.code === code)!;

export async function programRoutes(app: App, { db }: { db: Kysely<DB> }): Promise<void> {
  app.post(
    '/ibr/programs',
    {
      config: manage('program.create'),
      schema: {
        tags: ['ibr'],
        operationId: 'createProgram',
        summary: 'Define a program (its code, target unit, benefit and exclusion groups)',
        body: NewProgram,
        response: { 201: ProgramSchema, ...problems(400, 404, 409) },
      },
    },
    async (request, reply) => {
      const body: Static<typeof NewProgram> = request.body;
      const inserted = await db
        .insertInto('programs')
        .values({ id: randomUUID(), ...body, exclusion_groups: body.exclusion_groups ?? [] })
        .onConflict((oc) => oc.column('code').doNothing())
        .returning('code')
        .executeTakeFirst();
      if (!inserted) {
        throw conflict(`a program with code ${body.code} already exists`);
      }
      request.auditNote = { resourceId: body.code, recordCount: 1 };
      return reply.code(201).send(await programView(db, body.code));
    },
  );

  app.patch(
    '/ibr/programs/:code',
    {
      config: manage('program.update'),
      schema: {
        tags: ['ibr'],
        operationId: 'updateProgram',
        summary: "Change a program's name, benefit, exclusion groups, or close it to new enrollments",
        params: Type.Object({ code: ProgramCode }),
        body: ProgramChange,
        response: { 200: ProgramSchema, ...problems(400, 404, 409) },
      },
    },
    async (request) => {
      const result = await db
        .updateTable('programs')
        .set(request.body)
        .where('code', '=', request.params.code)
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) === 0) {
        throw notFound('program');
      }
      request.auditNote = { resourceId: request.params.code, recordCount: 1 };
      return programView(db, request.params.code);
    },
  );
}
