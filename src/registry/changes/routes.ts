import { Type } from '@sinclair/typebox';
import type { Kysely, Selectable } from 'kysely';
import type { ChangeRequestTable, DB } from '#platform/db/types';
import { notFound } from '#platform/problem';
import type { App } from '#platform/http/types';
import { keyset, Keys, Page, PageQuery } from '#platform/http/pagination';
import { accessTo, IdParams, principalOf, problems, StringEnum } from '#platform/http/kit';
import { Nullable } from '#registry/schemas';
import { decideChange } from './service.ts';

/** The cursors of the change request list, oldest first. */
const changeRequests = keyset('registry.change_requests', Keys.timeAndId);

/**
 * The review queue: change requests from the field, with the issues found, and a reviewer's
 * decision. Reading them shows personal data as submitted, so it needs `registry:write` like the
 * decision itself; both are audited.
 */

const IssueSchema = Type.Object({
  code: Type.String(),
  severity: StringEnum(['error', 'review']),
  pointer: Type.String(),
  detail: Type.String(),
  record_id: Type.Optional(Type.String()),
});
export const ChangeRequestSchema = Type.Object({
  id: Type.String(),
  kind: StringEnum(['registration', 'update']),
  source: Type.String(),
  status: StringEnum(['pending_review', 'applied', 'rejected']),
  household_id: Nullable(Type.String()),
  issues: Type.Array(IssueSchema),
  payload: Type.Unknown({ description: 'The change as the source gave it (household, members)' }),
  created_by: Nullable(Type.String()),
  created_at: Type.String({ format: 'date-time' }),
  decided_by: Nullable(Type.String()),
  decided_at: Nullable(Type.String({ format: 'date-time' })),
  decision_reason: Nullable(Type.String()),
});

const write = accessTo('registry:write', 'change_request');

type Row = Selectable<ChangeRequestTable>;

export const changeRequestView = (row: Row) => ({
  ...row,
  issues: row.issues as never[],
  created_at: row.created_at.toISOString(),
  decided_at: row.decided_at?.toISOString() ?? null,
});

export async function changeRequestRoutes(app: App, { db }: { db: Kysely<DB> }): Promise<void> {
  app.get(
    '/change-requests',
    {
      config: write('change_request.list'),
      schema: {
        tags: ['registry'],
        operationId: 'listChangeRequests',
        summary: 'Change requests from the field, oldest first (the review queue with status=pending_review)',
        querystring: Type.Object(
          {
            status: Type.Optional(StringEnum(['pending_review', 'applied', 'rejected'])),
            source: Type.Optional(Type.String({ maxLength: 200, description: 'Sources starting with this' })),
            ...PageQuery,
          },
          { additionalProperties: false },
        ),
        response: { 200: Page(ChangeRequestSchema), ...problems(400) },
      },
    },
    async (request) => {
      const { status, source, limit = 50, cursor } = request.query;
      const after = changeRequests.after(cursor);
      let query = db
        .selectFrom('change_requests')
        .selectAll()
        .orderBy('created_at')
        .orderBy('id')
        .limit(limit + 1);
      if (status) {
        query = query.where('status', '=', status);
      }
      if (source) {
        query = query.where('source', 'like', `${source.replace(/[\\%_]/g, '\\$&')}%`);
      }
      if (after) {
        query = query.where((eb) =>
          eb.or([
            eb('created_at', '>', after.at),
            eb.and([eb('created_at', '=', after.at), eb('id', '>', after.id)]),
          ]),
        );
      }
      const page = changeRequests.page(await query.execute(), limit, (row) => ({
        at: row.created_at,
        id: row.id,
      }));
      request.auditNote = { recordCount: page.items.length };
      return { items: page.items.map(changeRequestView), next_cursor: page.next_cursor };
    },
  );

  app.get(
    '/change-requests/:id',
    {
      config: write('change_request.read'),
      schema: {
        tags: ['registry'],
        operationId: 'getChangeRequest',
        summary: 'One change request, with its issues and decision',
        params: IdParams,
        response: { 200: ChangeRequestSchema, ...problems(400, 404, 409) },
      },
    },
    async (request) => {
      const row = await db
        .selectFrom('change_requests')
        .selectAll()
        .where('id', '=', request.params.id)
        .executeTakeFirst();
      if (!row) {
        throw notFound('change request');
      }
      request.auditNote = { resourceId: row.id, recordCount: 1 };
      return changeRequestView(row);
    },
  );

  app.post(
    '/change-requests/:id/decision',
    {
      config: write('change_request.decide'),
      schema: {
        tags: ['registry'],
        operationId: 'decideChangeRequest',
        summary: 'Approve (apply now) or reject a change request waiting for review',
        description:
          'Approval validates the change again (the registry may have changed since) and applies it in one transaction; ' +
          'possible duplicates it was held for are the reviewer’s call. 409 when it is not pending or no longer validates.',
        params: IdParams,
        body: Type.Object(
          {
            decision: StringEnum(['approve', 'reject']),
            reason: Type.String({ minLength: 1, maxLength: 500 }),
          },
          { additionalProperties: false },
        ),
        response: { 200: ChangeRequestSchema, ...problems(400, 404, 409) },
      },
    },
    async (request) => {
      const { id } = request.params;
      await decideChange(db, id, request.body.decision, request.body.reason, principalOf(request));
      const row = await db
        .selectFrom('change_requests')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirstOrThrow();
      request.auditNote = {
        resourceId: id,
        recordCount: 1,
        ...(row.household_id ? { subjectIds: [row.household_id] } : {}),
      };
      return changeRequestView(row);
    },
  );
}
