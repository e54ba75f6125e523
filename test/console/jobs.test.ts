import { Type } from '@sinclair/typebox';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineJobKind } from '#platform/jobs/kind';
import { createTestApp, type TestApp } from '#test/app';
import { hasBrowser, openConsole, screenshot, seriousViolations } from './browser.ts';

/** The console's jobs page in headless Chromium: a waiting job is listed with its progress and cancelled. */

const waiting = defineJobKind({
  name: 'test.waiting',
  payload: Type.Object({}),
  run: async () => ({ status: 'done' }),
});

let t: TestApp;
let browser: Browser;
let page: Page;
let jobId: string;

describe.skipIf(!hasBrowser)('jobs in the console', () => {
  beforeAll(async () => {
    // No workers: the job waits in the queue until it is cancelled.
    t = await createTestApp({}, [waiting]);
    jobId = await t.app.jobs.enqueue(waiting, {});
    ({ browser, page } = await openConsole(t, 'jobs'));
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('lists a waiting job and cancels it', async () => {
    await page.getByRole('heading', { name: 'Jobs', level: 1 }).waitFor();
    await page.getByRole('cell', { name: 'test.waiting', exact: true }).waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'jobs');
    await page.getByRole('button', { name: `Cancel test.waiting ${jobId}` }).click();
    await page.getByRole('cell', { name: 'cancelled', exact: true }).waitFor();
    const job = await t.get(`/api/v1/jobs/${jobId}`, t.adminKey);
    expect(job.json()).toMatchObject({ status: 'cancelled' });
  });
});
