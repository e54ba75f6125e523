import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '#test/app';

interface Schema {
  type?: string;
  format?: string;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  properties?: Record<string, Schema>;
  items?: Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  additionalProperties?: boolean | Schema;
}

interface Parameter {
  in: string;
  name: string;
  required?: boolean;
  schema: Schema;
}

interface Operation {
  parameters?: Parameter[];
  requestBody?: { content?: Record<string, { schema?: Schema }> };
  responses?: Record<
    string,
    { content?: Record<string, { schema?: { properties?: Record<string, unknown> } }> }
  >;
}

/** The OAuth token endpoint declares RFC 6749 §5.2 errors (`{ error, error_description }`) instead of problems. */
const declaresOAuthErrors = (op: Operation): boolean =>
  op.responses?.['400']?.content?.['application/json']?.schema?.properties?.['error'] !== undefined;

/** A value a parameter takes: what a required query parameter is given while another is probed. */
function example(schema: Schema): string {
  if (schema.enum) {
    return String(schema.enum[0]);
  }
  if (schema.type === 'integer' || schema.type === 'number') {
    return String(schema.minimum ?? 1);
  }
  if (schema.type === 'boolean') {
    return 'true';
  }
  return schema.format === 'uuid' ? ZERO_ID : schema.format === 'date-time' ? '2026-01-01T00:00:00Z' : 'x';
}

const ZERO_ID = '00000000-0000-4000-8000-000000000000';

/** Every integer and number schema within a schema, with where it lies. */
function numbersIn(schema: Schema | undefined, at: string): [string, Schema][] {
  if (!schema) {
    return [];
  }
  const own: [string, Schema][] = schema.type === 'integer' || schema.type === 'number' ? [[at, schema]] : [];
  const extra = typeof schema.additionalProperties === 'object' ? [schema.additionalProperties] : [];
  return [
    ...own,
    ...Object.entries(schema.properties ?? {}).flatMap(([name, child]) => numbersIn(child, `${at}/${name}`)),
    ...numbersIn(schema.items, `${at}/*`),
    ...[...(schema.anyOf ?? []), ...(schema.oneOf ?? []), ...(schema.allOf ?? []), ...extra].flatMap(
      (child) => numbersIn(child, at),
    ),
  ];
}

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
 * problem with details, and nothing is written. The values the defects fuzz turned into 500s (issue
 * item 16) are sent to every operation too: the NUL character in path parameters, query values and
 * JSON bodies (values and property names), numbers no column holds in numeric query parameters, and
 * a crafted cursor; each is a 400 naming the field, whatever the answer's format (problem, DCI
 * error, OpenRosa message).
 */
describe('bad input on every route', () => {
  let t: TestApp;
  let operations: { method: string; path: string; op: Operation }[];

  beforeAll(async () => {
    t = await createTestApp();
    const doc = (await t.get('/openapi.json')).json<{ paths: Record<string, Record<string, Operation>> }>();
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

  const concrete = (path: string) => path.replace(/\{[^}]+\}/g, ZERO_ID);
  const queryParameters = (op: Operation) => (op.parameters ?? []).filter((p) => p.in === 'query');
  /** The operation's required query parameters, each with a value it takes, but `except`. */
  const requiredQuery = (op: Operation, except: string) =>
    queryParameters(op)
      .filter((p) => p.required && p.name !== except)
      .map((p) => `${p.name}=${encodeURIComponent(example(p.schema))}&`)
      .join('');
  /** A 400 whose text names the field (every answer format carries the pointer or name as text). */
  const expectRefusal = (
    res: { statusCode: number; body: string },
    name: string,
    what: string,
    detail: RegExp,
  ) => {
    expect(res.statusCode, `${what}: ${res.body}`).toBe(400);
    expect(res.body, what).toContain(name);
    expect(res.body, what).toMatch(detail);
  };
  const withBody = (method: string) => method === 'POST' || method === 'PUT' || method === 'PATCH';

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

  it('refuses the NUL character in every path parameter and query value, naming it', async () => {
    for (const { method, path, op } of operations) {
      const body = withBody(method) ? '{}' : undefined;
      for (const param of (op.parameters ?? []).filter((p) => p.in === 'path')) {
        const url = concrete(path.replace(`{${param.name}}`, 'a%00b'));
        expectRefusal(await call(method, url, body), param.name, `${method} ${path} ${param.name}`, /NUL/);
      }
      for (const param of queryParameters(op)) {
        const url = `${concrete(path)}?${requiredQuery(op, param.name)}${param.name}=a%00b`;
        expectRefusal(await call(method, url, body), param.name, `${method} ${path} ?${param.name}`, /NUL/);
      }
    }
  });

  it('refuses the NUL character in a JSON body value or property name, naming where, and writes nothing', async () => {
    const succeeded = async () =>
      (
        await t.database.executeSql<{ n: number }>(
          `select count(*)::int as n from audit_log where outcome = 'success'`,
        )
      ).rows[0]!.n;
    const before = await succeeded();
    for (const { method, path } of operations.filter((o) => withBody(o.method))) {
      const what = `${method} ${path}`;
      expectRefusal(await call(method, concrete(path), '{"probe":"a\\u0000b"}'), '/probe', what, /NUL/);
      expectRefusal(await call(method, concrete(path), '{"a\\u0000b":1}'), '/', what, /property name.*NUL/);
    }
    expect(await succeeded()).toBe(before);
  });

  it('refuses numbers no column holds in every numeric query parameter, naming it', async () => {
    for (const { method, path, op } of operations) {
      for (const param of queryParameters(op).filter((p) => numbersIn(p.schema, '').length > 0)) {
        for (const value of ['1e309', '-1e309', '99999999999999999999']) {
          const url = `${concrete(path)}?${requiredQuery(op, param.name)}${param.name}=${value}`;
          const res = await call(method, url, withBody(method) ? '{}' : undefined);
          expectRefusal(
            res,
            param.name,
            `${method} ${path} ?${param.name}=${value}`,
            /finite|beyond|must be/,
          );
        }
      }
    }
  });

  it('declares the largest value of every integer or number it takes', () => {
    const unbounded = operations.flatMap(({ method, path, op }) =>
      [
        ...(op.parameters ?? []).flatMap((p) => numbersIn(p.schema, p.name)),
        ...Object.values(op.requestBody?.content ?? {}).flatMap((c) => numbersIn(c.schema, 'body')),
      ]
        .filter(([, schema]) => schema.maximum === undefined)
        .map(([at]) => `${method} ${path} ${at}`),
    );
    expect(unbounded).toEqual([]);
  });

  it('refuses a crafted cursor with a 400 naming it', async () => {
    // {"k":"' or 1=1--"}: a cursor of the right encoding whose key is no key of any list.
    const crafted = [
      'eyJrIjoiJyBvciAxPTEtLSJ9',
      Buffer.from('{"k":"2026-01-01T00:00:00.000Z|x"}').toString('base64url'),
    ];
    for (const { method, path, op } of operations.filter((o) =>
      queryParameters(o.op).some((p) => p.name === 'cursor'),
    )) {
      for (const cursor of crafted) {
        const url = `${concrete(path)}?${requiredQuery(op, 'cursor')}cursor=${cursor}`;
        const res = await call(method, url);
        if (res.statusCode === 426) {
          continue; // a WebSocket: it closes on a cursor it never gave (test/exports/feed.test.ts)
        }
        expectRefusal(res, 'cursor', `${method} ${path} cursor=${cursor}`, /cursor/);
      }
    }
  });
});
