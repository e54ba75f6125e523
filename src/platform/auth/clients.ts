import type { Kysely } from 'kysely';
import type { DB } from '#platform/db/types';
import { conflict, notFound, badRequest } from '#platform/problem';
import { generateApiKey } from './api-keys.ts';
import { assertMayAttach, assertNotWider } from './credential-reach.ts';
import type { Principal } from './principal.ts';
import { isPermission, isRole, roleDefinitions, type Permission, type Role } from './roles.ts';

export interface ClientRecord {
  id: string;
  name: string;
  role: Role;
  description: string | null;
  created_at: Date;
  disabled_at: Date | null;
  /** May authenticate with HTTP Basic on every route, not only the OpenRosa ones (http-basic.ts). */
  http_basic: boolean;
}

export interface KeyRecord {
  id: string;
  client_id: string;
  prefix: string;
  scopes: string[];
  expires_at: Date | null;
  revoked_at: Date | null;
  last_used_at: Date | null;
  created_at: Date;
}

const clientColumns = [
  'id',
  'name',
  'role',
  'description',
  'created_at',
  'disabled_at',
  'http_basic',
] as const;
const keyColumns = [
  'id',
  'client_id',
  'prefix',
  'scopes',
  'expires_at',
  'revoked_at',
  'last_used_at',
  'created_at',
] as const;

/** Creates a client (a system or person calling the API). Only holders of every permission of the role may. */
export async function createClient(
  db: Kysely<DB>,
  input: { name: string; role: string; description?: string | undefined },
  creator?: Principal,
): Promise<ClientRecord> {
  if (!isRole(input.role)) {
    throw badRequest(`unknown role "${input.role}"`, [{ pointer: '/role', detail: 'unknown role' }]);
  }
  // A new client holds no credential yet: what its role permits is checked now, what its
  // credentials show (fields, areas) when each is attached.
  assertNotWider(
    creator,
    { permissions: roleDefinitions[input.role].permissions },
    `create a client with role ${input.role}`,
  );
  const existing = await db
    .selectFrom('api_clients')
    .select('id')
    .where('name', '=', input.name)
    .executeTakeFirst();
  if (existing) {
    throw conflict(`a client named "${input.name}" already exists`);
  }
  const row = await db
    .insertInto('api_clients')
    .values({
      name: input.name,
      role: input.role,
      description: input.description ?? null,
      created_by: creator?.clientId ?? null,
    })
    .returning(clientColumns)
    .executeTakeFirstOrThrow();
  return row as ClientRecord;
}

export const listClients = async (db: Kysely<DB>): Promise<ClientRecord[]> =>
  (await db
    .selectFrom('api_clients')
    .select(clientColumns)
    .orderBy('created_at')
    .orderBy('id')
    .execute()) as ClientRecord[];

export async function findClient(db: Kysely<DB>, idOrName: string): Promise<ClientRecord> {
  const isUuid = /^[0-9a-f-]{36}$/i.test(idOrName);
  const row = await db
    .selectFrom('api_clients')
    .select(clientColumns)
    .where(isUuid ? 'id' : 'name', '=', idOrName)
    .executeTakeFirst();
  if (!row) {
    throw notFound('client');
  }
  return row as ClientRecord;
}

export interface ClientChange {
  description?: string | null | undefined;
  /** true disables the client (every credential stops at once), false enables it again. */
  disabled?: boolean | undefined;
  /** true lets it authenticate with HTTP Basic on every route, false on the OpenRosa routes only. */
  http_basic?: boolean | undefined;
}

/**
 * Changes a client's description, whether it may use HTTP Basic everywhere, or enables/disables it.
 * Clients are never deleted: the audit trail, DCI exchanges and subscriptions keep naming them; a
 * client that should no longer call is disabled. A principal cannot disable its own client (it would
 * lock itself out mid-request).
 */
export async function updateClient(
  db: Kysely<DB>,
  client: ClientRecord,
  change: ClientChange,
  by?: Principal,
): Promise<ClientRecord> {
  if (change.disabled === true && by?.clientId === client.id) {
    throw conflict('a client cannot disable itself: ask another administrator');
  }
  if (change.disabled === false && client.disabled_at) {
    // Enabling a client brings every credential it holds back to life: the rule of attaching one.
    await assertMayAttach(db, by, client, 'enable this client');
  }
  const row = await db
    .updateTable('api_clients')
    .set((eb) => ({
      ...(change.description !== undefined ? { description: change.description } : {}),
      ...(change.http_basic !== undefined ? { http_basic: change.http_basic } : {}),
      ...(change.disabled === undefined
        ? {}
        : { disabled_at: change.disabled ? eb.fn.coalesce('disabled_at', eb.fn<Date>('now', [])) : null }),
    }))
    .where('id', '=', client.id)
    .returning(clientColumns)
    .executeTakeFirstOrThrow();
  return row as ClientRecord;
}

/**
 * Issues a key for a client. Its scopes default to the role's permissions and may only narrow them;
 * a key is never wider than the principal who creates it (immich's rule).
 */
export async function createKey(
  db: Kysely<DB>,
  client: ClientRecord,
  input: { scopes?: string[] | undefined; expiresInDays: number },
  creator?: Principal,
): Promise<KeyRecord & { key: string }> {
  const scopes = await grantedScopes(db, client, input.scopes, creator, 'issue a key with these scopes');
  if (client.disabled_at) {
    throw conflict('the client is disabled');
  }
  const generated = generateApiKey();
  const row = await db
    .insertInto('api_keys')
    .values({
      client_id: client.id,
      prefix: generated.prefix,
      secret_hash: generated.secretHash,
      scopes,
      expires_at: new Date(Date.now() + input.expiresInDays * 86_400_000),
      created_by: creator?.clientId ?? null,
    })
    .returning(keyColumns)
    .executeTakeFirstOrThrow();
  return { ...row, key: generated.key };
}

export const listKeys = async (db: Kysely<DB>, clientId: string): Promise<KeyRecord[]> =>
  await db
    .selectFrom('api_keys')
    .select(keyColumns)
    .where('client_id', '=', clientId)
    .orderBy('created_at')
    .execute();

/** Revokes a key at once; revoking twice is harmless. */
export async function revokeKey(db: Kysely<DB>, keyId: string): Promise<KeyRecord> {
  const row = await db
    .updateTable('api_keys')
    .set((eb) => ({ revoked_at: eb.fn.coalesce('revoked_at', eb.fn<Date>('now', [])) }))
    .where('id', '=', keyId)
    .returning(keyColumns)
    .executeTakeFirst();
  if (!row) {
    throw notFound('key');
  }
  return row;
}

/**
 * The scopes of a new credential of the client (an API key, an OAuth credential): by default the
 * role's permissions; asked ones must lie within them, and the credential never reaches beyond what
 * the creator holds (credential-reach.ts).
 */
export async function grantedScopes(
  db: Kysely<DB>,
  client: ClientRecord,
  asked: readonly string[] | undefined,
  creator: Principal | undefined,
  what: string,
): Promise<Permission[]> {
  const rolePermissions = roleDefinitions[client.role].permissions;
  const scopes = asked ?? [...rolePermissions];
  const unknown = scopes.filter((s) => !isPermission(s) || !rolePermissions.includes(s));
  if (unknown.length > 0) {
    throw badRequest(`scopes not granted to role ${client.role}: ${unknown.join(', ')}`, [
      { pointer: '/scopes', detail: `allowed: ${rolePermissions.join(', ')}` },
    ]);
  }
  await assertMayAttach(db, creator, client, what, scopes as Permission[]);
  return scopes as Permission[];
}
