import type { Command } from 'commander';
import { loadConfig } from '#config/load';
import { exitGracefullyOnSignals, startGateway } from '../main.ts';

/** `spx start`: the gateway, with demo data on the first start of an empty registry. */
export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description('start the gateway (migrates the database; loads demo data into an empty registry)')
    .action(async () => {
      const config = loadConfig();
      const gateway = await startGateway(config, { announce: true });
      exitGracefullyOnSignals(gateway, config.shutdownTimeoutMs);
    });
}
