import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '#test/app';
import { ensureConsoleBuilt, hasBrowser, launchBrowser, screenshot, seriousViolations } from './browser.ts';

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

describe.skipIf(!hasBrowser)('admin console in a browser', () => {
  beforeAll(async () => {
    await ensureConsoleBuilt();
    t = await createTestApp();
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    origin = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    browser = await launchBrowser();
    // axe-core is injected as an inline script, which the console's CSP rightly refuses.
    page = await browser.newPage({ viewport: { width: 1280, height: 800 }, bypassCSP: true });
    page.on('pageerror', (error) => {
      throw error;
    });
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

  it('connects a new system: the API’s error shows by the field, then it is listed', async () => {
    await page.getByLabel('Name').fill('x');
    await page.getByRole('button', { name: 'Create' }).click();
    await expect.poll(() => page.getByText(/must match pattern/).count()).toBe(1);
    await page.getByLabel('Name').fill('Cash transfer MIS');
    await page.getByRole('button', { name: 'Create' }).click();
    await page.getByRole('status').filter({ hasText: 'Created: Cash transfer MIS' }).waitFor();
    await page.getByRole('cell', { name: 'Cash transfer MIS' }).waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'integrations');
  });

  it('speaks French, and signs out', async () => {
    await page.getByRole('combobox', { name: 'Language' }).click();
    await page.getByRole('option', { name: 'Français' }).click();
    await page.getByRole('heading', { name: 'Intégrations', level: 1 }).waitFor();
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('fr');
    await page.getByRole('button', { name: 'Se déconnecter' }).click();
    await page.getByRole('heading', { name: 'Connexion' }).waitFor();
  });
});
