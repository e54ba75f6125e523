import type { Kysely } from 'kysely';
import type { DB } from '#platform/db/types';
import { signatureSettingsOf, type SignatureSettings } from './signature/keys.ts';

/**
 * What a DCI route needs of the calling client's settings, read once per request (one indexed row):
 * its signature policy and whether it receives records only with their subjects' consent.
 */
export interface ClientPolicy {
  signature: SignatureSettings;
  consentRequired: boolean;
}

export async function findClientPolicy(db: Kysely<DB>, clientId: string): Promise<ClientPolicy> {
  const row = await db
    .selectFrom('dci_client_settings')
    .select(['signature_policy', 'jwks_uri', 'updated_at', 'consent_required'])
    .where('client_id', '=', clientId)
    .executeTakeFirst();
  return { signature: signatureSettingsOf(row), consentRequired: row?.consent_required ?? false };
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The calling client's DCI policy, on DCI routes (read before the signature check). */
    dciPolicy?: ClientPolicy;
  }
}
