import { describe, expect, it } from 'vitest';
import { SUBSCRIBE_REASON_CODES, UNSUBSCRIBE_REASON_CODES } from '#dci/errors';
import { specDocument, validateRequest, type Registry } from '#dci/spec';
import { eventTypeNames } from '#dci/subscriptions/events';
import { example } from './harness.ts';
import { unsubscribeMessage } from './subscriptions.ts';

type Schemas = Record<string, { enum?: string[] }>;
const schemas = (registry: Registry) =>
  (specDocument(registry)['components'] as { schemas: Schemas }).schemas;

/** A minimal notification of one event type, as the dispatcher sends it. */
const notification = (eventType: string) => ({
  header: {
    version: '1.0.0',
    message_id: 'm-1',
    message_ts: '2025-01-15T10:00:00Z',
    action: 'notify',
    status: 'succ',
    total_count: 1,
    completed_count: 1,
    sender_id: 'spx',
    receiver_id: 'spmis.example.org',
    is_msg_encrypted: false,
  },
  message: {
    transaction_id: 't-1',
    notify_event: [
      {
        reference_id: 'code-1',
        timestamp: '2025-01-15T10:00:00Z',
        data: {
          version: '1.0.0',
          reg_type: 'ns:org:RegistryType:Social',
          reg_event_type: eventType,
          reg_record_type: 'Person',
          reg_records: {},
        },
      },
    ],
  },
});

describe('the subscription messages of the DCI spec files', () => {
  it.each(['social', 'ibr'] as const)(
    'subscribe and unsubscribe reason codes equal the %s spec enums',
    (registry) => {
      expect([...SUBSCRIBE_REASON_CODES]).toEqual(schemas(registry)['SubscribeStatusReasonCode']!.enum);
      expect([...UNSUBSCRIBE_REASON_CODES]).toEqual(schemas(registry)['UnSubscribeStatusReasonCode']!.enum);
    },
  );

  it.each(['social', 'ibr'] as const)(
    'accept the subscribe and unsubscribe requests we read on the %s mount',
    (registry) => {
      expect(
        validateRequest({ registry, path: '/registry/subscribe' }, example('sr-subscribe-request')),
      ).toEqual([]);
      expect(
        validateRequest({ registry, path: '/registry/unsubscribe' }, unsubscribeMessage(undefined, ['c'])),
      ).toEqual([]);
    },
  );

  it.each(['social', 'ibr'] as const)(
    'accept a notification of every %s event type we notify (the enum defect, spec/dci/README.md), and no other',
    (registry) => {
      for (const eventType of eventTypeNames(registry)) {
        expect(
          validateRequest({ registry, path: '/registry/notify' }, notification(eventType)),
          eventType,
        ).toEqual([]);
      }
      expect(validateRequest({ registry, path: '/registry/notify' }, notification('LiveBirth'))).toEqual([
        expect.objectContaining({ pointer: '/message/notify_event/0/data/reg_event_type' }),
      ]);
    },
  );

  it('leave the spec document itself as written (the enum is widened in the validators only)', () => {
    const notify = (specDocument('social')['components'] as { schemas: Record<string, unknown> }).schemas[
      'NotifyEventRequest'
    ];
    expect(JSON.stringify(notify)).not.toContain('DEATH');
  });
});
