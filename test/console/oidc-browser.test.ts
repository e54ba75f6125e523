import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ensureConsoleBuilt,
  hasBrowser,
  launchBrowser,
  newConsolePage,
  seriousViolations,
} from './browser.ts';
import { createOidcWorld, type OidcWorld } from './oidc.ts';

/**
 * Signing in to the console through an OpenID provider in headless Chromium: the gateway reached as
 * localhost and the provider as 127.0.0.1, so that the provider's redirect back is cross-site, as
 * in production (the binding cookie must be SameSite=Lax for it).
 */

let w: OidcWorld;
let browser: Browser;
let page: Page;

describe.skipIf(!hasBrowser)('console sign-in through an OpenID provider, in a browser', () => {
  beforeAll(async () => {
    await ensureConsoleBuilt();
    w = await createOidcWorld({ gatewayHost: 'localhost' });
    browser = await launchBrowser();
    page = await newConsolePage(browser);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await w?.close();
  });

  it('explains a refused sign-in, without the provider’s words', async () => {
    await page.goto(`${w.origin}/console/?sign_in_error=not_linked`);
    await page.getByText('Your identity is not linked to any account of this gateway').waitFor();
    expect(page.url()).toBe(`${w.origin}/console/`);
    expect(await seriousViolations(page)).toEqual([]);
  });

  it('clicks “Sign in with …” and lands signed in', async () => {
    const person = await w.person('admin');
    w.idp.subject = person.subject;
    await page.goto(`${w.origin}/console/`);
    await page.getByRole('link', { name: `Sign in with ${w.providerName}` }).click();
    await page.getByText(`Signed in as ${person.clientName} (admin)`).waitFor();
    expect(page.url()).toBe(`${w.origin}/console/`);
    const cookies = await page.context().cookies();
    expect(cookies.find((c) => c.name === 'spx_session')).toMatchObject({
      httpOnly: true,
      sameSite: 'Strict',
    });
    expect(cookies.find((c) => c.name === 'spx_oidc_login')).toBeUndefined();
  });
});
