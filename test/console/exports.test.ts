import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, createKey } from '#platform/auth/clients';
import { createTestApp, type TestApp } from '#test/app';
import { insertArea, insertHousehold } from '#test/factories';
import { hasBrowser, openConsole, screenshot, seriousViolations } from './browser.ts';

/**
 * The console's export designer in headless Chromium: a definition designed (entity, fields with
 * their policy class, a filter, a format), errors by the field, saved as versions, previewed in CSV,
 * with the API and CLI calls that run it; definitions with their owners, and the approval of
 * versions that weaken privacy (docs/exports.md).
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

  it("shows owners and approvals: another's weakening version approved, one's own waits for someone else", async () => {
    // Another administrator's definition, pseudonymised and delivered on a schedule, and a version
    // of theirs that turns pseudonymisation off: it waits for approval.
    const client = await createClient(t.database.db, { name: 'dpo-office', role: 'admin' });
    const dpo = (await createKey(t.database.db, client, { expiresInDays: 1 })).key;
    const asDpo = (method: 'POST' | 'PUT', url: string, payload: object) =>
      t.app.inject({
        method,
        url: `/api/v1/export-definitions${url}`,
        headers: { authorization: `Bearer ${dpo}` },
        payload,
      });
    const monthly = {
      name: 'monthly',
      entity: 'households',
      fields: ['id', 'admin_area_code'],
      format: 'csv',
      pseudonymise: true,
      schedule: '0 2 * * 1',
      schedule_purpose: 'monthly targeting review',
      schedule_legal_basis: 'public_task',
    };
    expect((await asDpo('POST', '', monthly)).statusCode).toBe(201);
    expect((await asDpo('PUT', '/monthly', { ...monthly, pseudonymise: false })).statusCode).toBe(202);

    await page.reload();
    const list = page.getByRole('table', { name: 'Saved definitions' });
    await list.getByRole('row', { name: /^monthly households csv 1 dpo-office/ }).waitFor();
    await list.getByRole('button', { name: 'Open monthly' }).click();
    const versions = page.getByRole('table', { name: 'Versions' });
    await versions
      .getByRole('row', { name: /^2 .* dpo-office csv id, admin_area_code waits for approval$/ })
      .waitFor();
    await page.getByText('Version 2, saved by dpo-office, waits for approval').waitFor();
    await page.getByText('pseudonymisation turned off').waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'export-approval');
    await page.getByLabel('Reason for the decision').fill('agreed with the data protection officer');
    await page.getByRole('button', { name: 'Approve' }).click();
    await versions
      .getByRole('row', { name: /^2 .* approved by you agreed with the data protection officer$/ })
      .waitFor();

    // A poverty score added to the scheduled export: it waits, and not for its author.
    const fields = page.getByRole('combobox', { name: 'Fields' });
    await fields.click();
    await page.getByRole('option', { name: 'pmt_score (poverty_score)', exact: true }).click();
    await page.keyboard.press('Escape');
    await page.getByRole('button', { name: 'Save a version' }).click();
    await page
      .getByText(
        'Version 3 weakens privacy: it waits for approval by another administrator; version 2 stays in use.',
      )
      .waitFor();
    await versions
      .getByRole('row', { name: /^3 .* you csv id, admin_area_code, pmt_score waits for approval$/ })
      .waitFor();
    await page.getByLabel('Reason for the decision').fill('needed for the review');
    await page.getByRole('button', { name: 'Approve' }).click();
    await page
      .getByRole('alert')
      .filter({ hasText: 'You saved this version: another administrator approves or rejects it.' })
      .waitFor();
    await list.getByRole('row', { name: /^monthly households csv 2 dpo-office/ }).waitFor();
    // Saved from the designer, the version keeps what the designer does not show: the schedule.
    const third = await t.get('/api/v1/export-definitions/monthly?version=3', t.adminKey);
    expect(third.json()).toMatchObject({
      schedule: '0 2 * * 1',
      schedule_purpose: 'monthly targeting review',
    });

    // The other administrator rejects it.
    const decision = { decision: 'reject', reason: 'the poverty score stays out' };
    expect((await asDpo('POST', '/monthly/versions/3/decision', decision)).statusCode).toBe(200);
    await list.getByRole('button', { name: 'Open monthly' }).click();
    await versions
      .getByRole('row', { name: /^3 .* rejected by dpo-office the poverty score stays out$/ })
      .waitFor();
  });
});
