import type { FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { DB } from '#platform/db/types';
import type { PrincipalCheck } from './access-control.ts';

/**
 * HTTP Basic (RFC 7617, the API key as password) exists for ODK Collect, which can send nothing
 * else: it is accepted on the routes that declare `httpBasic` (the OpenRosa routes under /odk), and
 * elsewhere only from clients an administrator allowed it (`http_basic`, PATCH /clients/{id}). A
 * password in a Basic header is easier to leak than a bearer token (browsers cache and replay it,
 * proxies and tools log it), so the rest of the API does not invite it.
 */

const usesHttpBasic = (request: FastifyRequest) => /^basic /i.test(request.headers.authorization ?? '');

const REFUSAL =
  'HTTP Basic is accepted only on the OpenRosa routes (/odk) and from clients allowed it (PATCH ' +
  '/api/v1/clients/{id} with "http_basic": true): send the key as "Authorization: Bearer <key>" or "X-API-Key"';

/** Refuses a principal authenticated by HTTP Basic on a route that does not take it, unless its client may. */
export function httpBasicCheck(db: Kysely<DB>): PrincipalCheck {
  return async (request, principal) => {
    const access = request.routeOptions.config.access;
    if (!usesHttpBasic(request) || (access && 'httpBasic' in access && access.httpBasic === true)) {
      return undefined;
    }
    const client = await db
      .selectFrom('api_clients')
      .select('http_basic')
      .where('id', '=', principal.clientId)
      .executeTakeFirst();
    return client?.http_basic ? undefined : REFUSAL;
  };
}
