import type { Command } from 'commander';
import { loadConfig } from '#config/load';
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
      // Loaded when used: the other commands never load the gateway's modules (a spx process starts in
      // half the time and memory).
      const { exitGracefullyOnSignals, startGateway } = await import('./gateway.ts');
      const gateway = await startGateway(config, { announce: true });
      exitGracefullyOnSignals(gateway, config.shutdownTimeoutMs);
    });
}
