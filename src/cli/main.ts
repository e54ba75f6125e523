import { exitOnError } from './context.ts';
import { spxProgram } from './program.ts';

spxProgram().parseAsync(process.argv).catch(exitOnError);
