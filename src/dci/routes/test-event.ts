import { Type } from '@sinclair/typebox';
import { findClient } from '#platform/auth/clients';
import { conflict } from '#platform/problem';
import type { App } from '#platform/http/types';
import { problems, StringEnum } from '#platform/http/kit';
import { findCallbackSettings } from '../callback/policy.ts';
import { sendTestEvent, TEST_EVENT_PATH, type TestEventDeps } from '../callback/test-event.ts';

/** `POST /api/v1/clients/{id}/dci/test-event`: see ../callback/test-event.ts. */

const TestEvent = Type.Object({
  url: Type.String({ description: 'Where the event went: the callback URI + /registry/notify' }),
  message_id: Type.String(),
  outcome: StringEnum(['delivered', 'failed', 'refused'], {
    description:
      'delivered: the endpoint answered 2xx; failed: it could not be reached or answered otherwise; ' +
      'refused: the callback policy stopped it before sending (origin, private address, no encryption key)',
  }),
  status_code: Type.Union([Type.Integer(), Type.Null()]),
  duration_ms: Type.Integer(),
  error: Type.Union([Type.String(), Type.Null()]),
});

export async function dciTestEventRoutes(app: App, { deps }: { deps: TestEventDeps }): Promise<void> {
  app.post(
    '/clients/:id/dci/test-event',
    {
      config: {
        access: {
          permission: 'clients:manage',
          audit: { action: 'client.dci_test_event', resourceType: 'client' },
        },
      },
      schema: {
        tags: ['access'],
        operationId: 'sendClientDciTestEvent',
        summary: `Send a signed test event (${TEST_EVENT_PATH} without events) to the client's callback URI, once`,
        description:
          'The same checks, encryption and signature as every callback; not retried; logged in the exchange log. ' +
          'A 200 tells what happened (outcome); 409 when the client has no callback URI or is disabled.',
        params: Type.Object({ id: Type.String({ format: 'uuid' }) }),
        response: {
          200: TestEvent,
          ...problems(400, 404, 409),
        },
      },
    },
    async (request) => {
      request.auditNote = { resourceId: request.params.id };
      const client = await findClient(deps.db, request.params.id);
      if (client.disabled_at) {
        throw conflict('the client is disabled: enable it before testing its endpoint');
      }
      const settings = await findCallbackSettings(deps.db, client.id);
      const callbackUri = settings.callbackUri;
      if (!callbackUri) {
        throw conflict(
          `no callback URI is registered for this client: set callback_origins and callback_uri with PUT /api/v1/clients/${client.id}/dci`,
        );
      }
      request.auditNote.recordCount = 0;
      return sendTestEvent(client, { ...settings, callbackUri }, deps, request.id);
    },
  );
}
