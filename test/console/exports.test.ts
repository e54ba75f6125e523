import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '#test/app';
import { insertArea, insertHousehold } from '#test/factories';
import { hasBrowser, openConsole, screenshot, seriousViolations } from './browser.ts';

/**
 * The console's export designer in headless Chromium: a definition designed (entity, fields with
 * their policy class, a filter, a format), errors by the field, saved as versions, previewed in CSV,
 * with the API and CLI calls that run it.
 */

let t: TestApp;
let browser: Browser;
let page: Page;

describe.skipIf(!hasBrowser)('export designer in the console', () => {
  beforeAll(async () => {
    t = await createTestApp();
    await insertArea(t.database.db, 'R07');
    for (const pmt of [12.5, 18, 55]) {
      await insertHousehold(t.database.db, { admin_area_code: 'R07', pmt_score: pmt });
    }
    ({ browser, page } = await openConsole(t, 'exports', { width: 1280, height: 1000 }));
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('designs a definition; a filter that is not JSON, or names no field, is refused by the field', async () => {
    await page.getByRole('heading', { name: 'Export definitions', level: 1 }).waitFor();
    await page.getByLabel('Name').fill('poor-households');
    const fields = page.getByRole('combobox', { name: 'Fields' });
    for (const field of ['id', 'admin_area_code', 'pmt_score (poverty_score)']) {
      await fields.click();
      await page.getByRole('option', { name: field, exact: true }).click();
    }
    await page.keyboard.press('Escape');
    await page.getByLabel('Filter').fill('{"pmt_score": ');
    await page.getByRole('button', { name: 'Save a version' }).click();
    await page.getByText('not JSON').waitFor();
    await page.getByLabel('Filter').fill('{"shoe_size": {"$lt": 30}}');
    await page.getByRole('button', { name: 'Save a version' }).click();
    await page
      .getByText(/shoe_size/)
      .first()
      .waitFor();
    await page.getByLabel('Filter').fill('{"pmt_score": {"$lt": 30}}');
    await page.getByRole('button', { name: 'Save a version' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved as version 1' }).waitFor();
  });

  it('previews the first rows and shows the calls that run it; saving again makes version 2', async () => {
    await page.getByLabel('Purpose').fill('targeting review');
    await page.getByRole('button', { name: 'Preview the first rows' }).click();
    const preview = (await page.getByTestId('preview').textContent())!;
    const [header, ...rows] = preview.trim().split(/\r?\n/);
    expect(header).toBe('id,admin_area_code,pmt_score');
    expect(rows).toHaveLength(2);
    await page
      .getByText(
        /^spx export --definition poor-households --out poor-households.csv --legal-basis public_task --purpose "targeting review"$/,
      )
      .waitFor();
    await page
      .getByText(
        /^curl -OJ -H "Authorization: Bearer \$KEY" "http:\/\/127\.0\.0\.1:\d+\/api\/v1\/export-definitions\/poor-households\/data\?legal_basis=public_task&format=csv&purpose=targeting\+review"$/,
      )
      .waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'exports');
    await page.getByRole('button', { name: 'Save a version' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved as version 2' }).waitFor();
    expect(await page.getByRole('table', { name: 'Versions' }).getByRole('row').count()).toBe(3);
  });
});
