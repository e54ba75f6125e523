import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './app.ts';

interface Operation {
  parameters?: { in: string; name: string; schema: { format?: string } }[];
  requestBody?: unknown;
  responses?: Record<
    string,
    { content?: Record<string, { schema?: { properties?: Record<string, unknown> } }> }
  >;
}

/** The OAuth token endpoint declares RFC 6749 §5.2 errors (`{ error, error_description }`) instead of problems. */
const declaresOAuthErrors = (op: Operation): boolean =>
  op.responses?.['400']?.content?.['application/json']?.schema?.properties?.['error'] !== undefined;

/**
 * The OpenRosa routes (/odk) answer every error as an OpenRosaResponse XML message, as the protocol
 * has it (ODK Collect shows its text to the field worker): the same 400, naming the same field, in
 * that format instead of a problem.
 */
const declaresOpenRosaErrors = (op: Operation): boolean =>
  op.responses?.['400']?.content?.['text/xml'] !== undefined;

/**
 * Every endpoint, found in the OpenAPI document so that a new route is covered without editing this
 * file: a malformed path id, an unknown query parameter and a malformed JSON body each get a 400
 * problem with details, and nothing is written.
 */
describe('bad input on every route', () => {
  let t: TestApp;
  let operations: { method: string; path: string; op: Operation }[];

  beforeAll(async () => {
    t = await createTestApp();
    const doc = (await t.get('/openapi.json')).json() as { paths: Record<string, Record<string, Operation>> };
    operations = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, op]) => ({ method: method.toUpperCase(), path, op })),
    );
  });
  afterAll(() => t.close());

  const call = (method: string, url: string, payload?: string) =>
    t.app.inject({
      method: method as 'GET',
      url,
      headers: {
        authorization: `Bearer ${t.adminKey}`,
        ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(payload === undefined ? {} : { payload }),
    });

  const concrete = (path: string) => path.replace(/\{[^}]+\}/g, '00000000-0000-4000-8000-000000000000');

  it('finds the API routes in the OpenAPI document', () => {
    expect(operations.length).toBeGreaterThan(10);
  });

  it('answers a malformed path id with a 400 problem naming the parameter', async () => {
    for (const { method, path } of operations.filter((o) => o.path.includes('{id}'))) {
      const res = await call(
        method,
        path.replace('{id}', 'not-an-id'),
        method === 'GET' || method === 'DELETE' ? undefined : '{}',
      );
      expect(res.statusCode, `${method} ${path}`).toBe(400);
      expect(res.json().errors?.[0]?.pointer, `${method} ${path}`).toBe('id');
    }
  });

  it('answers an unknown query parameter with a 400 problem', async () => {
    for (const { method, path, op } of operations.filter((o) =>
      o.op.parameters?.some((p) => p.in === 'query'),
    )) {
      const res = await call(method, `${concrete(path)}?no_such_filter=1`);
      expect(res.statusCode, `${method} ${path}`).toBe(400);
      if (declaresOpenRosaErrors(op)) {
        expect(res.body, `${method} ${path}`).toMatch(
          /<OpenRosaResponse .*no_such_filter: is not a known property/,
        );
        continue;
      }
      expect(res.json().errors, `${method} ${path}`).toContainEqual({
        pointer: 'no_such_filter',
        detail: 'is not a known property',
      });
      expect(op.parameters!.length).toBeGreaterThan(0);
    }
  });

  it('answers a malformed or wrongly typed JSON body with a 400 problem and writes nothing', async () => {
    const count = async () =>
      (
        await t.database.executeSql<{ n: number }>(
          'select (select count(*) from api_clients) + (select count(*) from api_keys) as n',
        )
      ).rows[0]!.n;
    const before = await count();
    for (const { method, path, op } of operations.filter((o) => o.op.requestBody)) {
      for (const payload of ['{"unterminated', '[1,2,3]', '"text"']) {
        const res = await call(method, concrete(path), payload);
        expect(res.statusCode, `${method} ${path} ${payload}`).toBe(400);
        if (declaresOAuthErrors(op)) {
          expect(res.json(), `${method} ${path} ${payload}`).toMatchObject({ error: 'invalid_request' });
        } else {
          expect(res.headers['content-type']).toContain('application/problem+json');
        }
      }
    }
    expect(await count()).toBe(before);
  });
});
