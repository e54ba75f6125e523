import type { Kysely } from 'kysely';
import type { DB } from '#platform/db/types';

/** Client certificates (table client_certificates), one small query each. */

export interface CertificateRow {
  id: string;
  client_id: string;
  thumbprint: string | null;
  subject: string | null;
  issuer: string | null;
  serial_number: string | null;
  not_before: Date | null;
  not_after: Date | null;
  description: string | null;
  created_at: Date;
  revoked_at: Date | null;
}

const columns = [
  'id',
  'client_id',
  'thumbprint',
  'subject',
  'issuer',
  'serial_number',
  'not_before',
  'not_after',
  'description',
  'created_at',
  'revoked_at',
] as const;

export type NewCertificate = Omit<CertificateRow, 'id' | 'created_at' | 'revoked_at'> & {
  created_by: string | null;
};

/** Inserts a registration; undefined when its thumbprint, or its active subject, is taken. */
export const insertCertificate = async (
  db: Kysely<DB>,
  certificate: NewCertificate,
): Promise<CertificateRow | undefined> =>
  db
    .insertInto('client_certificates')
    .values(certificate)
    .onConflict((oc) => oc.doNothing())
    .returning(columns)
    .executeTakeFirst();

export const listCertificates = (db: Kysely<DB>, clientId: string): Promise<CertificateRow[]> =>
  db
    .selectFrom('client_certificates')
    .select(columns)
    .where('client_id', '=', clientId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();

/** Revokes a client's registration at once; revoking twice keeps the first time. */
export const revokeCertificate = (
  db: Kysely<DB>,
  clientId: string,
  id: string,
): Promise<CertificateRow | undefined> =>
  db
    .updateTable('client_certificates')
    .set((eb) => ({ revoked_at: eb.fn.coalesce('revoked_at', eb.fn<Date>('now', [])) }))
    .where('client_id', '=', clientId)
    .where('id', '=', id)
    .returning(columns)
    .executeTakeFirst();

/** A registration with what authentication needs of its client. */
export interface CertificateOwner {
  id: string;
  thumbprint: string | null;
  not_before: Date | null;
  not_after: Date | null;
  revoked_at: Date | null;
  client_id: string;
  name: string;
  role: string;
  disabled_at: Date | null;
}

/**
 * The registration a presented certificate maps to: the one of its thumbprint, else the active one of
 * its subject. A thumbprint registration wins even when revoked, so that revoking one certificate
 * is not undone by a subject registration.
 */
export const findCertificateOwner = (
  db: Kysely<DB>,
  thumbprint: string,
  subject: string,
): Promise<CertificateOwner | undefined> =>
  db
    .selectFrom('client_certificates as cc')
    .innerJoin('api_clients as c', 'c.id', 'cc.client_id')
    .select([
      'cc.id',
      'cc.thumbprint',
      'cc.not_before',
      'cc.not_after',
      'cc.revoked_at',
      'c.id as client_id',
      'c.name',
      'c.role',
      'c.disabled_at',
    ])
    .where((eb) =>
      eb.or([
        eb('cc.thumbprint', '=', thumbprint),
        eb.and([
          eb('cc.thumbprint', 'is', null),
          eb('cc.subject', '=', subject),
          eb('cc.revoked_at', 'is', null),
        ]),
      ]),
    )
    .orderBy('cc.thumbprint') // nulls sort last: a thumbprint match comes first
    .limit(1)
    .executeTakeFirst();

/** A registration by its id, with its client (for work done later on behalf of a certificate's client). */
export const findCertificateById = (db: Kysely<DB>, id: string) =>
  db
    .selectFrom('client_certificates as cc')
    .innerJoin('api_clients as c', 'c.id', 'cc.client_id')
    .select(['cc.not_after', 'cc.revoked_at', 'c.id as client_id', 'c.name', 'c.role', 'c.disabled_at'])
    .where('cc.id', '=', id)
    .executeTakeFirst();
