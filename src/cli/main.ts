import { Command } from 'commander';
import { exitOnError } from './context.ts';
import { registerSeedCommand } from './seed.ts';

/** `spx`: one file per command; each registers itself on the program. */
const program = new Command('spx').description('SP Exchange gateway').showHelpAfterError();
registerSeedCommand(program);

program.parseAsync(process.argv).catch(exitOnError);
