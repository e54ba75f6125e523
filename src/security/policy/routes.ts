import { Type } from '@sinclair/typebox';
import type { Kysely } from 'kysely';
import { findClient, type ClientRecord } from '#platform/auth/clients';
import { assertNotWider, recordsUnder } from '#platform/auth/credential-reach';
import type { Principal } from '#platform/auth/principal';
import type { DB } from '#platform/db/types';
import { badRequest, notFound, type FieldError } from '#platform/problem';
import type { App } from '#platform/http/types';
import { accessTo, IdParams, problems } from '#platform/http/kit';
import { deletePolicy, findPolicy, savePolicy, unknownAreas, type PolicyRow } from './queries.ts';
import { operationsMatcher } from './rules.ts';
import { PolicyInput, PolicySchema, type PolicyView } from './schemas.ts';

const manage = accessTo('clients:manage', 'client');

const iso = (date: Date | null) => date?.toISOString() ?? null;
const policyJson = (row: PolicyRow): PolicyView => ({
  ...row,
  valid_from: iso(row.valid_from),
  valid_until: iso(row.valid_until),
  created_at: row.created_at.toISOString(),
  updated_at: row.updated_at.toISOString(),
});

/**
 * A client's policy (its data sharing agreement): read, replace, remove. Enforced for every API by
 * access control (enforce.ts); each change drops the client from this gateway's caches at once.
 */
export async function policyRoutes(app: App, { db }: { db: Kysely<DB> }): Promise<void> {
  app.put(
    '/clients/:id/policy',
    {
      config: manage('client.policy.update'),
      schema: {
        tags: ['access'],
        operationId: 'setClientPolicy',
        summary: "Set a client's policy (data sharing agreement), replacing any previous one",
        description:
          'Allowed operations (route audit actions, `*` = one segment), registries, field classes hidden beyond the ' +
          "role's, purposes (X-Purpose or the DCI consent purpose must be one of them), admin areas (a code covers " +
          'the areas below it), rate limit per minute, daily quota, validity dates. An absent list does not restrict.',
        params: IdParams,
        body: PolicyInput,
        response: { 200: PolicySchema, ...problems(400, 404) },
      },
    },
    async (request) => {
      request.auditNote = { resourceId: request.params.id };
      const client = await findClient(db, request.params.id);
      assertNotWiderAfter(request.principal, client, {
        hidden_fields: request.body.hidden_fields ?? [],
        area_codes: request.body.area_codes ?? null,
      });
      await checkPolicy(db, request.body, app.accessPolicies.operations);
      const row = await savePolicy(db, client.id, request.body, request.principal?.clientId);
      app.clientChanges.changed(client.id);
      request.auditNote.recordCount = 1;
      return policyJson(row);
    },
  );

  app.get(
    '/clients/:id/policy',
    {
      config: manage('client.policy.read'),
      schema: {
        tags: ['access'],
        operationId: 'getClientPolicy',
        summary: "A client's policy (404: none, its role's defaults apply)",
        params: IdParams,
        response: { 200: PolicySchema, ...problems(400, 404) },
      },
    },
    async (request) => {
      request.auditNote = { resourceId: request.params.id };
      const client = await findClient(db, request.params.id);
      const row = await findPolicy(db, client.id);
      if (!row) {
        throw notFound("policy: this client's role defaults apply");
      }
      request.auditNote.recordCount = 1;
      return policyJson(row);
    },
  );

  app.delete(
    '/clients/:id/policy',
    {
      config: manage('client.policy.delete'),
      schema: {
        tags: ['access'],
        operationId: 'deleteClientPolicy',
        summary: "Remove a client's policy: its role's defaults apply again",
        params: IdParams,
        response: { 204: Type.Null(), ...problems(400, 404) },
      },
    },
    async (request, reply) => {
      request.auditNote = { resourceId: request.params.id };
      const client = await findClient(db, request.params.id);
      assertNotWiderAfter(request.principal, client, undefined);
      if (!(await deletePolicy(db, client.id))) {
        throw notFound("policy: this client's role defaults apply");
      }
      app.clientChanges.changed(client.id);
      request.auditNote.recordCount = 1;
      return reply.code(204).send(null);
    },
  );
}

/**
 * A change of agreement widens what the client's credentials already reach: never beyond the
 * caller's own fields and areas (the rule of credential-reach.ts; permissions are the role's and stay).
 */
function assertNotWiderAfter(
  caller: Principal | undefined,
  client: ClientRecord,
  policy: Parameters<typeof recordsUnder>[1],
): void {
  const records = recordsUnder(client.role, policy);
  assertNotWider(caller, { permissions: [], records }, "change this client's data sharing agreement");
}

/**
 * What the schema cannot tell: dates in order, operation patterns that name a route of this
 * gateway, admin areas that exist. All problems at once, before anything is written.
 */
async function checkPolicy(db: Kysely<DB>, input: PolicyInput, known: ReadonlySet<string>): Promise<void> {
  const errors: FieldError[] = [];
  if (input.valid_from && input.valid_until && !(new Date(input.valid_until) > new Date(input.valid_from))) {
    errors.push({ pointer: '/valid_until', detail: 'must be after valid_from' });
  }
  input.operations?.forEach((pattern, i) => {
    const matcher = operationsMatcher([pattern]);
    if (![...known].some((action) => matcher.test(action))) {
      errors.push({
        pointer: `/operations/${i}`,
        detail: `"${pattern}" matches no operation of this gateway`,
      });
    }
  });
  const unknown = new Set(await unknownAreas(db, input.area_codes ?? []));
  input.area_codes?.forEach((code, i) => {
    if (unknown.has(code)) {
      errors.push({ pointer: `/area_codes/${i}`, detail: `no admin area has the code "${code}"` });
    }
  });
  if (errors.length > 0) {
    throw badRequest('the policy is not valid', errors);
  }
}
