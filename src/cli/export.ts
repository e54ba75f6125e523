import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import type { Kysely } from 'kysely';
import type { Config } from '#config/settings';
import { recordAudit } from '#platform/audit/audit-log';
import { principalFor, type Principal } from '#platform/auth/principal';
import { roleDefinitions } from '#platform/auth/roles';
import { openKeyVault } from '#platform/crypto/open-vault';
import type { Database } from '#platform/db/database';
import type { DB } from '#platform/db/types';
import { ProblemError } from '#platform/problem';
import { findDefinition } from '#exports/definitions';
import { EXPORT_FORMATS, type ExportFormat } from '#exports/formats/index';
import { planExport } from '#exports/plan';
import { isLegalBasis, isPurpose, LEGAL_BASES } from '#exports/statement';
import { recipientOf } from '#exports/recipient';
import { startExport } from '#exports/run';
import { countExport } from '#exports/source';
import { besideGateway, withDatabaseOrGateway } from './context.ts';
import { UsageError } from './errors.ts';
import type { GatewayApi } from './gateway-api.ts';

/**
 * `spx export --definition NAME --out FILE`: an export written by an operator on the gateway's
 * machine, with a progress bar. It runs for a recipient client (`--recipient`), under that
 * client's field policy, area scope and pseudonym key, or else with every field (the operator
 * acts as administrator). Audited like an export through the API.
 */

interface ExportOptions {
  definition: string;
  out: string;
  version?: string;
  format?: string;
  recipient?: string;
  purpose: string;
  legalBasis: string;
  progress: boolean;
}

/** The CLI's own principal when no recipient is named: an administrator, no client row. */
const OPERATOR = { id: '00000000-0000-0000-0000-000000000000', name: 'spx export', role: 'admin' as const };

export function registerExportCommand(program: Command): void {
  program
    .command('export')
    .description('write an export of a saved definition to a file, with a progress bar')
    .requiredOption('--definition <name>', 'export definition name')
    .requiredOption('--out <file>', 'file to write (replaced only once the export is complete)')
    .requiredOption('--purpose <text>', 'why the data is exported (audit trail)')
    .requiredOption('--legal-basis <basis>', LEGAL_BASES.join(', '))
    .option('--version <n>', 'a saved version (default: the current one)')
    .option('--format <format>', `${EXPORT_FORMATS.join(', ')} (default: the definition's)`)
    .option('--recipient <client>', 'client id or name: its policy and pseudonym key apply')
    .option('--no-progress', 'no progress bar')
    .action(async (options: ExportOptions) => {
      checkOptions(options);
      await withDatabaseOrGateway({
        database: (database, config) => exportOnDatabase(database, config, options),
        gateway: (api) => exportThroughGateway(api, options),
      });
    });
}

/** The export written by this process, with a progress bar, audited as `export.cli`. */
async function exportOnDatabase(database: Database, config: Config, options: ExportOptions): Promise<void> {
  const db = database.db;
  const definition = await findDefinition(db, options.definition, versionOf(options.version));
  if (!definition) {
    throw new UsageError(
      `no export definition "${options.definition}"${options.version ? ` version ${options.version}` : ''}`,
    );
  }
  const principal = await principalOf(db, options.recipient);
  if (definition.pseudonymise && !options.recipient) {
    throw new UsageError('this definition pseudonymises identifiers: name the --recipient whose key applies');
  }
  const chosen = { ...definition, format: (options.format ?? definition.format) as ExportFormat };
  const { vault } = await openKeyVault(config, db);
  const total = await countExport(
    db,
    planOrExit(() => planExport(chosen, principal)),
  );
  const bar = options.progress ? progressBar(total) : undefined;
  const run = await startExport({
    db,
    vault,
    definition: chosen,
    principal,
    onProgress: (rows) => bar?.update(rows),
    copyOut: database.copyOut,
  });
  try {
    await writeWhole(options.out, run.stream);
  } finally {
    bar?.stop();
  }
  await recordAudit(db, {
    clientId: options.recipient ? principal.clientId : undefined,
    clientName: 'spx export',
    action: 'export.cli',
    purpose: options.purpose,
    legalBasis: options.legalBasis,
    resourceType: 'export_definition',
    resourceId: `${chosen.name}@${chosen.version}`,
    recordCount: run.rows(),
    outcome: 'success',
  });
  const withheld = run.plan.withheld.length > 0 ? ` (withheld: ${run.plan.withheld.join(', ')})` : '';
  console.log(`wrote ${run.rows()} records to ${options.out}${withheld}`);
}

/**
 * The export streamed by the running gateway (GET /api/v1/export-definitions/{name}/data as the
 * local administrator, audited there as `export.download`): it has the database open. No progress
 * bar (the stream does not announce its length). A recipient's export runs under that recipient's
 * own credential, which this process does not hold.
 */
async function exportThroughGateway(api: GatewayApi, options: ExportOptions): Promise<void> {
  const path = `/api/v1/export-definitions/${encodeURIComponent(options.definition)}/data`;
  if (options.recipient !== undefined) {
    throw besideGateway(
      api.gateway,
      `stop it to export for a --recipient, or let the recipient download the export with its own key (GET ${api.gateway.url}${path})`,
    );
  }
  const query = new URLSearchParams({
    legal_basis: options.legalBasis,
    purpose: options.purpose,
    ...(options.version === undefined ? {} : { version: String(versionOf(options.version)) }),
    ...(options.format === undefined ? {} : { format: options.format }),
  });
  const response = await api.download(`${path}?${query}`);
  const bytes = await writeWhole(options.out, Readable.fromWeb(response.body! as WebReadableStream));
  const withheld = response.headers.get('export-withheld-fields');
  console.log(
    `wrote ${bytes} bytes to ${options.out} through the gateway at ${api.gateway.url}` +
      (withheld ? ` (withheld: ${withheld})` : ''),
  );
}

/** Writes the stream to `<out>.part`, then renames it: `out` is only ever a complete export. */
async function writeWhole(out: string, stream: Readable): Promise<number> {
  const partial = `${out}.part`;
  const file = createWriteStream(partial);
  try {
    await pipeline(stream, file);
    await rename(partial, out);
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
  return file.bytesWritten;
}

function checkOptions(options: ExportOptions): void {
  if (!isLegalBasis(options.legalBasis)) {
    throw new UsageError(`--legal-basis is one of ${LEGAL_BASES.join(', ')}`);
  }
  if (options.format !== undefined && !(EXPORT_FORMATS as readonly string[]).includes(options.format)) {
    throw new UsageError(`--format is one of ${EXPORT_FORMATS.join(', ')}`);
  }
  if (!isPurpose(options.purpose)) {
    throw new UsageError('--purpose is 1 to 200 letters, digits, spaces or _.,:/()-');
  }
}

function versionOf(text: string | undefined): number | undefined {
  if (text === undefined) {
    return undefined;
  }
  const version = Number(text);
  if (!Number.isInteger(version) || version < 1) {
    throw new UsageError('--version is a whole number from 1');
  }
  return version;
}

/** The recipient client under its policy, or the operator. */
async function principalOf(db: Kysely<DB>, recipient: string | undefined): Promise<Principal> {
  if (recipient === undefined) {
    return principalFor(OPERATOR, { id: 'cli', scopes: [...roleDefinitions.admin.permissions] });
  }
  const found = await recipientOf(db, recipient);
  if ('refused' in found) {
    throw new UsageError(found.refused);
  }
  return found.principal;
}

/** A refused plan (a filter the recipient may not use) as one clear line. */
function planOrExit<T>(plan: () => T): T {
  try {
    return plan();
  } catch (error) {
    throw error instanceof ProblemError ? new UsageError(error.detail ?? error.title) : error;
  }
}

function progressBar(total: number): SingleBar {
  const bar = new SingleBar({
    format: 'export [{bar}] {percentage}% | {value}/{total} records | {duration_formatted}',
    stream: process.stderr,
    hideCursor: true,
    // Piped or logged: the bar is printed as a line every few seconds, and at the end.
    noTTYOutput: true,
  });
  bar.start(total, 0);
  return bar;
}
