import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createConfig, lintFromString, type NormalizedProblem } from '@redocly/openapi-core';
import createClient from 'openapi-fetch';
import openapiTS, { astToString, type OpenAPI3 } from 'openapi-typescript';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '#test/app';

interface Operation {
  operationId?: string;
  security?: unknown[];
  parameters?: unknown[];
  requestBody?: unknown;
  responses: Record<string, unknown>;
}
type Document = Omit<OpenAPI3, 'paths'> & { paths: Record<string, Record<string, Operation>> };

/** camelCase, a verb first: `listHouseholds`, `searchSocialRegistrySync`. */
const OPERATION_ID = /^[a-z]+[A-Z][A-Za-z0-9]*$/;

/**
 * The OpenAPI document integrators generate clients from: it passes the Redocly linter's recommended
 * rules (the rules of `redocly lint`, run in-process), names every operation, and a client generated
 * from it (openapi-typescript types, openapi-fetch calls) type-checks and works.
 */
describe('the OpenAPI document', () => {
  let t: TestApp;
  let doc: Document;
  let operations: { method: string; path: string; op: Operation }[];

  beforeAll(async () => {
    t = await createTestApp();
    doc = (await t.get('/openapi.json')).json<Document>();
    operations = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, op]) => ({ method: method.toUpperCase(), path, op })),
    );
  });
  afterAll(() => t.close());

  const where = (problem: NormalizedProblem) => problem.location[0]?.pointer ?? '';
  const operationAt = (problem: NormalizedProblem) => {
    const [path, method] = where(problem)
      .replace(/^#\/paths\//, '')
      .split('/')
      .map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'));
    return doc.paths[path!]?.[method!];
  };

  /**
   * The two recommended warnings a route may have for a reason of its own. Without a 4xx: a public
   * route that takes nothing (no parameter, no body) has no client error to declare (/health, the
   * .well-known documents). Without a 2xx: a WebSocket upgrade succeeds with 101, a sign-in redirect
   * with 302.
   */
  const unavoidable = (problem: NormalizedProblem): boolean => {
    const op = operationAt(problem);
    if (problem.ruleId === 'operation-4xx-response') {
      return op?.security?.length === 0 && !op.parameters?.length && !op.requestBody;
    }
    if (problem.ruleId === 'operation-2xx-response') {
      return Object.keys(op?.responses ?? {}).some((status) => status === '101' || status.startsWith('3'));
    }
    return false;
  };

  it('passes the Redocly recommended rules: no error, and no warning but the unavoidable', async () => {
    const problems = await lintFromString({
      source: JSON.stringify(doc),
      absoluteRef: 'openapi.json',
      config: await createConfig({ extends: ['recommended'] }),
    });
    const found = problems
      .filter((problem) => !unavoidable(problem))
      .map((problem) => `${problem.severity} ${problem.ruleId} ${where(problem)}: ${problem.message}`);
    expect(found).toEqual([]);
    // The rules ran: the unavoidable warnings are there.
    expect(problems.map((problem) => problem.ruleId)).toContain('operation-4xx-response');
  });

  it('names every operation with a unique, readable operationId (one per DCI registry)', () => {
    const ids = operations.map(({ op }) => op.operationId);
    for (const { method, path, op } of operations) {
      expect(op.operationId, `${method} ${path}`).toMatch(OPERATION_ID);
    }
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(
      expect.arrayContaining(['listHouseholds', 'searchSocialRegistrySync', 'searchBeneficiaryRegistrySync']),
    );
  });

  it('declares that public routes need no credentials, and covers the OpenRosa API', () => {
    expect(doc.paths['/health']!['get']!.security).toEqual([]);
    expect(doc.paths['/oauth/token']!['post']!.security).toEqual([]);
    expect(Object.keys(doc.paths).filter((path) => path.startsWith('/odk/'))).toEqual(
      expect.arrayContaining(['/odk/formList', '/odk/forms/{formId}/form.xml', '/odk/submission']),
    );
    expect(doc.servers).toEqual([{ url: '/' }]);
  });

  it('generates a typed client (openapi-typescript) that type-checks and makes real calls (openapi-fetch)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spx-api-client-'));
    try {
      writeFileSync(join(dir, 'api.ts'), astToString(await openapiTS(doc)));
      writeFileSync(join(dir, 'calls.ts'), CALLS);
      expect(typeErrors(join(dir, 'calls.ts'))).toEqual([]);
      const js = ts.transpileModule(CALLS, { compilerOptions: COMPILER_OPTIONS }).outputText;
      writeFileSync(join(dir, 'calls.mjs'), js);
      const { twoCalls } = (await import(pathToFileURL(join(dir, 'calls.mjs')).href)) as {
        twoCalls: (api: unknown) => Promise<{ created: string; read: string }>;
      };

      await t.app.listen({ port: 0, host: '127.0.0.1' });
      const baseUrl = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
      const api = createClient({ baseUrl, headers: { authorization: `Bearer ${t.adminKey}` } });
      const answer = await twoCalls(api);
      expect(answer.read).toBe(answer.created);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/**
 * What an integrator writes against the generated types: two operations, typed by path and by
 * operationId. Only types are imported, so the compiled module needs nothing at run time; the
 * client is passed in.
 */
const CALLS = `
import type { Client } from 'openapi-fetch';
import type { operations, paths } from './api.ts';

type Registered = operations['createClient']['responses'][201]['content']['application/json'];

export async function twoCalls(api: Client<paths>): Promise<{ created: string; read: string }> {
  const created = await api.POST('/api/v1/clients', {
    body: { name: \`generated-\${Date.now()}\`, role: 'analyst' },
  });
  const client: Registered | undefined = created.data;
  if (!client) {
    throw new Error(\`createClient answered \${created.response.status}\`);
  }
  const read = await api.GET('/api/v1/clients/{id}', { params: { path: { id: client.id } } });
  return { created: client.id, read: read.data?.id ?? 'none' };
}
`;

const COMPILER_OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.ESNext,
  moduleResolution: ts.ModuleResolutionKind.Bundler,
  allowImportingTsExtensions: true,
  strict: true,
  noEmit: true,
  skipLibCheck: true,
  types: [],
  lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
  // The generated files lie outside the project: openapi-fetch's types are the project's.
  paths: {
    'openapi-fetch': [fileURLToPath(import.meta.resolve('openapi-fetch')).replace(/\.mjs$/, '.d.mts')],
  },
};

/** The TypeScript errors of a program (the file and what it imports), as text. */
function typeErrors(file: string): string[] {
  const program = ts.createProgram([file], COMPILER_OPTIONS);
  return ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
}
