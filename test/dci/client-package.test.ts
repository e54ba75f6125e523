import { execFile } from 'node:child_process';
import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedRegistry } from './fixtures.ts';
import { createDciApp, type DciTestApp } from './harness.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PACKAGE = join(ROOT, 'packages/dci-client');

/**
 * What an integrator does with the DCI client package, outside this repository: `npm pack`, install the
 * tarball into a plain Node project, import it from a .mjs script that searches the gateway (on
 * 127.0.0.1) and checks the answer's signature against the gateway's JWKS.
 *
 * Offline by construction: the package is packed from a copy (its `prepack` builds dist/ there, never
 * in the repository, where running gateways read it), and the project installs the tarball together
 * with the package's dependencies as folders of this repository's node_modules, with an empty npm
 * cache and --offline: npm resolves everything locally, so no registry and no warm cache is needed.
 */
async function installedPackage(work: string): Promise<string> {
  const copy = join(work, 'package');
  cpSync(PACKAGE, copy, { recursive: true, filter: (path) => !/[/\\](dist|node_modules)$/.test(path) });
  // The build's tools and types (typescript, @types/node, jose) come from the repository.
  symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'), 'dir');
  await run('npm', ['pack', '--pack-destination', work, '--cache', join(work, 'cache')], { cwd: copy });
  const tarball = readdirSync(work).find((name) => name.endsWith('.tgz'))!;
  const project = join(work, 'integrator');
  mkdirSync(project);
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name: 'integrator', private: true, type: 'module' }),
  );
  const { dependencies } = JSON.parse(readFileSync(join(PACKAGE, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  const local = Object.keys(dependencies).map((name) => join(ROOT, 'node_modules', name));
  const offline = ['--offline', '--no-package-lock', '--ignore-scripts', '--no-audit', '--no-fund'];
  await run('npm', ['install', ...offline, '--cache', join(work, 'cache'), ...local, join(work, tarball)], {
    cwd: project,
  });
  return project;
}

/** The integrator's script: searches with the client, then checks the signature with the helper. */
const SCRIPT = `
import { DciClient, DciMessageError, verifySignature } from '@spx/dci-client';
const [base, apiKey] = process.argv.slice(2);
const jwks = base + '/.well-known/jwks.json';
const client = new DciClient({ baseUrl: base + '/dci/sr', apiKey, senderId: 'mis.example.org', registryKeys: jwks });
const criteria = { reg_record_type: 'Group', query_type: 'idtype-value', query: { type: 'UIN', value: 'UIN-A1' } };
const answer = await client.syncSearch([{ criteria }]);
const signed = await verifySignature(answer, jwks, { senderId: 'spx' });
const tampered = structuredClone(answer);
tampered.message.search_response[0].pagination.total_count += 1;
const refused = await verifySignature(tampered, jwks).catch((error) => error);
console.log(JSON.stringify({
  item: answer.message.search_response[0],
  kid: signed.kid,
  refused: { code: refused.code, isMessageError: refused instanceof DciMessageError, message: refused.message },
}));
`;

describe('the DCI client as a package', () => {
  let t: DciTestApp;
  let origin: string;
  let project: string;
  const work = mkdtempSync(join(tmpdir(), 'spx-dci-client-'));

  beforeAll(async () => {
    const app = (async () => {
      t = await createDciApp();
      await seedRegistry(t.database.db);
      origin = await t.app.listen({ host: '127.0.0.1', port: 0 });
    })();
    [project] = await Promise.all([installedPackage(work), app]);
  }, 120_000);
  afterAll(async () => {
    rmSync(work, { recursive: true, force: true });
    await t.close();
  });

  it('is packed with its build, installed offline, and searches and verifies from a plain Node project', async () => {
    const installed = join(project, 'node_modules/@spx/dci-client');
    expect(readdirSync(join(installed, 'dist'))).toEqual(expect.arrayContaining(['index.js', 'index.d.ts']));
    writeFileSync(join(project, 'search.mjs'), SCRIPT);
    const { key } = await t.clientFor('integrator');
    const { stdout } = await run('node', ['search.mjs', origin, key], { cwd: project });
    const result = JSON.parse(stdout) as Record<string, Record<string, unknown>>;
    expect(result['item']).toMatchObject({ status: 'succ', pagination: { total_count: 1 } });
    expect(result['kid']).toMatchObject({ senderId: 'spx', algorithm: 'ed25519' });
    expect(result['refused']).toMatchObject({
      code: 'err.signature.invalid',
      isMessageError: true,
      message: expect.stringContaining('does not match'),
    });
  });
});
