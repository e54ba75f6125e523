import { Command } from 'commander';
import { registerAuditCommand } from './audit.ts';
import { registerCertsCommand } from './certs.ts';
import { registerConfigCommand } from './config.ts';
import { registerDciCommand } from './dci.ts';
import { registerExportCommand } from './export.ts';
import { registerGatewayKeysCommand } from './gateway-keys.ts';
import { registerKeysCommand } from './keys.ts';
import { registerMigrateCommand } from './migrate.ts';
import { registerSeedCommand } from './seed.ts';
import { registerStartCommand } from './start.ts';

/** `spx`: one file per command; each registers itself on the program. */
export function spxProgram(): Command {
  const program = new Command('spx').description('SP Exchange gateway').showHelpAfterError();
  registerStartCommand(program);
  registerMigrateCommand(program);
  registerSeedCommand(program);
  registerKeysCommand(program);
  registerAuditCommand(program);
  registerConfigCommand(program);
  registerDciCommand(program);
  registerCertsCommand(program);
  registerGatewayKeysCommand(program);
  registerExportCommand(program);
  return program;
}
