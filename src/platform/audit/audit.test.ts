import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '#test/app';
import { insertHousehold, insertIndividual } from '#test/factories';
import { AuditWriter, insertText, recordAudit, verifyAuditChain } from './audit-log.ts';

describe('audit trail', () => {
  let t: TestApp;
  let personId: string;
  beforeAll(async () => {
    t = await createTestApp();
    personId = await insertIndividual(t.database.db, await insertHousehold(t.database.db));
  });
  afterAll(() => t.close());

  const entries = (action: string) =>
    t.database.db.selectFrom('audit_log').selectAll().where('action', '=', action).orderBy('seq').execute();

  it('records every data access with client, purpose, resource, count and outcome', async () => {
    const res = await t.get(`/api/v1/individuals/${personId}`, t.adminKey, {
      'x-purpose': 'eligibility check',
      'x-request-id': 'req-audit-1',
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-request-id']).toBe('req-audit-1');
    const [entry] = (await entries('individual.read')).filter((e) => e.request_id === 'req-audit-1');
    expect(entry).toMatchObject({
      client_name: expect.stringMatching(/^admin-/),
      purpose: 'eligibility check',
      resource_type: 'individual',
      resource_id: personId,
      record_count: 1,
      outcome: 'success',
      status_code: 200,
    });
  });

  it('records denied and invalid attempts without counting records', async () => {
    await t.get('/api/v1/households', undefined, { 'x-request-id': 'req-denied' });
    await t.get('/api/v1/households?limit=9999', t.adminKey, { 'x-request-id': 'req-invalid' });
    const rows = await t.database.db
      .selectFrom('audit_log')
      .selectAll()
      .where('request_id', 'in', ['req-denied', 'req-invalid'])
      .orderBy('seq')
      .execute();
    expect(rows.map((r) => [r.request_id, r.outcome, r.record_count, r.client_id === null])).toEqual([
      ['req-denied', 'denied', 0, true],
      ['req-invalid', 'invalid', 0, false],
    ]);
  });

  it('keeps no personal data in audit rows', async () => {
    await t.get('/api/v1/individuals?identifier_type=UIN&identifier_value=SECRET-NID', t.adminKey);
    const rows = await t.database.db.selectFrom('audit_log').selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain('SECRET-NID');
    expect(JSON.stringify(rows)).not.toContain('Amina');
  });

  it('chains entries so that the chain verifies', async () => {
    const result = await verifyAuditChain(t.database.db);
    expect(result.ok).toBe(true);
    expect(result.checked).toBeGreaterThan(3);
    const api = await t.get('/api/v1/audit/verify', t.adminKey);
    expect(api.json()).toMatchObject({ ok: true });
  });

  it('keeps the chain linear under concurrent writers', async () => {
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        recordAudit(t.database.db, { action: 'test.concurrent', outcome: 'success', resourceId: String(i) }),
      ),
    );
    expect((await verifyAuditChain(t.database.db)).ok).toBe(true);
  });

  it('goes on from the real head when another writer appended after the batch writer', async () => {
    const writer = new AuditWriter(t.database.db);
    await writer.record({ action: 'test.interleaved', outcome: 'success', resourceId: 'a' });
    // Another writer (a job, another gateway) appends: the batch writer's remembered head is stale.
    await recordAudit(t.database.db, { action: 'test.interleaved', outcome: 'success', resourceId: 'b' });
    await writer.record({ action: 'test.interleaved', outcome: 'success', resourceId: 'c' });
    expect((await entries('test.interleaved')).map((row) => row.resource_id).sort()).toEqual(['a', 'b', 'c']);
    expect((await verifyAuditChain(t.database.db)).ok).toBe(true);
  });

  it('appends small batches as prepared statements on PostgreSQL, larger ones as they come', async () => {
    const prepared = await t.database.db.connection().execute(async (connection) => {
      const writer = new AuditWriter(connection);
      await writer.record({ action: 'test.prepared', outcome: 'success', resourceId: 'one' });
      // Submitted together: the first goes alone, the five others in one batch, beyond the
      // prepared shapes.
      await Promise.all(
        ['2', '3', '4', '5', '6', '7'].map((id) =>
          writer.record({ action: 'test.prepared', outcome: 'success', resourceId: id }),
        ),
      );
      await writer.record({ action: 'test.prepared', outcome: 'success', resourceId: 'eight' });
      if (t.database.engine !== 'postgres') {
        return [];
      }
      const { rows } = await sql<{ statement: string }>`select statement from pg_prepared_statements
        where name like 'spx\_%' and statement like '%audit_log%'`.execute(connection);
      return rows.map((row) => row.statement);
    });
    expect((await entries('test.prepared')).map((row) => row.resource_id)).toHaveLength(8);
    expect((await verifyAuditChain(t.database.db)).ok).toBe(true);
    if (t.database.engine === 'postgres') {
      // One shape: the batches of one entry (the batch of five was not prepared).
      expect(prepared).toHaveLength(1);
      expect(prepared[0]).toMatch(/^\/\* prepared \*\/ insert into "audit_log"/);
    }
  });

  it('writes rows alongside the entries of one batch; a column a row leaves out takes its default', async () => {
    const writer = new AuditWriter(t.database.db);
    const job = (id: string, progress?: number) => ({
      into: 'jobs' as const,
      values: {
        id,
        kind: 'test.alongside',
        status: 'queued',
        payload: JSON.stringify({ note: 'it\'s "quoted"' }),
        ...(progress === undefined ? {} : { progress_done: progress }),
      },
    });
    const ids = [crypto.randomUUID(), crypto.randomUUID()];
    // The first goes alone; the two with rows wait for it and go together. Were their statement
    // refused, the batch would be written entry by entry with the same outcome: the statement's
    // text (`default` for the missing column) is checked by the next test.
    await Promise.all([
      writer.record({ action: 'test.alongside', outcome: 'success', resourceId: 'none' }),
      writer.record({ action: 'test.alongside', outcome: 'success', resourceId: 'with' }, job(ids[0]!, 5)),
      writer.record({ action: 'test.alongside', outcome: 'success', resourceId: 'without' }, job(ids[1]!)),
    ]);
    const jobs = await t.database.db
      .selectFrom('jobs')
      .select(['id', 'progress_done', 'payload'])
      .where('kind', '=', 'test.alongside')
      .execute();
    expect(new Map(jobs.map((row) => [row.id, Number(row.progress_done)]))).toEqual(
      new Map([
        [ids[0], 5],
        [ids[1], 0],
      ]),
    );
    expect(jobs[0]!.payload).toEqual({ note: 'it\'s "quoted"' });
    expect((await entries('test.alongside')).map((row) => row.resource_id).sort()).toEqual([
      'none',
      'with',
      'without',
    ]);
    expect((await verifyAuditChain(t.database.db)).ok).toBe(true);
  });

  it('writes a multi-row insert with every column any row gives, and default where a row gives none', () => {
    const parameters: unknown[] = ['before'];
    const text = insertText(
      'jobs',
      [
        { id: 'a', kind: 'k', progress_done: 5 },
        { id: 'b', kind: 'k' },
      ],
      parameters,
    );
    expect(text).toBe(
      'insert into "jobs" ("id", "kind", "progress_done") values ($2, $3, $4), ($5, $6, default)',
    );
    expect(parameters).toEqual(['before', 'a', 'k', 5, 'b', 'k']);
    expect(() => insertText('jobs; drop table jobs', [{ id: 'a' }], [])).toThrow(/not a plain SQL name/);
  });

  it('refuses a second entry linked to the same one (no fork of the chain)', async () => {
    const [head] = await t.database.db
      .selectFrom('audit_log')
      .selectAll()
      .orderBy('seq', 'desc')
      .limit(1)
      .execute();
    const { seq: _seq, ...copy } = head!;
    await expect(
      t.database.db
        .insertInto('audit_log')
        .values({ ...copy, prev_hash: head!.prev_hash })
        .execute(),
    ).rejects.toMatchObject({ code: '23505' });
  });

  it('keeps the chain linear when concurrent requests are written in batches', async () => {
    const writer = new AuditWriter(t.database.db);
    await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        writer.record({ action: 'test.batched', outcome: 'success', resourceId: String(i) }),
      ),
    );
    const rows = await entries('test.batched');
    expect(rows).toHaveLength(30);
    expect((await verifyAuditChain(t.database.db)).ok).toBe(true);
    const concurrentRequests = await Promise.all(
      Array.from({ length: 12 }, () => t.get('/api/v1/programs', t.adminKey)),
    );
    expect(concurrentRequests.every((r) => r.statusCode === 200)).toBe(true);
    expect((await verifyAuditChain(t.database.db)).ok).toBe(true);
  });

  it('searches entries by client and action, newest first, page by page', async () => {
    const res = await t.get('/api/v1/audit?action=test.concurrent&limit=5', t.adminKey);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.items).toHaveLength(5);
    expect(body.items[0].seq).toBeGreaterThan(body.items[4].seq);
    const next = await t.get(
      `/api/v1/audit?action=test.concurrent&limit=50&cursor=${body.next_cursor}`,
      t.adminKey,
    );
    expect(next.json().items).toHaveLength(15);
    expect((await t.get('/api/v1/audit?outcome=maybe', t.adminKey)).statusCode).toBe(400);
    expect((await t.get('/api/v1/audit', await t.keyFor('integrator'))).statusCode).toBe(403);
  });

  it('detects an altered entry and a removed entry', async () => {
    const db = t.database.db;
    // An attacker with database access first has to switch the append-only trigger off.
    await sql`alter table audit_log disable trigger audit_log_no_update`.execute(db);
    const victim = (await entries('individual.read'))[0]!;
    await db.updateTable('audit_log').set({ record_count: 0 }).where('seq', '=', victim.seq).execute();
    const altered = await verifyAuditChain(db);
    expect(altered).toMatchObject({ ok: false, firstBrokenSeq: victim.seq });
    expect(altered.reason).toContain('altered');

    await db
      .updateTable('audit_log')
      .set({ record_count: victim.record_count })
      .where('seq', '=', victim.seq)
      .execute();
    expect((await verifyAuditChain(db)).ok).toBe(true);

    await db.deleteFrom('audit_log').where('seq', '=', victim.seq).execute();
    const removed = await verifyAuditChain(db);
    expect(removed.ok).toBe(false);
    expect(removed.reason).toContain('removed');
    await sql`alter table audit_log enable trigger audit_log_no_update`.execute(db);
  });
});
