import type { Command } from 'commander';
import {
  createClient,
  createKey,
  findClient,
  listClients,
  listKeys,
  revokeKey,
} from '#platform/auth/clients';
import { ROLES, isRole } from '#platform/auth/roles';
import { ProblemError } from '#platform/http/problem';
import { UsageError, withDatabase } from './context.ts';

/** `spx keys create|list|revoke`: the same functions as the admin API, for the operator's shell. */
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
      await withDatabase(async (database, config) => {
        const client = await findOrCreateClient(database.db, options.client, options.role);
        const days = options.days === undefined ? config.apiKeyTtlDays : Number(options.days);
        if (!Number.isInteger(days) || days < 1 || days > 3650) {
          throw new UsageError('--days must be a whole number from 1 to 3650');
        }
        const scopes = options.scopes
          ?.split(',')
          .map((s) => s.trim())
          .filter(Boolean);
        const key = await asUsage(() => createKey(database.db, client, { scopes, expiresInDays: days }));
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
      await withDatabase(async (database) => {
        const clients = options.client
          ? [await asUsage(() => findClient(database.db, options.client!))]
          : await listClients(database.db);
        for (const client of clients) {
          console.log(
            `${client.name} (${client.role})${client.disabled_at ? ' DISABLED' : ''}  ${client.id}`,
          );
          for (const key of await listKeys(database.db, client.id)) {
            const state = key.revoked_at
              ? 'revoked'
              : key.expires_at && key.expires_at < new Date()
                ? 'expired'
                : 'active';
            console.log(
              `  ${key.id}  spx_${key.prefix}_…  ${state}  expires ${key.expires_at?.toISOString() ?? 'never'}  scopes ${key.scopes.join(' ')}`,
            );
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
      await withDatabase(async (database) => {
        const key = await asUsage(() => revokeKey(database.db, keyId));
        console.log(`key ${key.id} revoked at ${key.revoked_at?.toISOString()}`);
      });
    });
}

async function findOrCreateClient(
  db: Parameters<typeof findClient>[0],
  name: string,
  role: string | undefined,
) {
  try {
    const client = await findClient(db, name);
    if (role && role !== client.role) {
      throw new UsageError(`client "${name}" exists with role ${client.role}`);
    }
    return client;
  } catch (error) {
    if (!(error instanceof ProblemError) || error.status !== 404) {
      throw error;
    }
    if (!role || !isRole(role)) {
      throw new UsageError(`client "${name}" does not exist: give --role (${ROLES.join(', ')}) to create it`);
    }
    return asUsage(() => createClient(db, { name, role }));
  }
}

/** Turns the API's problems (bad scope, unknown key) into one-line usage errors. */
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
