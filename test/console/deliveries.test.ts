import { randomUUID } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '#test/app';
import { newClient } from '#test/clients';
import { hasBrowser, openConsole, screenshot, seriousViolations } from './browser.ts';

/**
 * The console's deliveries page in headless Chromium: a dead-lettered DCI callback (an async search
 * answer whose retries ran out) is listed and replayed from the page: it is pending again.
 */

let t: TestApp;
let browser: Browser;
let page: Page;
let deliveryId: string;

describe.skipIf(!hasBrowser)('deliveries in the console', () => {
  beforeAll(async () => {
    t = await createTestApp();
    const mis = await newClient(t, 'integrator');
    const key = await t.database.db
      .selectFrom('api_keys')
      .select('id')
      .where('client_id', '=', mis.id)
      .executeTakeFirstOrThrow();
    const exchangeId = randomUUID();
    await t.database.db
      .insertInto('dci_exchanges')
      .values({
        id: exchangeId,
        client_id: mis.id,
        key_id: key.id,
        registry: 'social',
        operation: 'search',
        mode: 'async',
        message_id: 'msg-dead-1',
        sender_id: 'mis.example',
        transaction_id: 'txn-dead-1',
        correlation_id: `corr-${exchangeId}`,
        status: 'succ',
        callback_uri: 'http://127.0.0.1:9/dci/on-search',
      })
      .execute();
    deliveryId = randomUUID();
    await t.database.db
      .insertInto('dci_deliveries')
      .values({
        id: deliveryId,
        exchange_id: exchangeId,
        client_id: mis.id,
        action: 'on-search',
        message_id: 'on-search-msg-dead-1',
        callback_uri: 'http://127.0.0.1:9/dci/on-search',
        status: 'dead',
        attempts: 3,
        last_status_code: 503,
        last_error: 'the callback answered HTTP 503',
        created_at: new Date(),
        updated_at: new Date(),
      })
      .execute();
    await t.database.db
      .insertInto('dci_exchange_log')
      .values(
        [1, 2, 3].map((attempt) => ({
          direction: 'out',
          client_id: mis.id,
          exchange_id: exchangeId,
          delivery_id: deliveryId,
          peer_origin: 'http://127.0.0.1:9',
          action: 'on-search',
          message_id: 'on-search-msg-dead-1',
          attempt,
          outcome: 'failed',
          status_code: 503,
          duration_ms: 12,
          error: 'the callback answered HTTP 503',
        })),
      )
      .execute();
    // A subscription of the same client, with one delivered notification.
    const subscriptionId = randomUUID();
    await t.database.db
      .insertInto('dci_subscriptions')
      .values({
        id: subscriptionId,
        code: 'sub-console-1',
        client_id: mis.id,
        key_id: key.id,
        registry: 'social',
        exchange_id: exchangeId,
        reference_id: 'ref-1',
        status: 'active',
        reg_type: 'ns:org:RegistryType:Social',
        reg_event_type: 'UPDATE',
        notify_record_type: 'Person',
        record_shape: 'Person',
        entity: 'person',
        event_entity: 'individual',
        event_kind: 'update',
        filter_type: 'idtype-value',
        filter: JSON.stringify({ type: 'UIN', value: 'UIN-1' }),
        fingerprint: 'fp-console-1',
        sender_id: 'mis.example',
        notify_uri: 'http://127.0.0.1:9/dci/registry/notify',
        after_event_id: 0,
      })
      .execute();
    await t.database.db
      .insertInto('dci_deliveries')
      .values({
        id: randomUUID(),
        exchange_id: exchangeId,
        client_id: mis.id,
        subscription_id: subscriptionId,
        action: 'notify',
        message_id: 'notify-msg-1',
        callback_uri: 'http://127.0.0.1:9/dci/registry/notify',
        status: 'delivered',
        attempts: 1,
        created_at: new Date(),
        updated_at: new Date(),
      })
      .execute();
    ({ browser, page } = await openConsole(t, 'deliveries'));
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('lists the dead letter and replays it', async () => {
    await page.getByRole('heading', { name: 'Callbacks and notifications', level: 1 }).waitFor();
    await page.getByRole('cell', { name: 'HTTP 503' }).waitFor();
    expect(await seriousViolations(page)).toEqual([]);
    await page.getByRole('button', { name: 'Attempts on-search-msg-dead-1: 3' }).click();
    const attempts = page.getByRole('table', { name: 'Attempts of this delivery' });
    await expect.poll(() => attempts.getByRole('cell', { name: '503', exact: true }).count()).toBe(3);
    const subscriptions = page.getByRole('table', { name: 'Subscriptions' });
    await subscriptions.getByRole('cell', { name: 'UPDATE · Person' }).waitFor();
    await subscriptions.getByRole('cell', { name: 'delivered 1 · waiting 0 · Dead letters 0' }).waitFor();
    await screenshot(page, 'deliveries');
    await page.getByRole('button', { name: 'Replay on-search-msg-dead-1' }).click();
    await page.getByRole('status').filter({ hasText: 'Sent again: 1' }).waitFor();
    await page.getByText('Nothing here.').waitFor();
    const delivery = await t.database.db
      .selectFrom('dci_deliveries')
      .select('status')
      .where('id', '=', deliveryId)
      .executeTakeFirstOrThrow();
    expect(delivery.status).toBe('pending');
    const audit = await t.get('/api/v1/audit?action=dci.delivery.replay', t.adminKey);
    expect(audit.json<{ items: { resource_id: string }[] }>().items.map((e) => e.resource_id)).toContain(
      deliveryId,
    );
  });
});
