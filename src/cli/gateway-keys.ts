import type { Command } from 'commander';
import { gatewayKeys } from '#app';
import { recordAudit } from '#platform/audit/audit-log';
import { openKeyVault } from '#platform/crypto/open-vault';
import type { OwnKeyInfo } from '#platform/crypto/own-keys';
import { UsageError, withDatabase } from './context.ts';

/**
 * `spx gateway-keys list|rotate`: our own keys (DCI signing and encryption, access token signing),
 * as the admin API shows and rotates them (GET /api/v1/gateway-keys, POST .../{purpose}/rotate).
 * Running gateways see a rotation made here within 5 minutes; the old key keeps working meanwhile.
 */
export function registerGatewayKeysCommand(program: Command): void {
  const command = program
    .command('gateway-keys')
    .description("the gateway's own keys: DCI signing and encryption, access token signing");

  command
    .command('list')
    .description('list our keys and their status (never a private part)')
    .action(async () => {
      await withDatabase(async (database, config) => {
        const { vault } = await openKeyVault(config, database.db);
        for (const store of Object.values(gatewayKeys(database.db, vault))) {
          (await store.list()).forEach((key) => console.log(describe(key)));
        }
      });
    });

  command
    .command('rotate')
    .description('make a new current key; the old one keeps verifying or decrypting for the grace period')
    .argument('<purpose>', 'dci-signing, dci-encryption or token-signing')
    .option(
      '--grace-hours <n>',
      'how long the old key keeps working (default SPX_KEY_GRACE_HOURS; 0: a leaked key)',
    )
    .action(async (purpose: string, options: { graceHours?: string }) => {
      await withDatabase(async (database, config) => {
        const hours = options.graceHours === undefined ? config.keyGraceHours : Number(options.graceHours);
        if (!Number.isFinite(hours) || hours < 0 || hours > 8760) {
          throw new UsageError('--grace-hours must be a number from 0 to 8760');
        }
        const { vault } = await openKeyVault(config, database.db);
        const store = Object.values(gatewayKeys(database.db, vault)).find((s) => s.kind.purpose === purpose);
        if (!store) {
          throw new UsageError('the purpose is one of dci-signing, dci-encryption, token-signing');
        }
        const { current, retired } = await store.rotate(Math.round(hours * 3600));
        await recordAudit(database.db, {
          clientName: 'spx gateway-keys',
          action: 'gateway_key.rotate',
          resourceType: 'gateway_key',
          resourceId: current.id,
          recordCount: 1,
          outcome: 'success',
        });
        console.log(`new ${describe(current)}`);
        if (retired) {
          console.log(`old ${describe(retired)}`);
        }
      });
    });
}

const describe = (key: OwnKeyInfo): string =>
  `${key.purpose}  ${key.id}  ${key.algorithm}  ${key.status}` +
  (key.expiresAt ? `  until ${key.expiresAt.toISOString()}` : '');
