import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { openDatabase } from '#platform/db/database';
import { migrate } from '#platform/db/migrate';
import { browserBroker } from './console/browser-server.ts';
import { databaseUrl, dropDatabase, onServer, TEMPLATE_SCHEMA } from './postgres.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    pgliteTemplate: string;
    postgresTemplate: string;
    browserBroker: string;
  }
}

/**
 * Runs once per `npm test`: builds the gateway into dist/ (the tests that spawn `spx` run it; only
 * changed files are written), migrates the template database that every test file starts from (see
 * test/db.ts), serves the run's one Chromium (test/console/browser-server.ts), and says which engine the run covers.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  execFileSync(process.execPath, ['bin/build.js'], { stdio: 'inherit' });
  const url = process.env['DATABASE_URL'];
  console.log(
    url
      ? `\n[spx] engine: PostgreSQL (${new URL(url).host}); each test file works in its own database\n`
      : '\n[spx] engine: PGlite (embedded). PostgreSQL tests SKIPPED: DATABASE_URL is not set\n',
  );
  const dir = mkdtempSync(join(tmpdir(), 'spx-test-'));
  const file = join(dir, 'pglite-template.tar');
  const template = `spx_template_${randomBytes(6).toString('hex')}`;
  if (url) {
    await onServer(url, `create database ${template}`);
    const database = await openDatabase({ url: databaseUrl(url, template), schema: TEMPLATE_SCHEMA });
    await migrate(database);
    await database.close();
  } else {
    const database = await openDatabase({ schema: 'public' });
    await migrate(database);
    writeFileSync(file, Buffer.from(await (await database.dumpDataDir!()).arrayBuffer()));
    await database.close();
  }
  project.provide('pgliteTemplate', file);
  project.provide('postgresTemplate', template);
  const browsers = await browserBroker();
  project.provide('browserBroker', browsers.url);
  return async () => {
    await browsers.close();
    rmSync(dir, { recursive: true, force: true });
    if (url) {
      await dropDatabase(url, template);
    }
  };
}
