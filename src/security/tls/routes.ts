import type { X509Certificate } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import type { Kysely } from 'kysely';
import { findClient } from '#platform/auth/clients';
import { assertMayAttach } from '#platform/auth/credential-reach';
import type { DB } from '#platform/db/types';
import { badRequest, conflict, notFound } from '#platform/problem';
import type { App } from '#platform/http/types';
import { accessTo, IdParams, problems, StringEnum } from '#platform/http/kit';
import {
  CertificateError,
  clientCertificateOfPem,
  factsOf,
  issuedByOneOf,
  normalizeSubject,
} from './certificate.ts';
import {
  insertCertificate,
  listCertificates,
  revokeCertificate,
  type CertificateRow,
  type NewCertificate,
} from './queries.ts';

/**
 * Admin routes of clients' certificates for the mutual-TLS listener (mounted under /api/v1,
 * permission clients:manage, audited): register one (a PEM upload, a thumbprint, or a subject DN),
 * list them, revoke one at once.
 */

const THUMBPRINT = '^[A-Za-z0-9_-]{43}$';
const RDN = /^[A-Za-z][A-Za-z0-9.-]*=.+$/;

const nullable = <T extends ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()]);
const dateTime = () => Type.String({ format: 'date-time' });

const Certificate = Type.Object({
  id: Type.String({ format: 'uuid' }),
  client_id: Type.String({ format: 'uuid' }),
  match: StringEnum(['certificate', 'subject'], {
    description:
      'certificate: this one certificate (by thumbprint); subject: any certificate of the CA with this subject',
  }),
  thumbprint: nullable(
    Type.String({ description: "RFC 8705 x5t#S256: base64url SHA-256 of the certificate's DER" }),
  ),
  subject: nullable(Type.String({ description: 'Subject DN, one RDN per line' })),
  issuer: nullable(Type.String()),
  serial_number: nullable(Type.String()),
  not_before: nullable(dateTime()),
  not_after: nullable(dateTime()),
  description: nullable(Type.String()),
  created_at: dateTime(),
  revoked_at: nullable(dateTime()),
});

const CertificateInput = Type.Object(
  {
    pem: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 20_000,
        description: 'The client certificate as PEM (never its private key, which is refused)',
      }),
    ),
    thumbprint: Type.Optional(
      Type.String({
        pattern: THUMBPRINT,
        description: "Or only the certificate's x5t#S256 thumbprint (as `spx certs client` prints it)",
      }),
    ),
    subject: Type.Optional(
      Type.String({
        minLength: 3,
        maxLength: 1000,
        description:
          'Or a subject DN (e.g. "CN=mis-north, O=Ministry"): any certificate of SPX_TLS_CLIENT_CA with exactly this subject',
      }),
    ),
    description: Type.Optional(Type.String({ maxLength: 500 })),
  },
  { additionalProperties: false },
);
type CertificateInput = Static<typeof CertificateInput>;

const CertificateParams = Type.Object({
  id: Type.String({ format: 'uuid' }),
  certificateId: Type.String({ format: 'uuid' }),
});
const manage = accessTo('clients:manage', 'client');

const certificateJson = (row: CertificateRow): Static<typeof Certificate> => ({
  ...row,
  match: row.thumbprint === null ? 'subject' : 'certificate',
  not_before: row.not_before?.toISOString() ?? null,
  not_after: row.not_after?.toISOString() ?? null,
  created_at: row.created_at.toISOString(),
  revoked_at: row.revoked_at?.toISOString() ?? null,
});

export interface CertificateRouteOptions {
  db: Kysely<DB>;
  /** The CAs of SPX_TLS_CLIENT_CA when the mutual-TLS listener is on: an upload must be issued by one. */
  clientCas: readonly X509Certificate[] | undefined;
}

export async function certificateRoutes(app: App, { db, clientCas }: CertificateRouteOptions): Promise<void> {
  app.post(
    '/clients/:id/certificates',
    {
      config: manage('client.certificate.create'),
      schema: {
        tags: ['access'],
        operationId: 'registerClientCertificate',
        summary: 'Register a client certificate for the mutual-TLS listener (PEM, thumbprint or subject)',
        params: IdParams,
        body: CertificateInput,
        response: { 201: Certificate, ...problems(400, 404, 409) },
      },
    },
    async (request, reply) => {
      request.auditNote = { resourceId: request.params.id };
      const client = await findClient(db, request.params.id);
      if (client.disabled_at) {
        throw conflict('the client is disabled');
      }
      // A certificate carries no scopes of its own: it grants the client's whole role.
      await assertMayAttach(db, request.principal, client, 'register a certificate for this client');
      const registration = registrationOf(request.body, clientCas);
      const row = await insertCertificate(db, {
        ...registration,
        client_id: client.id,
        description: request.body.description ?? null,
        created_by: request.principal?.clientId ?? null,
      });
      if (!row) {
        throw conflict(
          registration.thumbprint
            ? 'this certificate is already registered (a revoked certificate stays revoked: issue a new one)'
            : 'this subject is already registered to a client',
        );
      }
      app.clientChanges.changed(client.id);
      request.auditNote.recordCount = 1;
      return reply.code(201).send(certificateJson(row));
    },
  );

  app.get(
    '/clients/:id/certificates',
    {
      config: manage('client.certificate.list'),
      schema: {
        tags: ['access'],
        operationId: 'listClientCertificates',
        summary: "A client's certificates, revoked ones included",
        params: IdParams,
        response: { 200: Type.Object({ items: Type.Array(Certificate) }), ...problems(400, 404, 409) },
      },
    },
    async (request) => {
      request.auditNote = { resourceId: request.params.id };
      const client = await findClient(db, request.params.id);
      const items = await listCertificates(db, client.id);
      request.auditNote.recordCount = items.length;
      return { items: items.map(certificateJson) };
    },
  );

  app.delete(
    '/clients/:id/certificates/:certificateId',
    {
      config: manage('client.certificate.revoke'),
      schema: {
        tags: ['access'],
        operationId: 'revokeClientCertificate',
        summary:
          'Revoke a client certificate at once (connections with it are refused from the next request)',
        params: CertificateParams,
        response: { 200: Certificate, ...problems(400, 404, 409) },
      },
    },
    async (request) => {
      request.auditNote = { resourceId: request.params.id };
      const row = await revokeCertificate(db, request.params.id, request.params.certificateId);
      if (!row) {
        throw notFound('certificate of this client');
      }
      app.clientChanges.changed(row.client_id);
      request.auditNote.recordCount = 1;
      return certificateJson(row);
    },
  );
}

type Registration = Pick<
  NewCertificate,
  'thumbprint' | 'subject' | 'issuer' | 'serial_number' | 'not_before' | 'not_after'
>;

const NOTHING_KNOWN = { issuer: null, serial_number: null, not_before: null, not_after: null };

/** What an upload registers, or a 400 naming the field in error. */
function registrationOf(
  input: CertificateInput,
  clientCas: CertificateRouteOptions['clientCas'],
): Registration {
  const given = (['pem', 'thumbprint', 'subject'] as const).filter((field) => input[field] !== undefined);
  if (given.length !== 1) {
    throw badRequest('invalid client certificate', [
      { pointer: '/pem', detail: 'send exactly one of pem, thumbprint and subject' },
    ]);
  }
  if (input.thumbprint !== undefined) {
    return { ...NOTHING_KNOWN, thumbprint: input.thumbprint, subject: null };
  }
  if (input.subject !== undefined) {
    return { ...NOTHING_KNOWN, thumbprint: null, subject: subjectOf(input.subject) };
  }
  const facts = factsOf(uploadedCertificate(input.pem!, clientCas));
  return {
    thumbprint: facts.thumbprint,
    subject: facts.subject,
    issuer: facts.issuer,
    serial_number: facts.serialNumber,
    not_before: facts.notBefore,
    not_after: facts.notAfter,
  };
}

function uploadedCertificate(pem: string, clientCas: CertificateRouteOptions['clientCas']): X509Certificate {
  let certificate: X509Certificate;
  try {
    certificate = clientCertificateOfPem(pem);
  } catch (error) {
    if (error instanceof CertificateError) {
      throw badRequest('invalid client certificate', [{ pointer: '/pem', detail: error.message }]);
    }
    throw error;
  }
  if (clientCas && !issuedByOneOf(certificate, clientCas)) {
    throw badRequest('invalid client certificate', [
      {
        pointer: '/pem',
        detail: 'not issued by a CA of SPX_TLS_CLIENT_CA: the mutual-TLS listener would refuse it',
      },
    ]);
  }
  return certificate;
}

function subjectOf(text: string): string {
  const subject = normalizeSubject(text);
  if (!subject.split('\n').every((rdn) => RDN.test(rdn))) {
    throw badRequest('invalid client certificate', [
      {
        pointer: '/subject',
        detail: 'a subject DN is attribute=value parts, e.g. "CN=mis-north, O=Ministry"',
      },
    ]);
  }
  return subject;
}
