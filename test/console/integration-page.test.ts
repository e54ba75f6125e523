import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createCertificateAuthority,
  issueClientCertificate,
  loadCertificateAuthority,
} from '#security/tls/issue';
import { createTestApp, type TestApp } from '#test/app';
import { startCallbackServer, type CallbackServer } from '#test/dci/callback-server';
import { asAdmin, newClient, type TestClient } from '#test/clients';
import { hasBrowser, openConsole, screenshot, seriousViolations } from './browser.ts';

/**
 * One integration's page in headless Chromium: its description, its whole agreement (operations,
 * registries, hidden fields, dates), its credentials (OAuth client secret, JWKS URL, certificate
 * upload, revocation), its DCI callbacks with "send a test event" to an endpoint on 127.0.0.1; bad
 * input answered next to the field. And the wizard's OAuth path: its printed example works.
 */

let t: TestApp;
let browser: Browser;
let page: Page;
let mis: TestClient;
let server: CallbackServer;
const run = promisify(execFile);

describe.skipIf(!hasBrowser)('an integration’s page in the console', () => {
  beforeAll(async () => {
    t = await createTestApp();
    server = await startCallbackServer();
    mis = await newClient(t, 'integrator');
    ({ browser, page } = await openConsole(t, 'integrations'));
    page.setDefaultTimeout(10_000);
    await page.getByRole('heading', { name: 'Integrations', level: 1 }).waitFor();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await server?.close();
  });

  const client = () => asAdmin(t, 'GET', `/api/v1/clients/${mis.id}`).then((res) => res.json());
  const tab = (name: string) => page.getByRole('tab', { name }).click();

  it('edits the description and the whole agreement, with errors next to the fields', async () => {
    const name = (await client()).name as string;
    await page.getByRole('button', { name: `Open ${name}` }).click();
    await page.getByRole('heading', { name, level: 2 }).waitFor();

    await page.getByLabel('Description').fill('Cash transfer MIS, north region');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved.').waitFor();
    expect((await client()).description).toBe('Cash transfer MIS, north region');

    await tab('Agreement');
    await page.getByText(/No agreement yet/).waitFor();
    await page.getByLabel('Data sharing agreement').fill('DSA-2026-020');
    await page.getByLabel('Allowed operations').first().fill('household.teleport');
    await page.getByLabel('Allowed operations').first().press('Enter');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('"household.teleport" matches no operation of this gateway').waitFor();
    await page.getByLabel('Allowed operations').first().press('Backspace');
    await page.getByLabel('Allowed operations').first().fill('household.read');
    await page.getByLabel('Allowed operations').first().press('Enter');
    await page.getByLabel('Registries').first().press('ArrowDown');
    await page.getByRole('option', { name: 'social' }).click();
    await page.getByLabel('Hidden fields').first().press('ArrowDown');
    await page.getByRole('option', { name: 'payment_account' }).click();
    await page.keyboard.press('Escape');
    await page.getByLabel('Agreement valid from').fill('2026-01-01');
    await page.getByLabel('Agreement valid until').fill('2027-12-31');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Saved.').waitFor();
    const policy = (await asAdmin(t, 'GET', `/api/v1/clients/${mis.id}/policy`)).json();
    expect(policy).toMatchObject({
      agreement_ref: 'DSA-2026-020',
      operations: ['household.read'],
      registries: ['social'],
      hidden_fields: ['payment_account'],
      valid_from: '2026-01-01T00:00:00.000Z',
      valid_until: '2027-12-31T23:59:59.000Z',
    });
    expect(await seriousViolations(page)).toEqual([]);
  });

  it('creates an OAuth client secret, registers a JWKS URL and a certificate, and revokes one', async () => {
    await tab('Credentials');
    await page
      .getByRole('table', { name: 'Credentials' })
      .getByText(/^API key /)
      .waitFor();
    await page.getByRole('button', { name: 'Create an OAuth client secret' }).click();
    await expect
      .poll(() => page.getByTestId('new-secret').textContent())
      .toMatch(/^client_id: [0-9a-f-]{36}\nclient_secret: \S{20,}$/);

    await page.getByLabel('JWKS URL').fill('ftp://keys.example.org/jwks.json');
    await page.getByRole('button', { name: 'Register the key' }).click();
    await page.getByText('must be an http(s) URL without credentials or fragment').waitFor();
    await page.getByLabel('JWKS URL').fill('https://keys.example.org/jwks.json');
    await page.getByRole('button', { name: 'Register the key' }).click();
    await page
      .getByRole('cell', {
        name: 'OAuth signing key (private_key_jwt): https://keys.example.org/jwks.json',
        exact: true,
      })
      .waitFor();

    await page
      .getByLabel('Certificate (PEM)')
      .fill('-----BEGIN CERTIFICATE-----\nnot one\n-----END CERTIFICATE-----');
    await page.getByRole('button', { name: 'Register the certificate' }).click();
    await expect.poll(() => page.locator('.mantine-Textarea-error').count()).toBe(1);
    const ca = await loadCertificateAuthority(await createCertificateAuthority('Console CA', { days: 1 }));
    const certificate = await issueClientCertificate(ca, 'mis-north', { days: 1 });
    await page.getByLabel('Certificate (PEM)').fill(certificate.certificatePem);
    await page.getByRole('button', { name: 'Register the certificate' }).click();
    await page.getByRole('cell', { name: 'Certificate CN=mis-north', exact: true }).waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'integration-credentials');

    await page.getByRole('button', { name: /^Revoke Certificate .*mis-north/ }).click();
    await expect.poll(() => page.getByRole('button', { name: /^Revoke Certificate/ }).count()).toBe(0);
    const certificates = (await asAdmin(t, 'GET', `/api/v1/clients/${mis.id}/certificates`)).json().items;
    expect(certificates).toEqual([expect.objectContaining({ revoked_at: expect.any(String) })]);
    const credentials = (await asAdmin(t, 'GET', `/api/v1/clients/${mis.id}/oauth/credentials`)).json().items;
    expect(credentials.map((c: { kind: string }) => c.kind).sort()).toEqual([
      'client_secret',
      'private_key_jwt',
    ]);
  });

  it('sets the DCI callbacks and sends a test event to the endpoint', async () => {
    await tab('DCI callbacks and signatures');
    await page.getByRole('button', { name: 'Send a test event' }).click();
    await page.getByText(/no callback URI is registered for this client/).waitFor();

    await page.getByLabel('Callback origins').first().fill('ftp://mis.example.org');
    await page.getByLabel('Callback origins').first().press('Enter');
    await page.getByRole('button', { name: 'Save the callbacks' }).click();
    await page.getByText('must be an http(s) origin: scheme://host[:port]').waitFor();
    await page.getByLabel('Callback origins').first().press('Backspace');
    await page.getByLabel('Callback origins').first().fill(server.origin);
    await page.getByLabel('Callback origins').first().press('Enter');
    await page.getByLabel('Callback base URI').fill(`${server.origin}/dci`);
    await page.getByLabel('May be on a private network address').check();
    await page.getByRole('button', { name: 'Save the callbacks' }).click();
    await page.getByText('Saved.').waitFor();

    await page.getByRole('button', { name: 'Send a test event' }).click();
    await page.getByRole('status').getByText('Delivered (HTTP 200)').waitFor();
    expect(server.received.map((call) => call.path)).toEqual(['/dci/registry/notify']);
    expect(await seriousViolations(page)).toEqual([]);
    await screenshot(page, 'integration-dci');

    server.answerWith(503);
    await page.getByRole('button', { name: 'Send a test event' }).click();
    await page.getByRole('status').getByText('Failed (HTTP 503)').waitFor();
    server.answerWith(200);
  });

  it('connects a system with an OAuth client in the wizard; the printed example works', async () => {
    await page.getByRole('button', { name: 'Close' }).click();
    await page.getByRole('button', { name: 'Connect a new system' }).click();
    await page.getByLabel('Name').fill('Pension MIS');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByLabel('Data sharing agreement').fill('DSA-2026-021');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByText('OAuth client').click();
    await page.getByRole('button', { name: 'Create an OAuth client secret' }).click();
    const example = (await page.getByTestId('example').textContent())!;
    expect(example).toMatch(
      /^TOKEN=\$\(curl -sS -u "[0-9a-f-]{36}:[^"]+" -d grant_type=client_credentials http/,
    );
    const { stdout } = await run('sh', ['-c', `${example} -w '\n%{http_code}'`]);
    expect(stdout.trim().split('\n').at(-1)).toBe('200');
  });
});
