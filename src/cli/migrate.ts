import type { Command } from 'commander';
import { loadConfig } from '#config/load';
import { migrate } from '#platform/db/migrate';
import { openConfiguredDatabase, refuseBesideGateway } from './context.ts';

/** `spx migrate`: apply pending migrations (the gateway also does it on start). */
export function registerMigrateCommand(program: Command): void {
  program
    .command('migrate')
    .description('apply pending database migrations')
    .action(async () => {
      const config = loadConfig();
      refuseBesideGateway(
        config,
        'it applied every pending migration when it started; stop it to run spx migrate',
      );
      const database = await openConfiguredDatabase(config);
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
