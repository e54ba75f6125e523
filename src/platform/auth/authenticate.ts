import type { FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import { TtlCache } from '#platform/cache/ttl-cache';
import type { DB } from '#platform/db/types';
import { parseApiKey, secretMatches } from './api-keys.ts';
import type { ClientChanges } from './client-changes.ts';
import { principalFor, type Principal } from './principal.ts';
import { isRole } from './roles.ts';

export type Authentication =
  | { ok: true; principal: Principal }
  /** `challenge`: the WWW-Authenticate value of the refusal, when it is more specific than the default. */
  | { ok: false; reason: string; challenge?: string };

/**
 * One way for a caller to prove who it is (API key, OAuth access token, client certificate...).
 * Answers undefined when the request carries no credential of its kind, so that access control can
 * try the next one; a credential of its kind that fails gives `{ ok: false }` and stops there.
 */
export type Authenticator = (request: FastifyRequest) => Promise<Authentication | undefined>;

/**
 * The bearer token of the Authorization header, the X-API-Key header, or the password of HTTP Basic
 * (RFC 7617): clients that only know user name and password (ODK Collect) sign in with their API
 * key as the password; the user name is theirs to choose. Basic is then refused on routes that do
 * not take it (platform/http/http-basic.ts).
 */
export function presentedToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header?.toLowerCase().startsWith('bearer ')) {
    return header.slice(7).trim();
  }
  if (header?.toLowerCase().startsWith('basic ')) {
    const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon >= 0 ? decoded.slice(colon + 1) : undefined;
  }
  const apiKey = request.headers['x-api-key'];
  return typeof apiKey === 'string' ? apiKey.trim() : undefined;
}

interface KeyRow {
  id: string;
  secret_hash: Buffer;
  scopes: string[];
  expires_at: Date | null;
  revoked_at: Date | null;
  client_id: string;
  name: string;
  role: string;
  disabled_at: Date | null;
}

const findKeyRow = (db: Kysely<DB>, by: { prefix: string } | { id: string }): Promise<KeyRow | undefined> =>
  db
    .selectFrom('api_keys as k')
    .innerJoin('api_clients as c', 'c.id', 'k.client_id')
    .select([
      'k.id',
      'k.secret_hash',
      'k.scopes',
      'k.expires_at',
      'k.revoked_at',
      'c.id as client_id',
      'c.name',
      'c.role',
      'c.disabled_at',
    ])
    .where((eb) => ('prefix' in by ? eb('k.prefix', '=', by.prefix) : eb('k.id', '=', by.id)))
    .executeTakeFirst();

// One message for every failure, so the answer does not tell which part was wrong.
const INVALID_KEY: Authentication = { ok: false, reason: 'invalid, expired or revoked API key' };

/** Checks a key row against the presented secret and the time of use. */
function authenticateRow(row: KeyRow | undefined, secret: string): Authentication {
  if (!row || !secretMatches(secret, row.secret_hash)) {
    return INVALID_KEY;
  }
  return usableKey(row);
}

/** The key's principal, if the key is usable now (not revoked or expired, its client enabled). */
function usableKey(row: KeyRow): Authentication {
  if (
    row.revoked_at ||
    row.disabled_at ||
    (row.expires_at && row.expires_at.getTime() <= Date.now()) ||
    !isRole(row.role)
  ) {
    return INVALID_KEY;
  }
  return {
    ok: true,
    principal: principalFor(
      { id: row.client_id, name: row.name, role: row.role },
      { id: row.id, scopes: row.scopes },
    ),
  };
}

const MALFORMED: Authentication = { ok: false, reason: 'malformed API key' };

/**
 * API keys (the foundation's basic level); put it last among the authenticators, as it takes any
 * presented token the others left. The key's row is cached for `cacheMs` by its public prefix (the
 * secret is checked on every request against the cached hash, expiry at the time of use); a change of
 * the client on this gateway drops its rows at once.
 */
export function apiKeyAuthenticator(
  db: Kysely<DB>,
  { cacheMs, changes }: { cacheMs: number; changes: ClientChanges },
): Authenticator {
  const rows = new TtlCache<string, KeyRow | undefined>(cacheMs);
  changes.onChange((clientId) => rows.deleteWhere((_prefix, row) => row?.client_id === clientId));
  return async (request) => {
    const presented = presentedToken(request);
    if (presented === undefined) {
      return undefined;
    }
    const parsed = parseApiKey(presented);
    if (!parsed) {
      return MALFORMED;
    }
    // Unknown prefixes are not cached: a key created meanwhile works at once.
    const row = await rows.through(parsed.prefix, () => findKeyRow(db, { prefix: parsed.prefix }), Boolean);
    return authenticateRow(row, parsed.secret);
  };
}

/** Checks a presented API key now, uncached (signing in to the console). */
export async function verifyApiKey(db: Kysely<DB>, presented: string): Promise<Authentication> {
  const parsed = parseApiKey(presented.trim());
  return parsed ? authenticateRow(await findKeyRow(db, { prefix: parsed.prefix }), parsed.secret) : MALFORMED;
}

/** The principal of a key by its id, if it is still usable (a console session rests on its key). */
export async function principalOfKey(db: Kysely<DB>, keyId: string): Promise<Authentication> {
  const row = await findKeyRow(db, { id: keyId });
  return row ? usableKey(row) : INVALID_KEY;
}
