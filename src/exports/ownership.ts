import type { Kysely } from 'kysely';
import { recordAudit } from '#platform/audit/audit-log';
import type { Principal } from '#platform/auth/principal';
import type { Permission } from '#platform/auth/roles';
import type { DB } from '#platform/db/types';
import { conflict, forbidden, notFound } from '#platform/problem';
import {
  archiveDefinition,
  decideVersion,
  findDefinition,
  findVersion,
  insertVersion,
  latestVersion,
  type DefinitionInput,
  type DefinitionRow,
} from './definitions.ts';
import { privacyWeakenings } from './privacy.ts';

/**
 * Who may change an export definition, and when a change waits for approval (defects issue, item
 * 11). A definition belongs to the client that created it: adding a version to another's, or
 * archiving it, needs exports:admin. A version that weakens privacy against the one in use records
 * how (privacy.ts) and is audited as such; when the definition delivers to a recipient on a
 * schedule, that version waits until another holder of exports:admin approves it, the version
 * before staying in use meanwhile.
 */

export const EXPORTS_ADMIN = 'exports:admin' satisfies Permission;

/** Refuses a change to a definition the principal neither owns nor administers. */
export function checkMayChange(principal: Principal, current: DefinitionRow): void {
  if (current.owner_id !== principal.clientId && !principal.scopes.has(EXPORTS_ADMIN)) {
    throw forbidden(
      `export definition "${current.name}" belongs to another client; changing it needs the ` +
        `${EXPORTS_ADMIN} permission`,
    );
  }
}

export interface SavedVersion {
  row: DefinitionRow;
  /** How it weakens privacy against the version in use; none: it does not. */
  weakenings: string[];
}

/** Saves the next version of a definition; undefined when there is no such definition. */
export async function saveVersion(
  db: Kysely<DB>,
  input: DefinitionInput,
  principal: Principal,
): Promise<SavedVersion | undefined> {
  const latest = await latestVersion(db, input.name);
  const current = await findDefinition(db, input.name);
  if (!latest || latest.archived_at || !current) {
    return undefined;
  }
  checkMayChange(principal, current);
  if (latest.approval === 'pending') {
    throw conflict(
      `version ${latest.version} of export definition "${input.name}" waits for approval; it is approved ` +
        `or rejected first (POST /api/v1/export-definitions/${input.name}/versions/${latest.version}/decision)`,
    );
  }
  const weakenings = privacyWeakenings(current, {
    entity: input.entity,
    fields: input.fields,
    filter: input.filter ?? null,
    include_members: input.include_members ?? false,
    pseudonymise: input.pseudonymise ?? false,
    drop_direct_identifiers: input.drop_direct_identifiers ?? false,
  });
  // Scheduled runs deliver to their recipient with nobody looking: such a change waits.
  const delivers = current.schedule !== null || Boolean(input.schedule);
  const row = await insertVersion(db, input, {
    version: latest.version + 1,
    createdBy: principal.clientId,
    ownerId: current.owner_id,
    privacyWeakened: weakenings,
    approval: weakenings.length > 0 && delivers ? 'pending' : 'not_needed',
  });
  return { row, weakenings };
}

/** Archives a definition its owner or an administrator archives; false when there is none. */
export async function archive(db: Kysely<DB>, name: string, principal: Principal): Promise<boolean> {
  const current = await findDefinition(db, name);
  if (!current) {
    return false;
  }
  checkMayChange(principal, current);
  return archiveDefinition(db, name);
}

/**
 * Approves or rejects a version waiting for approval: by a holder of exports:admin (the route's
 * permission) other than the client that saved it.
 */
export async function decide(
  db: Kysely<DB>,
  name: string,
  version: number,
  decision: { approve: boolean; reason: string },
  principal: Principal,
): Promise<DefinitionRow> {
  const row = await findVersion(db, name, version);
  if (!row) {
    throw notFound(`version ${version} of this export definition`);
  }
  if (row.created_by === principal.clientId) {
    throw forbidden(
      'a version that weakens privacy is approved or rejected by another client than its author',
    );
  }
  const decided =
    row.approval === 'pending' ? await decideVersion(db, row.id, decision, principal.clientId) : undefined;
  if (!decided) {
    throw conflict(`version ${version} of export definition "${name}" is not waiting for approval`);
  }
  return decided;
}

/** The audit entry of a version that weakens privacy, beside the entry of the request that saved it. */
export const auditWeakening = (db: Kysely<DB>, requestId: string, principal: Principal, row: DefinitionRow) =>
  recordAudit(db, {
    requestId,
    clientId: principal.clientId,
    clientName: principal.clientName,
    action: 'export_definition.privacy_weakened',
    resourceType: 'export_definition',
    resourceId: `${row.name}@${row.version}`,
    recordCount: 0,
    outcome: 'success',
  });
