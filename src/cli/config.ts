import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { configMarkdownTable, loadConfig } from '#config/load';
import { UsageError } from './errors.ts';
import { MissingSectionError, replaceSection } from './markdown-section.ts';

/** `spx config`: check the configuration, or print (or refresh in docs/configuration.md) the settings table. */
export function registerConfigCommand(program: Command): void {
  program
    .command('config')
    .description('validate the configuration (environment and SPX_CONFIG_FILE)')
    .option('--markdown', 'print the table of all settings')
    .option('--update-docs <file>', 'rewrite the settings table between its markers in this file')
    .action((options: { markdown?: boolean; updateDocs?: string }) => {
      if (options.markdown) {
        console.log(configMarkdownTable());
      } else if (options.updateDocs) {
        updateDocs(options.updateDocs);
      } else {
        loadConfig();
        console.log('configuration is valid');
      }
    });
}

function updateDocs(file: string): void {
  try {
    writeFileSync(file, replaceSection(readFileSync(file, 'utf8'), 'settings', configMarkdownTable()));
  } catch (error) {
    throw error instanceof MissingSectionError ? new UsageError(`${file}: ${error.message}`) : error;
  }
  console.log(`settings table of ${file} updated`);
}
