import { execFile } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '#test/app';
import {
  ensureConsoleBuilt,
  hasBrowser,
  launchBrowser,
  newConsolePage,
  screenshot,
  seriousViolations,
} from './browser.ts';

/**
 * The admin console in headless Chromium, against the gateway listening on 127.0.0.1: sign in with
 * an API key, the integrations list, connecting a system with errors shown by the field, French
 * texts, accessibility (axe-core: no serious or critical violations). Screenshots go to
 * docs/screenshots/.
 */

let t: TestApp;
let browser: Browser;
let page: Page;
let origin: string;
const run = promisify(execFile);
let misKey: string;

describe.skipIf(!hasBrowser)('admin console in a browser', () => {
  beforeAll(async () => {
    await ensureConsoleBuilt();
    t = await createTestApp();
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    origin = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    browser = await launchBrowser();
    page = await newConsolePage(browser);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('refuses a wrong key next to the field, then signs in', async () => {
    const response = await page.goto(`${origin}/console/`);
    expect(response?.headers()['content-security-policy']).toMatch(/script-src 'self'/);
    const wrong = t.adminKey.slice(0, -4) + (t.adminKey.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    await page.getByLabel('API key').fill(wrong);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByText('invalid, expired or revoked API key').count()).toBe(1);
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'sign-in');
    await page.getByLabel('API key').fill(t.adminKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Integrations', level: 1 }).waitFor();
    const cookies = await page.context().cookies();
    expect(cookies.find((c) => c.name === 'spx_session')).toMatchObject({
      httpOnly: true,
      sameSite: 'Strict',
    });
  });

  it('connects a new system through the wizard; the printed example works', async () => {
    await page.getByRole('button', { name: 'Connect a new system' }).click();
    await page.getByLabel('Name').fill('x');
    await page.getByRole('button', { name: 'Next' }).click();
    await expect.poll(() => page.getByText(/must match pattern/).count()).toBe(1);
    await page.getByLabel('Name').fill('Cash transfer MIS');
    await page.getByRole('button', { name: 'Next' }).click();

    await page.getByLabel('Data sharing agreement').fill('DSA-2026-014');
    await page.getByLabel('Purposes').first().fill('eligibility-check');
    await page.getByLabel('Purposes').first().press('Enter');
    await page.getByLabel('Admin areas').first().fill('NOWHERE-9');
    await page.getByLabel('Admin areas').first().press('Enter');
    await page.getByLabel('Requests per minute').fill('120');
    await page.getByRole('button', { name: 'Next' }).click();
    await expect.poll(() => page.getByText(/NOWHERE-9/).count()).toBeGreaterThan(1);
    expect(await seriousViolations(page)).toEqual([]);
    // An empty tags input removes its last tag on Backspace.
    await page.getByLabel('Admin areas').first().press('Backspace');
    await page.getByRole('button', { name: 'Next' }).click();

    await page.getByRole('button', { name: 'Create the API key' }).click();
    const example = (await page.getByTestId('example').textContent())!;
    misKey = (await page.getByTestId('api-key').textContent())!;
    expect(example).toMatch(
      /^curl -sS -H "Authorization: Bearer spx_[^"]+" -H "X-Purpose: eligibility-check" http:\/\/127\.0\.0\.1:\d+\/api\/v1\/programs$/,
    );
    await screenshot(page, 'connect-wizard');
    const { stdout } = await run('sh', ['-c', `${example} -w '\n%{http_code}'`]);
    expect(stdout.trim().split('\n').at(-1)).toBe('200');

    await page.getByRole('button', { name: 'Done' }).click();
    await page.getByRole('cell', { name: 'Cash transfer MIS', exact: true }).waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'integrations');
    const policy = await t.database.db
      .selectFrom('client_policies as p')
      .innerJoin('api_clients as c', 'c.id', 'p.client_id')
      .select(['p.agreement_ref', 'p.purposes', 'p.rate_limit', 'p.area_codes'])
      .where('c.name', '=', 'Cash transfer MIS')
      .executeTakeFirstOrThrow();
    expect(policy).toMatchObject({
      agreement_ref: 'DSA-2026-014',
      purposes: ['eligibility-check'],
      rate_limit: 120,
      area_codes: null,
    });
  });

  it('shows the new system’s requests in the monitor, live, and its audited accesses', async () => {
    await page.getByRole('link', { name: 'Monitor' }).click();
    await page.getByRole('heading', { name: 'Data flow', level: 1 }).waitFor();
    const byClient = page.getByRole('table', { name: 'By system and operation' });
    await byClient.getByRole('button', { name: 'Cash transfer MIS' }).waitFor();
    await expect
      .poll(() => byClient.getByRole('row').filter({ hasText: 'program.list' }).count())
      .toBeGreaterThan(0);
    // A request made now appears in the live table.
    await fetch(`${origin}/api/v1/programs`, {
      headers: { authorization: `Bearer ${misKey}`, 'x-purpose': 'eligibility-check' },
    });
    const live = page.getByTestId('live');
    await live.getByRole('cell', { name: 'Cash transfer MIS' }).first().waitFor();
    await byClient.getByRole('button', { name: 'Cash transfer MIS' }).click();
    const accesses = page.getByRole('table', { name: 'Latest audited accesses' });
    await accesses.getByRole('cell', { name: 'eligibility-check' }).first().waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'monitor');
  });

  it('suspends a system (its key stops at once) and enables it again', async () => {
    await page.getByRole('link', { name: 'Integrations' }).click();
    const programs = () =>
      fetch(`${origin}/api/v1/programs`, {
        headers: { authorization: `Bearer ${misKey}`, 'x-purpose': 'eligibility-check' },
      });
    await page.getByRole('button', { name: 'Suspend Cash transfer MIS' }).click();
    await page.getByRole('button', { name: 'Enable Cash transfer MIS' }).waitFor();
    expect((await programs()).status).toBe(401);
    await page.getByRole('button', { name: 'Enable Cash transfer MIS' }).click();
    await page.getByRole('button', { name: 'Suspend Cash transfer MIS' }).waitFor();
    const back = await programs();
    expect(back.status, await back.text()).toBe(200);
    await page.getByRole('link', { name: 'Monitor' }).click();
  });

  it('is reachable by keyboard: Tab to a page of the menu, Enter opens it', async () => {
    const focused = () => page.evaluate(() => document.activeElement?.textContent?.trim() ?? '');
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    for (let presses = 0; presses < 40 && (await focused()) !== 'Deliveries'; presses++) {
      await page.keyboard.press('Tab');
    }
    expect(await focused()).toBe('Deliveries');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Callbacks and notifications', level: 1 }).waitFor();
    await page.getByRole('link', { name: 'Monitor' }).click();
  });

  it('speaks French, and signs out', async () => {
    await page.getByRole('combobox', { name: 'Language' }).click();
    await page.getByRole('option', { name: 'Français' }).click();
    await page.getByRole('heading', { name: 'Flux de données', level: 1 }).waitFor();
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('fr');
    await page.getByRole('button', { name: 'Se déconnecter' }).click();
    await page.getByRole('heading', { name: 'Connexion' }).waitFor();
  });
});
