import type { Command } from 'commander';
import type { Kysely } from 'kysely';
import type { Config } from '#config/settings';
import {
  createClient,
  createKey,
  findClient,
  listClients,
  listKeys,
  revokeKey,
  type ClientRecord,
  type KeyRecord,
} from '#platform/auth/clients';
import { ROLES, isRole, type Role } from '#platform/auth/roles';
import type { DB } from '#platform/db/types';
import { ProblemError } from '#platform/problem';
import { withDatabaseOrGateway } from './context.ts';
import { UsageError } from './errors.ts';
import type { GatewayApi } from './gateway-api.ts';

/**
 * `spx keys create|list|revoke`: the same functions as the admin API, for the operator's shell; while
 * the gateway runs on the embedded database, through that API.
 */
export function registerKeysCommand(program: Command): void {
  const keys = program.command('keys').description('manage API clients and their keys');

  keys
    .command('create')
    .description('issue a key for a client (the client is created if it does not exist yet)')
    .requiredOption('--client <name>', 'client name')
    .option('--role <role>', `role of a new client: ${ROLES.join(', ')}`)
    .option('--scopes <list>', 'comma-separated scopes narrower than the role (default: all of the role)')
    .option('--days <n>', 'lifetime in days (default SPX_API_KEY_TTL_DAYS)')
    .action(async (options: { client: string; role?: string; scopes?: string; days?: string }) => {
      await withClients(async (clients, config) => {
        const client = await findOrCreateClient(clients, options.client, options.role);
        const days = options.days === undefined ? config.apiKeyTtlDays : Number(options.days);
        if (!Number.isInteger(days) || days < 1 || days > 3650) {
          throw new UsageError('--days must be a whole number from 1 to 3650');
        }
        const scopes = options.scopes
          ?.split(',')
          .map((s) => s.trim())
          .filter(Boolean);
        const key = await clients.issueKey(client, scopes, days);
        console.log(
          `key ${key.id} for client "${client.name}" (${client.role}), scopes ${key.scopes.join(' ')}, expires ${key.expires_at?.toISOString()}`,
        );
        console.log('The key is shown only now; only its hash is stored:');
        console.log(key.key);
      });
    });

  keys
    .command('list')
    .description('list clients and their keys (never the secrets)')
    .option('--client <name>', 'only this client')
    .action(async (options: { client?: string }) => {
      await withClients(async (clients) => {
        const listed = options.client ? [await existing(clients, options.client)] : await clients.list();
        for (const client of listed) {
          console.log(
            `${client.name} (${client.role})${client.disabled_at ? ' DISABLED' : ''}  ${client.id}`,
          );
          for (const key of await clients.keys(client.id)) {
            console.log(`  ${describeKey(key)}`);
          }
        }
      });
    });

  keys
    .command('revoke')
    .description('revoke a key at once')
    .argument('<key-id>', 'the id shown by `spx keys list`')
    .action(async (keyId: string) => {
      if (!/^[0-9a-f-]{36}$/i.test(keyId)) {
        throw new UsageError('key id must be a UUID as shown by `spx keys list`');
      }
      await withClients(async (clients) => {
        const key = await clients.revoke(keyId);
        console.log(`key ${key.id} revoked at ${key.revoked_at?.toISOString()}`);
      });
    });
}

/** What `spx keys` does with clients, on the database or through the gateway's admin API. */
interface Clients {
  find(name: string): Promise<ClientRecord | undefined>;
  create(name: string, role: Role): Promise<ClientRecord>;
  list(): Promise<ClientRecord[]>;
  issueKey(client: ClientRecord, scopes: string[] | undefined, days: number): Promise<NewKey>;
  keys(clientId: string): Promise<KeyRecord[]>;
  revoke(keyId: string): Promise<KeyRecord>;
}
type NewKey = KeyRecord & { key: string };

const withClients = (work: (clients: Clients, config: Config) => Promise<void>) =>
  withDatabaseOrGateway({
    database: (database, config) => asUsage(() => work(onDatabase(database.db), config)),
    gateway: (api, config) => work(throughGateway(api), config),
  });

const onDatabase = (db: Kysely<DB>): Clients => ({
  find: (name) => findClient(db, name).catch(undefinedIfNotFound),
  create: (name, role) => createClient(db, { name, role }),
  list: () => listClients(db),
  issueKey: (client, scopes, days) => createKey(db, client, { scopes, expiresInDays: days }),
  keys: (clientId) => listKeys(db, clientId),
  revoke: (keyId) => revokeKey(db, keyId),
});

const throughGateway = (api: GatewayApi): Clients => {
  const list = async () => (await api.call<{ items: ClientRecord[] }>('GET', '/api/v1/clients')).items;
  return {
    // By name or id, as findClient does on the database.
    find: async (name) => (await list()).find((client) => client.name === name || client.id === name),
    create: (name, role) => api.call('POST', '/api/v1/clients', { name, role }),
    list,
    issueKey: (client, scopes, days) =>
      api.call('POST', `/api/v1/clients/${client.id}/keys`, { scopes, expires_in_days: days }),
    keys: async (clientId) =>
      (await api.call<{ items: KeyRecord[] }>('GET', `/api/v1/clients/${clientId}/keys`)).items,
    revoke: (keyId) => api.call('DELETE', `/api/v1/keys/${keyId}`),
  };
};

async function existing(clients: Clients, name: string): Promise<ClientRecord> {
  const client = await clients.find(name);
  if (!client) {
    throw new UsageError(`no client "${name}"`);
  }
  return client;
}

async function findOrCreateClient(clients: Clients, name: string, role: string | undefined) {
  const client = await clients.find(name);
  if (client) {
    if (role && role !== client.role) {
      throw new UsageError(`client "${name}" exists with role ${client.role}`);
    }
    return client;
  }
  if (!role || !isRole(role)) {
    throw new UsageError(`client "${name}" does not exist: give --role (${ROLES.join(', ')}) to create it`);
  }
  return clients.create(name, role);
}

function describeKey(key: KeyRecord): string {
  const state = key.revoked_at
    ? 'revoked'
    : key.expires_at && key.expires_at < new Date()
      ? 'expired'
      : 'active';
  return `${key.id}  spx_${key.prefix}_…  ${state}  expires ${key.expires_at?.toISOString() ?? 'never'}  scopes ${key.scopes.join(' ')}`;
}

function undefinedIfNotFound(error: unknown): undefined {
  if (error instanceof ProblemError && error.status === 404) {
    return undefined;
  }
  throw error;
}

/** Turns the database functions' problems (bad scope, unknown key) into one-line usage errors. */
async function asUsage<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ProblemError && error.status < 500) {
      throw new UsageError(error.detail ?? error.title);
    }
    throw error;
  }
}
