import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { openDatabase } from '#platform/db/database';
import { migrate } from '#platform/db/migrate';

declare module 'vitest' {
  export interface ProvidedContext {
    pgliteTemplate: string;
  }
}

/**
 * Runs once per `npm test`: builds the gateway into dist/ (the tests that spawn `spx` run it; only
 * changed files are written, and a spawned `spx` never runs stale code), builds a migrated PGlite data
 * directory that every test file starts from (initdb takes seconds; loading a dump a fraction of that),
 * and says which engine the run covers.
 */
export default async function setup(project: TestProject): Promise<() => void> {
  execFileSync(process.execPath, ['bin/build.js'], { stdio: 'inherit' });
  const url = process.env['DATABASE_URL'];
  console.log(
    url
      ? `\n[spx] engine: PostgreSQL (${new URL(url).host}); each test file works in its own schema\n`
      : '\n[spx] engine: PGlite (embedded). PostgreSQL tests SKIPPED: DATABASE_URL is not set\n',
  );
  const dir = mkdtempSync(join(tmpdir(), 'spx-test-'));
  const file = join(dir, 'pglite-template.tar');
  if (!url) {
    const database = await openDatabase({ schema: 'public' });
    await migrate(database);
    writeFileSync(file, Buffer.from(await (await database.dumpDataDir!()).arrayBuffer()));
    await database.close();
  }
  project.provide('pgliteTemplate', file);
  return () => rmSync(dir, { recursive: true, force: true });
}
