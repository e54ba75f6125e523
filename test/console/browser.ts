import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CONSOLE_DIST } from '#console-server/static-routes';
import { inject } from 'vitest';
import type { TestApp } from '#test/app';
import { CHROMIUM } from './browser-server.ts';

/**
 * Browser tests of the admin console drive Debian's Chromium (/usr/bin/chromium, `apt-get install
 * chromium`; `.ci/run` installs it) with playwright-core: never a downloaded browser. Without it the
 * tests are skipped, and say so. The console is built first if it is not (npm install builds it).
 */

export const hasBrowser = existsSync(CHROMIUM);
if (!hasBrowser) {
  console.warn(`[spx] console browser tests SKIPPED: no Chromium at ${CHROMIUM} (apt-get install chromium)`);
}

export const SCREENSHOTS = fileURLToPath(new URL('../../docs/screenshots/', import.meta.url));

export async function ensureConsoleBuilt(): Promise<void> {
  if (!existsSync(`${CONSOLE_DIST}/index.html`)) {
    const { build } = await import('vite');
    await build({ configFile: fileURLToPath(new URL('../../console/vite.config.ts', import.meta.url)) });
  }
}

/** The run's one Chromium (test/console/browser-server.ts); closing it ends this file's contexts only. */
export async function launchBrowser(): Promise<Browser> {
  const endpoint = await fetch(inject('browserBroker'));
  if (!endpoint.ok) {
    throw new Error(`Chromium did not start: ${await endpoint.text()}`);
  }
  return chromium.connect(await endpoint.text());
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core's violations of impact serious or critical on the page as it is now. */
export async function seriousViolations(page: Page): Promise<string[]> {
  await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(async () => {
    const axe = (
      window as unknown as {
        axe: {
          run(context: Document): Promise<{
            violations: { id: string; impact: string; help: string; nodes: { target: string[] }[] }[];
          }>;
        };
      }
    ).axe;
    return axe.run(document);
  });
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
}

/**
 * Saves a screenshot for the docs, when asked (`SPX_SCREENSHOTS=1 npx vitest run test/console`): a
 * test run must not rewrite committed files, and each capture costs a second of the suite.
 */
export async function screenshot(page: Page, name: string): Promise<void> {
  if (!process.env['SPX_SCREENSHOTS']) {
    return;
  }
  mkdirSync(SCREENSHOTS, { recursive: true });
  // From the top: a full-page capture of a scrolled page draws the fixed header mid-page.
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: `${SCREENSHOTS}${name}.png`, fullPage: true });
}

/**
 * A new page at a laptop's size. It bypasses the console's CSP (axe-core is injected as an inline
 * script, which the CSP rightly refuses); an error thrown in the page fails the test.
 */
export async function newConsolePage(
  browser: Browser,
  viewport = { width: 1280, height: 800 },
): Promise<Page> {
  const page = await browser.newPage({ viewport, bypassCSP: true });
  page.on('pageerror', (error) => {
    throw error;
  });
  return page;
}

export interface OpenConsole {
  browser: Browser;
  page: Page;
  origin: string;
}

/**
 * The test gateway listening on 127.0.0.1 and a page of the console at `hash`, signed in with the
 * admin key. The page bypasses the console's CSP: axe-core is injected as an inline script.
 */
export async function openConsole(
  t: TestApp,
  hash: string,
  viewport = { width: 1280, height: 800 },
): Promise<OpenConsole> {
  await ensureConsoleBuilt();
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  const origin = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  const browser = await launchBrowser();
  const page = await newConsolePage(browser, viewport);
  await page.goto(`${origin}/console/#${hash}`);
  await page.getByLabel('API key').fill(t.adminKey);
  await page.getByRole('button', { name: 'Sign in' }).click();
  return { browser, page, origin };
}
