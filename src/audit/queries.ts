import { sql, type Kysely } from 'kysely';
import type { DB } from '#platform/db/types';

/** The queries of the audit admin API (routes.ts), one query each. */

export interface AuditFilter {
  clientId?: string;
  action?: string;
  resourceType?: string;
  resourceId?: string;
  /** Accesses that returned this record. */
  subjectId?: string;
  outcome?: 'success' | 'denied' | 'error' | 'invalid';
  from?: Date;
  to?: Date;
  /** The seq of the last entry of the page before. */
  beforeSeq?: number;
  limit: number;
}

const returned = (subject: string) => sql<boolean>`subject_ids @> ${sql.val([subject])}::text[]`;

/** A page of audit entries (`limit + 1` rows, for a keyset page), newest first. */
export function searchAudit(db: Kysely<DB>, filter: AuditFilter) {
  let query = db
    .selectFrom('audit_log')
    .selectAll()
    .orderBy('seq', 'desc')
    .limit(filter.limit + 1);
  if (filter.beforeSeq !== undefined) {
    query = query.where('seq', '<', filter.beforeSeq);
  }
  if (filter.clientId) {
    query = query.where('client_id', '=', filter.clientId);
  }
  if (filter.action) {
    query = query.where('action', '=', filter.action);
  }
  if (filter.resourceType) {
    query = query.where('resource_type', '=', filter.resourceType);
  }
  if (filter.resourceId) {
    query = query.where('resource_id', '=', filter.resourceId);
  }
  if (filter.subjectId) {
    query = query.where(returned(filter.subjectId));
  }
  if (filter.outcome) {
    query = query.where('outcome', '=', filter.outcome);
  }
  if (filter.from) {
    query = query.where('at', '>=', filter.from);
  }
  if (filter.to) {
    query = query.where('at', '<', filter.to);
  }
  return query.execute();
}

/**
 * The entries that accessed a subject's data: those that returned the record or named it as their
 * resource. The report's own consultations are not accesses to the subject's data.
 */
const accessesTo = (db: Kysely<DB>, subject: string) =>
  db
    .selectFrom('audit_log')
    .where((eb) => eb.or([eb(returned(subject), '=', true), eb('resource_id', '=', subject)]))
    .where('action', '!=', 'audit.subject_report');

/** A page of the accesses to a subject's data (`limit + 1` rows, for a keyset page), newest first. */
export function subjectAccesses(
  db: Kysely<DB>,
  subject: string,
  page: { beforeSeq?: number; limit: number },
) {
  let query = accessesTo(db, subject)
    .select(['seq', 'at', 'client_id', 'client_name', 'action', 'purpose', 'legal_basis', 'outcome'])
    .orderBy('seq', 'desc')
    .limit(page.limit + 1);
  if (page.beforeSeq !== undefined) {
    query = query.where('seq', '<', page.beforeSeq);
  }
  return query.execute();
}

/**
 * The accesses to a subject's data summed up by client, over all of them: the client's latest name,
 * how many, first and last, the purposes stated; the client that accessed last first.
 */
export const subjectAccessesByClient = (db: Kysely<DB>, subject: string) =>
  accessesTo(db, subject)
    .select((eb) => [
      'client_id',
      sql<string | null>`(array_agg(client_name order by seq desc))[1]`.as('client_name'),
      eb.fn.countAll<string | number>().as('accesses'),
      eb.fn.min('at').as('first_at'),
      eb.fn.max('at').as('last_at'),
      sql<(string | null)[]>`array_agg(distinct purpose order by purpose)`.as('purposes'),
    ])
    .groupBy('client_id')
    .orderBy(sql`max(seq)`, 'desc')
    .execute();
