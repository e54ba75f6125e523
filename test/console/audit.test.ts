import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '#test/app';
import { insertHousehold, insertIndividual } from '#test/factories';
import { newClient } from '#test/clients';
import { hasBrowser, openConsole, screenshot, seriousViolations } from './browser.ts';

/**
 * The console's audit page in headless Chromium: verify the hash chain, a data subject's access
 * report with its CSV, and a search by system.
 */

let t: TestApp;
let browser: Browser;
let page: Page;
let person: string;

describe.skipIf(!hasBrowser)('audit in the console', () => {
  beforeAll(async () => {
    t = await createTestApp();
    person = await insertIndividual(t.database.db, await insertHousehold(t.database.db));
    const mis = await newClient(t, 'integrator');
    await t.get(`/api/v1/individuals/${person}`, mis.key, { 'x-purpose': 'case review' });
    ({ browser, page } = await openConsole(t, 'audit', { width: 1280, height: 900 }));
    page.setDefaultTimeout(10_000);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('verifies the hash chain', async () => {
    await page.getByRole('heading', { name: 'Audit trail', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Verify the hash chain' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: /The chain is intact: entries checked \(\d+\)/ })
      .waitFor();
  });

  it("shows a data subject's access report, with its CSV", async () => {
    await page.getByLabel('Data subject (person or household id)').first().fill(person);
    await page.getByRole('button', { name: 'Show the report' }).click();
    await page.getByRole('status').filter({ hasText: 'Accesses found: 1' }).waitFor();
    const report = page.getByRole('table', { name: 'Access report for a data subject' });
    await report.getByRole('cell', { name: 'case review' }).waitFor();
    const href = await page.getByRole('link', { name: 'Download the report (CSV)' }).getAttribute('href');
    const csv = await page.evaluate(async (url) => (await fetch(url!)).text(), href);
    expect(csv.split('\n')[0]).toBe('at,client_name,action,purpose,legal_basis,outcome');
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'audit');
  });

  it('searches the trail by operation', async () => {
    await page.getByLabel('Operation').fill('individual.read');
    await page.getByRole('button', { name: 'Search' }).click();
    const entries = page.getByRole('table', { name: 'Audit entries' });
    await entries.getByRole('cell', { name: 'case review' }).waitFor();
    expect(await entries.getByRole('row').count()).toBe(2);
  });

  it('answers bad input next to the field it concerns', async () => {
    const search = page.getByRole('form', { name: 'Search the audit trail' });
    await search.getByLabel('Data subject (person or household id)').fill('not-an-id');
    await search.getByRole('button', { name: 'Search' }).click();
    await search.locator('.mantine-TextInput-error').filter({ hasText: /uuid/ }).waitFor();
    await search.getByLabel('Data subject (person or household id)').fill('');
    await search.getByLabel('From').fill('2026-13-45');
    await search.getByRole('button', { name: 'Search' }).click();
    await search
      .locator('.mantine-TextInput-error')
      .filter({ hasText: /date-time/ })
      .waitFor();
    await search.getByLabel('From').fill('');

    const report = page.getByRole('form', { name: 'Access report for a data subject' });
    await report.getByLabel('Data subject (person or household id)').fill('not-an-id');
    await report.getByRole('button', { name: 'Show the report' }).click();
    await report.locator('.mantine-TextInput-error').filter({ hasText: /uuid/ }).waitFor();
    expect(await seriousViolations(page)).toEqual([]);
  });
});
