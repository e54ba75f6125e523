import type { Command } from 'commander';
import { verifyAuditChain, type ChainVerification } from '#platform/audit/audit-log';
import { withDatabaseOrGateway } from './context.ts';

/**
 * `spx audit verify`: recompute the audit hash chain; exits 1 when it is broken. While the gateway
 * runs on the embedded database, the gateway recomputes it (GET /api/v1/audit/verify).
 */
export function registerAuditCommand(program: Command): void {
  program
    .command('audit')
    .description('audit trail tools')
    .command('verify')
    .description('check that no audit entry was altered, removed or reordered')
    .action(async () => {
      const result = await withDatabaseOrGateway<ChainVerification>({
        database: (database) => verifyAuditChain(database.db),
        gateway: async (api) => {
          const answer = await api.call<{
            ok: boolean;
            checked: number;
            first_broken_seq?: number;
            reason?: string;
          }>('GET', '/api/v1/audit/verify');
          return {
            ok: answer.ok,
            checked: answer.checked,
            firstBrokenSeq: answer.first_broken_seq,
            reason: answer.reason,
          };
        },
      });
      if (result.ok) {
        console.log(`audit chain intact: ${result.checked} entries verified`);
        return;
      }
      console.error(
        `audit chain BROKEN at entry ${result.firstBrokenSeq}: ${result.reason} (${result.checked} entries verified before it)`,
      );
      process.exitCode = 1;
    });
}
