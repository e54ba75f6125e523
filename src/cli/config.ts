import type { Command } from 'commander';
import { configMarkdownTable, loadConfig } from '#config/load';

/** `spx config`: check the configuration, or print the README's settings table. */
export function registerConfigCommand(program: Command): void {
  program
    .command('config')
    .description('validate the configuration (environment and SPX_CONFIG_FILE)')
    .option('--markdown', 'print the table of all settings, as in the README')
    .action((options: { markdown?: boolean }) => {
      if (options.markdown) {
        console.log(configMarkdownTable());
        return;
      }
      loadConfig();
      console.log('configuration is valid');
    });
}
