import { Type } from '@sinclair/typebox';
import { sql, type Kysely } from 'kysely';
import type { DB } from '#platform/db/types';
import { keyset, Keys, Page, PageQuery } from '#platform/http/pagination';
import type { App } from '#platform/http/types';
import { stringify } from 'csv-stringify/sync';
import { verifyAuditChain } from '#platform/audit/audit-log';

/** The cursors of the audit event list (newest first). */
const events = keyset('audit.events', Keys.seq);

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

/** Entries a subject report holds at most, newest first. */
const REPORT_MAX = 5000;
/**
 * Entries read per query: the 5,000 at once took PGlite (on our thread) some 200 ms, in which no
 * other request was served (platform/http/long-reads.ts).
 */
const REPORT_PAGE = 500;

/** The accesses to a subject's data, newest first (at most REPORT_MAX), read a page at a time. */
async function accessesOf(db: Kysely<DB>, subject: string) {
  const rows = [];
  let before: number | undefined;
  for (;;) {
    const limit = Math.min(REPORT_PAGE, REPORT_MAX - rows.length);
    const page = await db
      .selectFrom('audit_log')
      .select(['seq', 'at', 'client_id', 'client_name', 'action', 'purpose', 'legal_basis', 'outcome'])
      .where((eb) =>
        eb.or([
          eb(sql<boolean>`subject_ids @> ${sql.val([subject])}::text[]`, '=', true),
          eb('resource_id', '=', subject),
        ]),
      )
      // The report's own consultations are not accesses to the subject's data.
      .where('action', '!=', 'audit.subject_report')
      .$if(before !== undefined, (query) => query.where('seq', '<', before!))
      .orderBy('seq', 'desc')
      .limit(limit)
      .execute();
    rows.push(...page);
    if (page.length < limit || rows.length >= REPORT_MAX) {
      return rows;
    }
    before = page.at(-1)!.seq;
  }
}

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
        operationId: 'searchAudit',
        summary: 'Search audit entries (newest first)',
        querystring: Type.Object(
          {
            ...PageQuery,
            client_id: Type.Optional(Type.String({ format: 'uuid' })),
            action: Type.Optional(Type.String({ maxLength: 80 })),
            resource_type: Type.Optional(Type.String({ maxLength: 40 })),
            resource_id: Type.Optional(Type.String({ maxLength: 100 })),
            subject_id: Type.Optional(
              Type.String({
                format: 'uuid',
                description: 'Accesses that returned this record (a person or household id)',
              }),
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
      const before = events.after(q.cursor);
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
      const page = events.page(rows, limit, (row) => String(row.seq));
      request.auditNote = { recordCount: page.items.length };
      return { ...page, items: page.items.map((row) => ({ ...row, at: row.at.toISOString() })) };
    },
  );

  app.get(
    '/audit/subjects/:id',
    {
      config: auditRead('audit.subject_report'),
      schema: {
        tags: ['audit'],
        operationId: 'getSubjectAccessReport',
        summary:
          "A data subject's access report: which systems accessed this person's or household's data, when, why",
        description:
          'Accesses that returned the record or named it as their resource, newest first (at most 5,000), summed up by ' +
          'system; `format=csv` answers the entries as a CSV file to hand to the data subject.',
        params: Type.Object({ id: Type.String({ format: 'uuid', description: 'A person or household id' }) }),
        querystring: Type.Object(
          { format: Type.Optional(Type.String({ enum: ['json', 'csv'], default: 'json' })) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            subject_id: Type.String(),
            accesses: Type.Integer(),
            by_client: Type.Array(
              Type.Object({
                client_id: Type.Union([Type.String(), Type.Null()]),
                client_name: Type.Union([Type.String(), Type.Null()]),
                accesses: Type.Integer(),
                first_at: Type.String({ format: 'date-time' }),
                last_at: Type.String({ format: 'date-time' }),
                purposes: Type.Array(Type.String()),
              }),
            ),
            entries: Type.Array(
              Type.Object({
                at: Type.String({ format: 'date-time' }),
                client_name: Type.Union([Type.String(), Type.Null()]),
                action: Type.String(),
                purpose: Type.Union([Type.String(), Type.Null()]),
                legal_basis: Type.Union([Type.String(), Type.Null()]),
                outcome: Type.String(),
              }),
            ),
          }),
          400: { $ref: 'Problem#' },
        },
      },
    },
    async (request, reply) => {
      const subject = request.params.id;
      const rows = await accessesOf(db, subject);
      request.auditNote = { resourceId: subject, recordCount: rows.length };
      const entries = rows.map((row) => ({
        at: row.at.toISOString(),
        client_name: row.client_name,
        action: row.action,
        purpose: row.purpose,
        legal_basis: row.legal_basis,
        outcome: row.outcome,
      }));
      if (request.query.format === 'csv') {
        return reply
          .header('content-type', 'text/csv; charset=utf-8')
          .header(
            'content-disposition',
            `attachment; filename="access-report-${subject.replace(/[^\w-]/g, '_')}.csv"`,
          )
          .send(
            stringify(entries, {
              header: true,
              columns: ['at', 'client_name', 'action', 'purpose', 'legal_basis', 'outcome'],
            }),
          );
      }
      const byClient = new Map<
        string,
        {
          client_id: string | null;
          client_name: string | null;
          accesses: number;
          first_at: string;
          last_at: string;
          purposes: Set<string>;
        }
      >();
      for (const row of rows) {
        const key = row.client_id ?? '';
        const seen = byClient.get(key) ?? {
          client_id: row.client_id,
          client_name: row.client_name,
          accesses: 0,
          first_at: row.at.toISOString(),
          last_at: row.at.toISOString(),
          purposes: new Set<string>(),
        };
        seen.accesses += 1;
        seen.first_at = row.at.toISOString(); // newest first: the last one seen is the earliest
        if (row.purpose) {
          seen.purposes.add(row.purpose);
        }
        byClient.set(key, seen);
      }
      return {
        subject_id: subject,
        accesses: rows.length,
        by_client: [...byClient.values()].map((c) => ({ ...c, purposes: [...c.purposes].sort() })),
        entries,
      };
    },
  );

  app.get(
    '/audit/verify',
    {
      config: auditRead('audit.verify'),
      schema: {
        tags: ['audit'],
        operationId: 'verifyAuditChain',
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
