import type { Command } from 'commander';
import type { Config } from '#config/settings';
import { recordAudit } from '#platform/audit/audit-log';
import { openKeyVault } from '#platform/crypto/open-vault';
import type { Database } from '#platform/db/database';
import { withDatabaseOrGateway } from './context.ts';
import { UsageError } from './errors.ts';
import type { GatewayApi } from './gateway-api.ts';

/**
 * `spx gateway-keys list|rotate`: our own keys (DCI signing and encryption, access token signing),
 * as the admin API shows and rotates them (GET /api/v1/gateway-keys, POST .../{purpose}/rotate), and
 * through that API while the gateway runs on the embedded database. Running gateways see a rotation
 * made on the database within 5 minutes; the old key keeps working meanwhile.
 */

const PURPOSES = ['dci-signing', 'dci-encryption', 'token-signing'];

/** A key as the command prints it, from the database or from the admin API. */
interface KeyLine {
  purpose: string;
  id: string;
  algorithm: string;
  status: string;
  expiresAt: Date | null;
}

interface Rotation {
  current: KeyLine;
  retired: KeyLine | undefined;
}

export function registerGatewayKeysCommand(program: Command): void {
  const command = program
    .command('gateway-keys')
    .description("the gateway's own keys: DCI signing and encryption, access token signing");

  command
    .command('list')
    .description('list our keys and their status (never a private part)')
    .action(async () => {
      const keys = await withDatabaseOrGateway<KeyLine[]>({
        database: async (database, config) => {
          const stores = Object.values(await storesOf(database, config));
          return (await Promise.all(stores.map((store) => store.list()))).flat();
        },
        gateway: async (api) =>
          (await api.call<{ items: ApiKey[] }>('GET', '/api/v1/gateway-keys')).items.map(fromApi),
      });
      keys.forEach((key) => console.log(describe(key)));
    });

  command
    .command('rotate')
    .description('make a new current key; the old one keeps verifying or decrypting for the grace period')
    .argument('<purpose>', PURPOSES.join(', '))
    .option(
      '--grace-hours <n>',
      'how long the old key keeps working (default SPX_KEY_GRACE_HOURS; 0: a leaked key)',
    )
    .action(async (purpose: string, options: { graceHours?: string }) => {
      if (!PURPOSES.includes(purpose)) {
        throw new UsageError(`the purpose is one of ${PURPOSES.join(', ')}`);
      }
      const { current, retired } = await withDatabaseOrGateway<Rotation>({
        database: (database, config) => rotateOnDatabase(database, config, purpose, options.graceHours),
        gateway: (api, config) =>
          rotateThroughGateway(api, purpose, graceHoursOf(options.graceHours, config)),
      });
      console.log(`new ${describe(current)}`);
      if (retired) {
        console.log(`old ${describe(retired)}`);
      }
    });
}

function graceHoursOf(text: string | undefined, config: Config): number {
  const hours = text === undefined ? config.keyGraceHours : Number(text);
  if (!Number.isFinite(hours) || hours < 0 || hours > 8760) {
    throw new UsageError('--grace-hours must be a number from 0 to 8760');
  }
  return hours;
}

async function storesOf(database: Database, config: Config) {
  const { vault } = await openKeyVault(config, database.db);
  // Loaded when used: the whole gateway's modules would double what every other command loads.
  const { gatewayKeys } = await import('#app');
  return gatewayKeys(database.db, vault);
}

async function rotateOnDatabase(
  database: Database,
  config: Config,
  purpose: string,
  grace: string | undefined,
): Promise<Rotation> {
  const hours = graceHoursOf(grace, config);
  const store = Object.values(await storesOf(database, config)).find((s) => s.kind.purpose === purpose)!;
  const rotated = await store.rotate(Math.round(hours * 3600));
  await recordAudit(database.db, {
    clientName: 'spx gateway-keys',
    action: 'gateway_key.rotate',
    resourceType: 'gateway_key',
    resourceId: rotated.current.id,
    recordCount: 1,
    outcome: 'success',
  });
  return rotated;
}

async function rotateThroughGateway(api: GatewayApi, purpose: string, hours: number): Promise<Rotation> {
  const rotated = await api.call<{ current: ApiKey; retired: ApiKey | null }>(
    'POST',
    `/api/v1/gateway-keys/${purpose}/rotate`,
    { grace_hours: hours },
  );
  return {
    current: fromApi(rotated.current),
    retired: rotated.retired ? fromApi(rotated.retired) : undefined,
  };
}

/** A key as GET /api/v1/gateway-keys shows it (timestamps made Dates by the API client). */
interface ApiKey {
  kid: string;
  purpose: string;
  algorithm: string;
  status: string;
  expires_at: Date | null;
}

const fromApi = (key: ApiKey): KeyLine => ({
  purpose: key.purpose,
  id: key.kid,
  algorithm: key.algorithm,
  status: key.status,
  expiresAt: key.expires_at,
});

const describe = (key: KeyLine): string =>
  `${key.purpose}  ${key.id}  ${key.algorithm}  ${key.status}` +
  (key.expiresAt ? `  until ${key.expiresAt.toISOString()}` : '');
