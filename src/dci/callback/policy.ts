import { isIP } from 'node:net';
import type { Kysely } from 'kysely';
import type { DB } from '#platform/db/types';
import { bareHost, isPrivateAddress, parseHttpUrl } from '#platform/outbound/address';
import { DciError } from '../errors.ts';
import { saveSettingsColumns } from '../settings-store.ts';

// Callback URLs are read as every outbound URL is; the DCI modules import the reader from here.
export { parseHttpUrl };

/**
 * Where a client may receive DCI callbacks. An admin registers the client's callback origins;
 * a callback goes only to a URL inside one of them (no calls to arbitrary hosts), over http(s),
 * without credentials in the URL. The request-time check reads no DNS; deliver.ts checks again,
 * with DNS, when it connects.
 */

export interface CallbackSettings {
  callbackOrigins: string[];
  /** Base URI of the client's DCI endpoints, for requests without sender_uri. */
  callbackUri: string | null;
  allowPrivateAddresses: boolean;
  updatedAt?: Date | undefined;
}

export const NO_CALLBACKS: CallbackSettings = {
  callbackOrigins: [],
  callbackUri: null,
  allowPrivateAddresses: false,
};

export async function findCallbackSettings(db: Kysely<DB>, clientId: string): Promise<CallbackSettings> {
  const row = await db
    .selectFrom('dci_client_settings')
    .selectAll()
    .where('client_id', '=', clientId)
    .executeTakeFirst();
  return row
    ? {
        callbackOrigins: row.callback_origins,
        callbackUri: row.callback_uri,
        allowPrivateAddresses: row.allow_private_addresses,
        updatedAt: row.updated_at,
      }
    : NO_CALLBACKS;
}

export async function saveCallbackSettings(
  db: Kysely<DB>,
  clientId: string,
  settings: CallbackSettings,
  updatedBy: string | undefined,
): Promise<void> {
  const columns = {
    callback_origins: settings.callbackOrigins,
    callback_uri: settings.callbackUri,
    allow_private_addresses: settings.allowPrivateAddresses,
  };
  await saveSettingsColumns(db, clientId, columns, updatedBy);
}

const refused = (message: string) => new DciError('err.sender_uri.invalid', message);

/**
 * The URL a callback to `path` goes to: the request's `sender_uri` (spec MsgHeader: "sender url to
 * accept callbacks"), else the client's registered base URI + path. Refused (err.sender_uri.invalid)
 * unless it lies inside a registered origin and, without allowPrivateAddresses, names no private
 * IP literal.
 */
export function callbackTarget(settings: CallbackSettings, senderUri: string | undefined, path: string): URL {
  const text = senderUri ?? (settings.callbackUri ? `${settings.callbackUri}${path}` : undefined);
  if (text === undefined) {
    throw refused('no sender_uri in the header and no callback URI registered for this client');
  }
  const url = parseHttpUrl(text);
  if (!url) {
    throw refused('the callback URI must be an http(s) URL without credentials');
  }
  checkTarget(url, settings);
  return url;
}

/** The origin and IP-literal checks of a callback URL, against the settings as they are now. */
export function checkTarget(url: URL, settings: CallbackSettings): void {
  if (!settings.callbackOrigins.includes(url.origin)) {
    throw refused(`the callback origin ${url.origin} is not registered for this client`);
  }
  const host = bareHost(url);
  if (!settings.allowPrivateAddresses && isIP(host) !== 0 && isPrivateAddress(host)) {
    throw refused(`the callback host ${url.host} is a private or loopback address`);
  }
}
