import type { Kysely } from 'kysely';
import { TtlCache } from '#platform/cache/ttl-cache';
import type { DB } from '#platform/db/types';
import { encryptionSettingsOf, type EncryptionSettings } from './encryption/keys.ts';
import { signatureSettingsOf, type SignatureSettings } from './signature/keys.ts';

/**
 * What a DCI route needs of the calling client's settings, read once per request (one indexed row):
 * its signature policy, its encryption settings and whether it receives records only with their
 * subjects' consent.
 */
export interface ClientPolicy {
  signature: SignatureSettings;
  encryption: EncryptionSettings;
  consentRequired: boolean;
}

export async function findClientPolicy(db: Kysely<DB>, clientId: string): Promise<ClientPolicy> {
  const row = await db
    .selectFrom('dci_client_settings')
    .select([
      'signature_policy',
      'jwks_uri',
      'updated_at',
      'consent_required',
      'encryption_required',
      'encrypt_messages',
    ])
    .where('client_id', '=', clientId)
    .executeTakeFirst();
  return {
    signature: signatureSettingsOf(row),
    encryption: encryptionSettingsOf(row),
    consentRequired: row?.consent_required ?? false,
  };
}

/**
 * Client policies as DCI routes read them: cached for `cacheMs` per client, dropped at once when the
 * client changes on this gateway (`forget`, called on app.clientChanges).
 */
export interface ClientPolicies {
  of(clientId: string): Promise<ClientPolicy>;
  forget(clientId: string): void;
}

export function createClientPolicies(db: Kysely<DB>, { cacheMs }: { cacheMs: number }): ClientPolicies {
  const cache = new TtlCache<string, ClientPolicy>(cacheMs);
  return {
    of: (clientId) => cache.through(clientId, () => findClientPolicy(db, clientId)),
    forget: (clientId) => cache.deleteWhere((id) => id === clientId),
  };
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The calling client's DCI policy, on DCI routes (read before the signature check). */
    dciPolicy?: ClientPolicy;
  }
}
