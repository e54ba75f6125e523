import type { Command } from 'commander';
import { loadConfig } from '#config/load';
import { migrate } from '#platform/db/migrate';
import { openConfiguredDatabase } from './context.ts';

/** `spx migrate`: apply pending migrations (the gateway also does it on start). */
export function registerMigrateCommand(program: Command): void {
  program
    .command('migrate')
    .description('apply pending database migrations')
    .action(async () => {
      const database = await openConfiguredDatabase(loadConfig());
      try {
        const applied = await migrate(database);
        console.log(
          applied.length ? `applied migrations ${applied.join(', ')}` : 'the database is up to date',
        );
      } finally {
        await database.close();
      }
    });
}
