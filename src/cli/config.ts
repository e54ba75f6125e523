import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { configMarkdownTable, loadConfig } from '#config/load';
import { UsageError } from './errors.ts';

const START = '<!-- settings:start -->';
const END = '<!-- settings:end -->';

/** `spx config`: check the configuration, or print (or refresh in the README) the settings table. */
export function registerConfigCommand(program: Command): void {
  program
    .command('config')
    .description('validate the configuration (environment and SPX_CONFIG_FILE)')
    .option('--markdown', 'print the table of all settings')
    .option('--update-readme <file>', 'rewrite the settings table between its markers in this file')
    .action((options: { markdown?: boolean; updateReadme?: string }) => {
      if (options.markdown) {
        console.log(configMarkdownTable());
      } else if (options.updateReadme) {
        updateReadme(options.updateReadme);
      } else {
        loadConfig();
        console.log('configuration is valid');
      }
    });
}

function updateReadme(file: string): void {
  const text = readFileSync(file, 'utf8');
  const start = text.indexOf(START);
  const end = text.indexOf(END);
  if (start < 0 || end < start) {
    throw new UsageError(`${file} has no ${START} ... ${END} markers`);
  }
  writeFileSync(file, `${text.slice(0, start + START.length)}\n${configMarkdownTable()}\n${text.slice(end)}`);
  console.log(`settings table of ${file} updated`);
}
