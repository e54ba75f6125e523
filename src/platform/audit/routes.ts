import { Type } from '@sinclair/typebox';
import { sql, type Kysely } from 'kysely';
import type { DB } from '#platform/db/types';
import { decodeCursor, Page, PageQuery, toPage } from '#platform/http/pagination';
import type { App } from '#platform/http/types';
import { verifyAuditChain } from './audit-log.ts';

const Entry = Type.Object({
  seq: Type.Integer(),
  at: Type.String({ format: 'date-time' }),
  request_id: Type.Union([Type.String(), Type.Null()]),
  client_id: Type.Union([Type.String(), Type.Null()]),
  client_name: Type.Union([Type.String(), Type.Null()]),
  action: Type.String(),
  purpose: Type.Union([Type.String(), Type.Null()]),
  resource_type: Type.Union([Type.String(), Type.Null()]),
  resource_id: Type.Union([Type.String(), Type.Null()]),
  record_count: Type.Integer(),
  outcome: Type.String(),
  status_code: Type.Union([Type.Integer(), Type.Null()]),
  subject_ids: Type.Union([Type.Array(Type.String()), Type.Null()], {
    description: 'Ids of the registry records the access returned',
  }),
  legal_basis: Type.Union([Type.String(), Type.Null()], {
    description: 'The legal basis the access stated (exports)',
  }),
  hash: Type.String(),
});

const auditRead = (action: string) => ({
  access: { permission: 'audit:read' as const, audit: { action, resourceType: 'audit_log' } },
});

/** Search and verify the audit trail. Newest first. */
export async function auditRoutes(app: App, { db }: { db: Kysely<DB> }): Promise<void> {
  app.get(
    '/audit',
    {
      config: auditRead('audit.search'),
      schema: {
        tags: ['audit'],
        summary: 'Search audit entries (newest first)',
        querystring: Type.Object(
          {
            ...PageQuery,
            client_id: Type.Optional(Type.String({ format: 'uuid' })),
            action: Type.Optional(Type.String({ maxLength: 80 })),
            resource_type: Type.Optional(Type.String({ maxLength: 40 })),
            resource_id: Type.Optional(Type.String({ maxLength: 100 })),
            subject_id: Type.Optional(
              Type.String({ maxLength: 100, description: 'Accesses that returned this record' }),
            ),
            outcome: Type.Optional(Type.String({ enum: ['success', 'denied', 'error', 'invalid'] })),
            from: Type.Optional(Type.String({ format: 'date-time' })),
            to: Type.Optional(Type.String({ format: 'date-time' })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Page(Entry), 400: { $ref: 'Problem#' } },
      },
    },
    async (request) => {
      const q = request.query;
      const limit = q.limit ?? 50;
      const before = decodeCursor(q.cursor);
      let query = db.selectFrom('audit_log').selectAll();
      if (before) {
        query = query.where('seq', '<', Number(before));
      }
      if (q.client_id) {
        query = query.where('client_id', '=', q.client_id);
      }
      if (q.action) {
        query = query.where('action', '=', q.action);
      }
      if (q.resource_type) {
        query = query.where('resource_type', '=', q.resource_type);
      }
      if (q.resource_id) {
        query = query.where('resource_id', '=', q.resource_id);
      }
      if (q.subject_id) {
        query = query.where(sql<boolean>`subject_ids @> ${sql.val([q.subject_id])}::text[]`);
      }
      if (q.outcome) {
        query = query.where('outcome', '=', q.outcome);
      }
      if (q.from) {
        query = query.where('at', '>=', new Date(q.from));
      }
      if (q.to) {
        query = query.where('at', '<', new Date(q.to));
      }
      const rows = await query
        .orderBy('seq', 'desc')
        .limit(limit + 1)
        .execute();
      const page = toPage(rows, limit, (row) => String(row.seq));
      request.auditNote = { recordCount: page.items.length };
      return { ...page, items: page.items.map((row) => ({ ...row, at: row.at.toISOString() })) };
    },
  );

  app.get(
    '/audit/verify',
    {
      config: auditRead('audit.verify'),
      schema: {
        tags: ['audit'],
        summary: 'Recompute the hash chain and report the first altered or missing entry',
        response: {
          200: Type.Object({
            ok: Type.Boolean(),
            checked: Type.Integer(),
            first_broken_seq: Type.Optional(Type.Integer()),
            reason: Type.Optional(Type.String()),
          }),
        },
      },
    },
    async () => {
      const result = await verifyAuditChain(db);
      return {
        ok: result.ok,
        checked: result.checked,
        first_broken_seq: result.firstBrokenSeq,
        reason: result.reason,
      };
    },
  );
}
