import { Type, type Static } from '@sinclair/typebox';
import type { Kysely } from 'kysely';
import type { DB } from '#platform/db/types';
import { badRequest, type FieldError } from '#platform/problem';
import type { App } from '#platform/http/types';
import {
  findCallbackSettings,
  parseHttpUrl,
  saveCallbackSettings,
  type CallbackSettings,
} from '../callback/policy.ts';
import { consentRequired, saveConsentRequired } from '../consent.ts';
import { clientRecipient, findEncryptionSettings, saveEncryptionSettings } from '../encryption/keys.ts';
import { settingsSection } from './settings-resource.ts';

/**
 * Admin routes for a client's DCI settings, mounted under /api/v1: its callbacks (`/clients/{id}/dci`:
 * the origins its callbacks may go to, its default callback base URI, and whether callback hosts
 * may resolve to private addresses), consent (`/dci/consent`) and encryption (`/dci/encryption`).
 * Errors are the gateway's RFC 9457 problems.
 */

const Settings = Type.Object({
  client_id: Type.String({ format: 'uuid' }),
  callback_origins: Type.Array(Type.String()),
  callback_uri: Type.Union([Type.String(), Type.Null()]),
  allow_private_addresses: Type.Boolean(),
  updated_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

const SettingsInput = Type.Object(
  {
    callback_origins: Type.Array(Type.String({ minLength: 1, maxLength: 300 }), {
      maxItems: 20,
      uniqueItems: true,
      description: 'Origins (scheme://host[:port]) that callbacks may go to',
    }),
    callback_uri: Type.Optional(
      Type.Union([Type.String({ minLength: 1, maxLength: 1000 }), Type.Null()], {
        description:
          "Base URI of the client's DCI endpoints, for requests without sender_uri: <callback_uri>/registry/on-search",
      }),
    ),
    allow_private_addresses: Type.Optional(
      Type.Boolean({
        description: 'Callback hosts may resolve to loopback or private addresses (default false)',
      }),
    ),
  },
  { additionalProperties: false },
);

const json = (clientId: string, s: CallbackSettings): Static<typeof Settings> => ({
  client_id: clientId,
  callback_origins: s.callbackOrigins,
  callback_uri: s.callbackUri,
  allow_private_addresses: s.allowPrivateAddresses,
  updated_at: s.updatedAt?.toISOString() ?? null,
});

export async function dciClientSettingsRoutes(app: App, { db }: { db: Kysely<DB> }): Promise<void> {
  settingsSection(app, db, {
    path: '/dci',
    audit: 'client.dci_settings',
    operationIds: { update: 'setClientDciCallbacks', read: 'getClientDciCallbacks' },
    summaries: {
      update: "Set a client's DCI callback origins and default callback URI",
      read: "A client's DCI callback settings",
    },
    input: SettingsInput,
    output: Settings,
    save: (db, clientId, input, by) => saveCallbackSettings(db, clientId, checked(input), by),
    read: async (db, clientId) => json(clientId, await findCallbackSettings(db, clientId)),
  });
  settingsSection(app, db, {
    path: '/dci/consent',
    audit: 'client.dci_consent',
    operationIds: { update: 'setClientDciConsent', read: 'getClientDciConsent' },
    summaries: {
      update: 'Require (or not) the subjects’ consent for the records a client receives over DCI',
      read: 'Whether a client receives DCI records only with their subjects’ consent',
    },
    input: ConsentInput,
    output: Consent,
    save: (db, clientId, input, by) => saveConsentRequired(db, clientId, input.consent_required, by),
    read: async (db, clientId) => ({
      client_id: clientId,
      consent_required: await consentRequired(db, clientId),
    }),
  });
  settingsSection(app, db, {
    path: '/dci/encryption',
    audit: 'client.dci_encryption',
    operationIds: { update: 'setClientDciEncryption', read: 'getClientDciEncryption' },
    summaries: {
      update: 'Require encrypted DCI messages from a client, and encrypt every message sent to it (or not)',
      read: "A client's DCI encryption settings and the key its messages are encrypted to",
    },
    input: EncryptionInput,
    output: Encryption,
    async save(db, clientId, input, by) {
      const settings = { required: input.encryption_required, encryptMessages: input.encrypt_messages };
      if ((settings.required || settings.encryptMessages) && !(await clientRecipient(db, clientId))) {
        const pointer = settings.encryptMessages ? '/encrypt_messages' : '/encryption_required';
        throw badRequest('invalid DCI encryption settings', [
          { pointer, detail: 'needs a usable public key of use "enc" registered for the client first' },
        ]);
      }
      await saveEncryptionSettings(db, clientId, settings, by);
    },
    read: async (db, clientId) => {
      const settings = await findEncryptionSettings(db, clientId);
      return {
        client_id: clientId,
        encryption_required: settings.required,
        encrypt_messages: settings.encryptMessages,
        encryption_key_id: (await clientRecipient(db, clientId))?.kid ?? null,
        updated_at: settings.updatedAt?.toISOString() ?? null,
      };
    },
  });
}

const Encryption = Type.Object({
  client_id: Type.String({ format: 'uuid' }),
  encryption_required: Type.Boolean({
    description:
      'Messages from the client must be encrypted (is_msg_encrypted: true); plain ones are refused',
  }),
  encrypt_messages: Type.Boolean({
    description:
      'Every envelope sent to the client (answers, callbacks, notifications) is encrypted; answers to an encrypted message always are',
  }),
  encryption_key_id: Type.Union([Type.String(), Type.Null()], {
    description: 'The key messages to the client are encrypted to: its newest usable key of use "enc"',
  }),
  updated_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});
const EncryptionInput = Type.Object(
  { encryption_required: Type.Boolean(), encrypt_messages: Type.Boolean() },
  { additionalProperties: false },
);

const Consent = Type.Object({
  client_id: Type.String({ format: 'uuid' }),
  consent_required: Type.Boolean({
    description:
      'The client receives only records whose subjects consented to the purpose its search states (search_criteria.consent.purpose.code)',
  }),
});
const ConsentInput = Type.Object({ consent_required: Type.Boolean() }, { additionalProperties: false });

/** Origins normalised (scheme://host[:port]); the base URI inside one of them, without a trailing slash. */
function checked(input: Static<typeof SettingsInput>): CallbackSettings {
  const errors: FieldError[] = [];
  const origins = input.callback_origins.map((text, i) => {
    const url = parseHttpUrl(text);
    if (!url || url.pathname !== '/' || url.search !== '' || url.hash !== '') {
      errors.push({
        pointer: `/callback_origins/${i}`,
        detail: 'must be an http(s) origin: scheme://host[:port]',
      });
    }
    return url?.origin ?? text;
  });
  const base = input.callback_uri ? parseHttpUrl(input.callback_uri) : undefined;
  if (
    input.callback_uri &&
    (!base || base.search !== '' || base.hash !== '' || !origins.includes(base.origin))
  ) {
    errors.push({
      pointer: '/callback_uri',
      detail: 'must be an http(s) URL without query, inside one of callback_origins',
    });
  }
  if (errors.length > 0) {
    throw badRequest('invalid DCI callback settings', errors);
  }
  return {
    callbackOrigins: [...new Set(origins)],
    callbackUri: base ? base.href.replace(/\/+$/, '') : null,
    allowPrivateAddresses: input.allow_private_addresses ?? false,
  };
}
