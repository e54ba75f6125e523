/** An expected failure of a command, said in one line (`spx: …`): exit code 1. */
export class CommandError extends Error {
  override name = 'CommandError';
  readonly exitCode: number = 1;
}

/** A wrong command-line argument: exit code 2. */
export class UsageError extends CommandError {
  override name = 'UsageError';
  override readonly exitCode: number = 2;
}
