import { createWriteStream } from 'node:fs';
import { mkdir, rename, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Type, type Static } from '@sinclair/typebox';
import type { Kysely } from 'kysely';
import { recordAudit } from '#platform/audit/audit-log';
import type { KeyVault } from '#platform/crypto/key-vault';
import type { Database } from '#platform/db/database';
import type { DB } from '#platform/db/types';
import { defineJobKind, PermanentJobError } from '#platform/jobs/kind';
import { principalOf } from '#dci/exchange/receive';
import type { Principal } from '#platform/auth/principal';
import { recipientOf } from './recipient.ts';
import { findDefinitionById } from './definitions.ts';
import { exportsDir } from './files.ts';
import { FORMATS, type ExportFormat } from './formats/index.ts';
import { planExport } from './plan.ts';
import { startExport } from './run.ts';
import { countExport } from './source.ts';

export const EXPORT_JOB = 'export.file';

export const ExportJobPayload = Type.Object({
  definition_id: Type.String(),
  format: Type.String(),
  client_id: Type.String(),
  /** The credential that asked (its key_id, auth_method, scopes); null for a scheduled run. */
  credential: Type.Union([
    Type.Object({ key_id: Type.String(), auth_method: Type.String(), scopes: Type.Array(Type.String()) }),
    Type.Null(),
  ]),
  purpose: Type.String(),
  legal_basis: Type.String(),
  expires_hours: Type.Integer(),
});
export type ExportJobPayload = Static<typeof ExportJobPayload>;

/**
 * Whom the export is for: the credential that asked, as it stands now (revoked or expired: nobody);
 * for a scheduled run, the client that saved the definition, as it stands now.
 */
async function principalOfJob(db: Kysely<DB>, payload: ExportJobPayload): Promise<Principal | undefined> {
  if (payload.credential) {
    return principalOf(db, { client_id: payload.client_id, ...payload.credential });
  }
  const found = await recipientOf(db, payload.client_id);
  return 'principal' in found ? found.principal : undefined;
}

export interface ExportJobOptions {
  db: Kysely<DB>;
  vault: KeyVault;
  dataDir: string;
  /** The database's COPY TO STDOUT (PostgreSQL), for CSV. */
  copyOut?: Database['copyOut'];
}

/**
 * `export.file`: an export written to a file under the data directory, with progress (rows done of
 * the total counted first), for the client that asked, under its policy as it stands when the job
 * runs. A retry starts the file again. The file can be downloaded until it expires.
 */
export const exportJob = ({ db, vault, dataDir, copyOut }: ExportJobOptions) =>
  defineJobKind({
    name: EXPORT_JOB,
    payload: ExportJobPayload,
    expireInSeconds: 6 * 3600,
    async run(payload, context) {
      const principal = await principalOfJob(db, payload);
      if (!principal) {
        throw new PermanentJobError('the credential that asked for this export is no longer valid');
      }
      const stored = await findDefinitionById(db, payload.definition_id);
      if (!stored || stored.archived_at) {
        throw new PermanentJobError('the export definition was archived');
      }
      const definition = { ...stored, format: payload.format as ExportFormat };
      const fileName = `${context.jobId}.${FORMATS[definition.format].extension}`;
      await db
        .insertInto('export_files')
        .values({
          job_id: context.jobId,
          definition_id: definition.id,
          client_id: principal.clientId,
          format: definition.format,
          file_name: fileName,
          purpose: payload.purpose,
          legal_basis: payload.legal_basis,
          expires_at: new Date(Date.now() + payload.expires_hours * 3600_000),
        })
        .onConflict((oc) => oc.column('job_id').doNothing())
        .execute();
      const total = await countExport(db, planExport(definition, principal));
      await context.progress(0, total);
      const onProgress = (rows: number) => void context.progress(rows, total);
      const run = await startExport({ db, vault, definition, principal, onProgress, copyOut });
      const dir = exportsDir(dataDir);
      await mkdir(dir, { recursive: true });
      const partial = join(dir, `${fileName}.part`);
      await pipeline(run.stream, createWriteStream(partial), { signal: context.signal });
      await rename(partial, join(dir, fileName));
      const { size } = await stat(join(dir, fileName));
      await db
        .updateTable('export_files')
        .set({ row_count: run.rows(), byte_size: size, completed_at: new Date() })
        .where('job_id', '=', context.jobId)
        .execute();
      await recordAudit(db, {
        requestId: context.requestId,
        clientId: principal.clientId,
        clientName: principal.clientName,
        action: 'export.file',
        purpose: payload.purpose,
        legalBasis: payload.legal_basis,
        resourceType: 'export_definition',
        resourceId: `${definition.name}@${definition.version}`,
        recordCount: run.rows(),
        outcome: 'success',
      });
      return { status: 'done', result: { rows: run.rows(), bytes: size } };
    },
  });
