import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findDefinition } from '#exports/definitions';
import { fieldNames } from '#exports/fields';
import { startExport } from '#exports/run';
import { BATCH_SIZE } from '#exports/source';
import { principalFor } from '#platform/auth/principal';
import { createExportTestApp, type ExportTestApp } from './support.ts';

/**
 * A download streams: the database is read a batch at a time as the client reads, so a slow
 * client holds the export back instead of the gateway buffering it, and a download that breaks
 * off is audited as not completed.
 */

let t: ExportTestApp;
let people: number;

beforeAll(async () => {
  t = await createExportTestApp(1000);
  // NDJSON: records shaped by the gateway in batches of BATCH_SIZE. (CSV is written by the
  // database, in larger batches, through the same pull-driven stream.)
  await t.define({
    name: 'people',
    entity: 'individuals',
    fields: ['id', 'household_id', 'sex', 'birth_year'],
    format: 'ndjson',
  });
  const count = await t.database.db
    .selectFrom('individuals')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirst();
  people = Number(count!.n);
  // Every field of every member: a few megabytes, more than the sockets between us buffer.
  await t.define({
    name: 'everything',
    entity: 'household_members',
    fields: fieldNames('household_members'),
    format: 'json',
  });
}, 120_000);
afterAll(() => t.close());

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('streaming', () => {
  it('reads no further ahead of a slow reader than a batch or two', async () => {
    expect(people).toBeGreaterThan(4 * BATCH_SIZE);
    const definition = (await findDefinition(t.database.db, 'people'))!;
    const principal = principalFor(
      { id: '00000000-0000-4000-8000-000000000001', name: 'reader', role: 'admin' },
      { id: 'k', scopes: ['registry:read'] },
    );
    const run = await startExport({ db: t.database.db, vault: t.vault, definition, principal });
    const reader = run.stream[Symbol.asyncIterator]();
    await reader.next();
    await wait(300);
    // The reader took one chunk: the export stopped soon after, far from the end.
    expect(run.rows()).toBeLessThanOrEqual(2 * BATCH_SIZE);
    let bytes = 0;
    for (let next = await reader.next(); !next.done; next = await reader.next()) {
      bytes += (next.value as Buffer).length;
    }
    expect(bytes).toBeGreaterThan(0);
    expect(run.rows()).toBe(people);
  });

  it('audits an export the client abandoned as not completed', async () => {
    const address = await t.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = new URL(address);
    const received = await new Promise<number>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path: '/api/v1/export-definitions/everything/data?legal_basis=public_task',
          headers: {
            authorization: `Bearer ${t.adminKey}`,
            'x-purpose': 'abandoned download',
            'x-request-id': 'abandoned-1',
          },
        },
        (res) => {
          // Read one chunk, stop reading (the server fills the socket and waits), then go away.
          res.once('data', (chunk: Buffer) => {
            res.pause();
            setTimeout(() => {
              req.destroy();
              resolve(chunk.length);
            }, 500);
          });
        },
      );
      req.on('error', (error) => (error.message.includes('socket hang up') ? undefined : reject(error)));
      req.end();
    });
    expect(received).toBeGreaterThan(0);
    await expect
      .poll(
        async () => {
          const audit = await t.send('GET', '/api/v1/audit?action=export.download.done');
          return audit
            .json<{ items: Record<string, unknown>[] }>()
            .items.find((e) => e['request_id'] === 'abandoned-1');
        },
        { timeout: 10_000 },
      )
      .toMatchObject({ outcome: 'error', purpose: 'abandoned download' });
    const audit = await t.send('GET', '/api/v1/audit?action=export.download.done');
    const entry = audit
      .json<{ items: Record<string, unknown>[] }>()
      .items.find((e) => e['request_id'] === 'abandoned-1')!;
    // Records handed to the connection before it broke (the sockets may have taken them all).
    expect(entry['record_count']).toBeLessThanOrEqual(people);
  });
});
