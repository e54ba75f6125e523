import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyset, Keys } from '#platform/http/pagination';
import { createTestApp, type TestApp } from '../app.ts';

interface Parameter {
  in: string;
  name: string;
  required?: boolean;
  schema: { enum?: unknown[] };
}
interface Operation {
  parameters?: Parameter[];
}

const ZERO_ID = '00000000-0000-4000-8000-000000000000';
const AUDIT = '/api/v1/audit';

/**
 * Every list that pages with a cursor, found in the OpenAPI document so that a new one is covered
 * without editing this file: a cursor it did not issue, malformed or another list's (a well-formed
 * cursor of each key shape), is a 400 problem naming `cursor`, never a page. A route that ignored or
 * merely decoded the cursor would answer 200 here.
 */
describe('a cursor a list did not issue', () => {
  let t: TestApp;
  let lists: { path: string; op: Operation }[];
  let auditCursor: string;

  beforeAll(async () => {
    t = await createTestApp();
    const doc = (await t.get('/openapi.json')).json<{ paths: Record<string, Record<string, Operation>> }>();
    lists = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods)
        .filter(([method, op]) => method === 'get' && queryOf(op).some((p) => p.name === 'cursor'))
        .map(([, op]) => ({ path, op })),
    );
    // Two audited calls leave two audit entries: a page of one has a next cursor.
    await t.get('/api/v1/households', t.adminKey);
    await t.get('/api/v1/households', t.adminKey);
    auditCursor = (await t.get(`${AUDIT}?limit=1`, t.adminKey)).json<{ next_cursor: string }>().next_cursor;
  });
  afterAll(() => t.close());

  const queryOf = (op: Operation) => (op.parameters ?? []).filter((p) => p.in === 'query');
  const url = (path: string, op: Operation, cursor: string) =>
    `${path.replace(/\{[^}]+\}/g, ZERO_ID)}?${queryOf(op)
      .filter((p) => p.required && p.name !== 'cursor')
      .map((p) => `${p.name}=${String(p.schema.enum?.[0] ?? 'x')}&`)
      .join('')}cursor=${encodeURIComponent(cursor)}`;

  it('finds the paginated lists', () => {
    expect(auditCursor).toEqual(expect.any(String));
    expect(lists.map((l) => l.path)).toEqual(
      expect.arrayContaining(['/api/v1/households', '/api/v1/individuals', AUDIT, '/api/v1/dci/deliveries']),
    );
  });

  it('is refused by every list with a 400 naming cursor', async () => {
    const foreign = keyset('test.elsewhere', Keys.id);
    const cursors: [string, string][] = [
      ['malformed', 'bm90IGEgY3Vyc29y'],
      ['a row id of another list', foreign.cursor(ZERO_ID)],
      ['a sequence number of another list', keyset('test.elsewhere', Keys.seq).cursor('1')],
      [
        'a time and id of another list',
        keyset('test.elsewhere', Keys.timeAndId).cursor({ at: new Date(0), id: ZERO_ID }),
      ],
    ];
    const checked: string[] = [];
    for (const { path, op } of lists) {
      const own = path === AUDIT ? [] : [['the audit list’s', auditCursor] as [string, string]];
      for (const [what, cursor] of [...cursors, ...own]) {
        const res = await t.get(url(path, op, cursor), t.adminKey);
        if (res.statusCode === 426) {
          continue; // a WebSocket: it closes on a cursor it never gave (test/exports/feed.test.ts)
        }
        const where = `GET ${path} with ${what} cursor: ${res.body}`;
        expect(res.statusCode, where).toBe(400);
        expect(res.headers['content-type'], where).toMatch(/^application\/problem\+json/);
        expect(res.json<{ errors?: { pointer: string }[] }>().errors, where).toEqual([
          expect.objectContaining({ pointer: 'cursor' }),
        ]);
        checked.push(path);
      }
    }
    expect(new Set(checked).size).toBeGreaterThanOrEqual(7);
  });
});
