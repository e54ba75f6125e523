import type { Command } from 'commander';
import { loadConfig } from '#config/load';
import { exitGracefullyOnSignals, startGateway } from './gateway.ts';
import { refuseBesideGateway } from './context.ts';

/** `spx start`: the gateway, with demo data on the first start of an empty registry. */
export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description('start the gateway (migrates the database; loads demo data into an empty registry)')
    .action(async () => {
      const config = loadConfig();
      refuseBesideGateway(
        config,
        'it is already started; stop it first, or give this one another SPX_DATA_DIR',
      );
      const gateway = await startGateway(config, { announce: true });
      exitGracefullyOnSignals(gateway, config.shutdownTimeoutMs);
    });
}
