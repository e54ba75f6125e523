import { Type } from '@sinclair/typebox';
import { Readable } from 'node:stream';
import type { Kysely } from 'kysely';
import type { DB } from '#platform/db/types';
import { keyset, Keys, Page, PageQuery } from '#platform/http/pagination';
import type { App } from '#platform/http/types';
import { accessTo, problems, StringEnum } from '#platform/http/kit';
import { stringify } from 'csv-stringify/sync';
import { verifyAuditChain } from '#platform/audit/audit-log';
import { searchAudit, subjectAccesses, subjectAccessesByClient } from './queries.ts';

/** The cursors of the audit event list and of a subject's report (newest first). */
const events = keyset('audit.events', Keys.seq);
const subjectEvents = keyset('audit.subject_accesses', Keys.seq);

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

/**
 * Entries the CSV report reads per query: 5,000 at once took PGlite (on our thread) some 200 ms, in
 * which no other request was served (platform/http/long-reads.ts).
 */
const CSV_SLICE = 500;
const CSV_COLUMNS = ['at', 'client_name', 'action', 'purpose', 'legal_basis', 'outcome'];

type AccessRow = Awaited<ReturnType<typeof subjectAccesses>>[number];

const accessView = (row: AccessRow) => ({
  at: row.at.toISOString(),
  client_name: row.client_name,
  action: row.action,
  purpose: row.purpose,
  legal_basis: row.legal_basis,
  outcome: row.outcome,
});

/** Every access to a subject's data as CSV lines, newest first, read a slice at a time. */
async function* accessesCsv(db: Kysely<DB>, subject: string): AsyncGenerator<string> {
  let beforeSeq: number | undefined;
  let header = true;
  for (;;) {
    const rows = await subjectAccesses(db, subject, { beforeSeq, limit: CSV_SLICE });
    const slice = rows.slice(0, CSV_SLICE);
    yield stringify(slice.map(accessView), { header, columns: CSV_COLUMNS });
    header = false;
    const last = slice.at(-1);
    if (rows.length <= CSV_SLICE || !last) {
      return;
    }
    beforeSeq = last.seq;
  }
}

/** The accesses to a subject's data summed up by client (all of them), for the report. */
async function summaryOf(db: Kysely<DB>, subject: string) {
  const rows = await subjectAccessesByClient(db, subject);
  const byClient = rows.map((row) => ({
    client_id: row.client_id,
    client_name: row.client_name,
    accesses: Number(row.accesses),
    first_at: new Date(row.first_at).toISOString(),
    last_at: new Date(row.last_at).toISOString(),
    purposes: row.purposes.filter((purpose): purpose is string => purpose !== null),
  }));
  return { accesses: byClient.reduce((sum, c) => sum + c.accesses, 0), by_client: byClient };
}

const auditRead = accessTo('audit:read', 'audit_log');

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
            outcome: Type.Optional(StringEnum(['success', 'denied', 'error', 'invalid'])),
            from: Type.Optional(Type.String({ format: 'date-time' })),
            to: Type.Optional(Type.String({ format: 'date-time' })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Page(Entry), ...problems(400) },
      },
    },
    async (request) => {
      const q = request.query;
      const limit = q.limit ?? 50;
      const before = events.after(q.cursor);
      const rows = await searchAudit(db, {
        clientId: q.client_id,
        action: q.action,
        resourceType: q.resource_type,
        resourceId: q.resource_id,
        subjectId: q.subject_id,
        outcome: q.outcome,
        from: q.from === undefined ? undefined : new Date(q.from),
        to: q.to === undefined ? undefined : new Date(q.to),
        beforeSeq: before === undefined ? undefined : Number(before),
        limit,
      });
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
          'Accesses that returned the record or named it as their resource, summed up by system (all of them), and ' +
          'a page of them, newest first; `format=csv` answers every entry as a CSV file to hand to the data subject.',
        params: Type.Object({ id: Type.String({ format: 'uuid', description: 'A person or household id' }) }),
        querystring: Type.Object(
          { format: Type.Optional(StringEnum(['json', 'csv'], { default: 'json' })), ...PageQuery },
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
            next_cursor: Type.Union([Type.String(), Type.Null()], {
              description: 'The cursor of the next page of entries; null on the last page',
            }),
          }),
          ...problems(400),
        },
      },
    },
    async (request, reply) => {
      const subject = request.params.id;
      const { format, limit = 50, cursor } = request.query;
      if (format === 'csv') {
        const { accesses } = await summaryOf(db, subject);
        request.auditNote = { resourceId: subject, recordCount: accesses };
        return reply
          .header('content-type', 'text/csv; charset=utf-8')
          .header(
            'content-disposition',
            `attachment; filename="access-report-${subject.replace(/[^\w-]/g, '_')}.csv"`,
          )
          .send(Readable.from(accessesCsv(db, subject)));
      }
      const before = subjectEvents.after(cursor);
      const rows = await subjectAccesses(db, subject, {
        beforeSeq: before === undefined ? undefined : Number(before),
        limit,
      });
      const page = subjectEvents.page(rows, limit, (row) => String(row.seq));
      request.auditNote = { resourceId: subject, recordCount: page.items.length };
      return {
        subject_id: subject,
        ...(await summaryOf(db, subject)),
        entries: page.items.map(accessView),
        next_cursor: page.next_cursor,
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
