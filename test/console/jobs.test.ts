import type { AddressInfo } from 'node:net';
import { Type } from '@sinclair/typebox';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineJobKind } from '#platform/jobs/kind';
import { createTestApp, type TestApp } from '#test/app';
import { ensureConsoleBuilt, hasBrowser, launchBrowser, screenshot, seriousViolations } from './browser.ts';

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
    await ensureConsoleBuilt();
    // No workers: the job waits in the queue until it is cancelled.
    t = await createTestApp({}, [waiting]);
    jobId = await t.app.jobs.enqueue(waiting, {});
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 }, bypassCSP: true });
    await page.goto(`http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}/console/#jobs`);
    await page.getByLabel('API key').fill(t.adminKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
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
