import { sql, type Kysely } from 'kysely';
import { TtlCache } from '#platform/cache/ttl-cache';
import type { DB } from '#platform/db/types';

/**
 * External identity providers (oauth_identity_providers): one small query each, and the enabled
 * ones cached by issuer for the token authenticator (dropped at once when an admin changes one).
 */

export interface ProviderRecord {
  id: string;
  name: string;
  issuer: string;
  jwks_uri: string;
  audience: string;
  client_claim: string;
  permissions_claim: string;
  permissions_map: Record<string, string>;
  allow_private_addresses: boolean;
  created_at: Date;
  updated_at: Date;
  disabled_at: Date | null;
}

const columns = [
  'id',
  'name',
  'issuer',
  'jwks_uri',
  'audience',
  'client_claim',
  'permissions_claim',
  'permissions_map',
  'allow_private_addresses',
  'created_at',
  'updated_at',
  'disabled_at',
] as const;

export type ProviderSettings = Pick<
  ProviderRecord,
  | 'name'
  | 'issuer'
  | 'jwks_uri'
  | 'audience'
  | 'client_claim'
  | 'permissions_claim'
  | 'permissions_map'
  | 'allow_private_addresses'
>;

const valuesOf = (settings: ProviderSettings) => ({
  ...settings,
  permissions_map: JSON.stringify(settings.permissions_map),
});

/** Inserts a provider; undefined when its name or issuer is taken. */
export const insertProvider = async (
  db: Kysely<DB>,
  settings: ProviderSettings,
  createdBy: string | undefined,
): Promise<ProviderRecord | undefined> =>
  await db
    .insertInto('oauth_identity_providers')
    .values({ ...valuesOf(settings), created_by: createdBy ?? null })
    .onConflict((oc) => oc.doNothing())
    .returning(columns)
    .executeTakeFirst();

/** Replaces a provider's settings; undefined when there is no such provider. */
export const updateProvider = async (
  db: Kysely<DB>,
  id: string,
  settings: ProviderSettings,
): Promise<ProviderRecord | undefined> =>
  await db
    .updateTable('oauth_identity_providers')
    .set({ ...valuesOf(settings), updated_at: sql`now()` })
    .where('id', '=', id)
    .returning(columns)
    .executeTakeFirst();

/** Is this name or issuer taken by another provider than `exceptId`? */
export const findClashingProvider = (
  db: Kysely<DB>,
  settings: Pick<ProviderSettings, 'name' | 'issuer'>,
  exceptId: string | null,
) =>
  db
    .selectFrom('oauth_identity_providers')
    .select(['name', 'issuer'])
    .where((eb) => eb.or([eb('name', '=', settings.name), eb('issuer', '=', settings.issuer)]))
    .$if(exceptId !== null, (qb) => qb.where('id', '<>', exceptId!))
    .executeTakeFirst();

/** Disables a provider at once (its tokens are refused); disabling twice is harmless. */
export const disableProvider = async (db: Kysely<DB>, id: string): Promise<ProviderRecord | undefined> =>
  await db
    .updateTable('oauth_identity_providers')
    .set((eb) => ({ disabled_at: eb.fn.coalesce('disabled_at', sql<Date>`now()`), updated_at: sql`now()` }))
    .where('id', '=', id)
    .returning(columns)
    .executeTakeFirst();

export const findProvider = async (db: Kysely<DB>, id: string): Promise<ProviderRecord | undefined> =>
  await db.selectFrom('oauth_identity_providers').select(columns).where('id', '=', id).executeTakeFirst();

export const listProviders = async (db: Kysely<DB>): Promise<ProviderRecord[]> =>
  await db
    .selectFrom('oauth_identity_providers')
    .select(columns)
    .orderBy('created_at')
    .orderBy('id')
    .execute();

const listEnabled = async (db: Kysely<DB>): Promise<ProviderRecord[]> =>
  await db.selectFrom('oauth_identity_providers').select(columns).where('disabled_at', 'is', null).execute();

/**
 * The enabled providers, read at most every `cacheMs` (a token of an unknown issuer costs no query
 * within that time); `changed` drops them after an admin change on this gateway.
 */
export class EnabledProviders {
  private readonly cache: TtlCache<'enabled', ReadonlyMap<string, ProviderRecord>>;

  constructor(
    private readonly db: Kysely<DB>,
    cacheMs: number,
  ) {
    this.cache = new TtlCache(cacheMs, 1);
  }

  async byIssuer(issuer: string): Promise<ProviderRecord | undefined> {
    return (await this.all()).get(issuer);
  }

  async byId(id: string): Promise<ProviderRecord | undefined> {
    return [...(await this.all()).values()].find((provider) => provider.id === id);
  }

  /** An enabled provider by its registered name (the one console sign-in is configured with). */
  async byName(name: string): Promise<ProviderRecord | undefined> {
    return [...(await this.all()).values()].find((provider) => provider.name === name);
  }

  changed(): void {
    this.cache.deleteWhere(() => true);
  }

  private all(): Promise<ReadonlyMap<string, ProviderRecord>> {
    return this.cache.through('enabled', async () => {
      const providers = await listEnabled(this.db);
      return new Map(providers.map((provider) => [provider.issuer, provider]));
    });
  }
}
