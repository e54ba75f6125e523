import type { Command } from 'commander';
import { verifyAuditChain } from '#platform/audit/audit-log';
import { withDatabase } from './context.ts';

/** `spx audit verify`: recompute the audit hash chain; exits 1 when it is broken. */
export function registerAuditCommand(program: Command): void {
  program
    .command('audit')
    .description('audit trail tools')
    .command('verify')
    .description('check that no audit entry was altered, removed or reordered')
    .action(async () => {
      const result = await withDatabase((database) => verifyAuditChain(database.db));
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
