import type { Static, TSchema } from '@sinclair/typebox';
import type { Kysely } from 'kysely';
import { findClient } from '#platform/auth/clients';
import { assertMayAttach } from '#platform/auth/credential-reach';
import type { DB } from '#platform/db/types';
import type { App } from '#platform/http/types';
import { accessTo, IdParams, problems } from '#platform/http/kit';

/**
 * One section of a client's DCI settings as an admin resource (`clients:manage`, audited, RFC 9457
 * errors): `PUT` replaces the section and answers it as stored, `GET` reads it. Each section has its
 * own path, so that updating one can never reset another by leaving its fields out.
 */
export interface SettingsSection<I extends TSchema, O extends TSchema> {
  /** Under /clients/:id, e.g. `/dci/signature`. */
  path: string;
  /** Audit action stem, e.g. `client.dci_signature` (`.update`, `.read`). */
  audit: string;
  summaries: { update: string; read: string };
  /** OpenAPI operationIds, e.g. `setClientDciSignature` and `getClientDciSignature`. */
  operationIds: { update: string; read: string };
  input: I;
  output: O;
  /**
   * The section holds a credential of the client (keys it signs with): what the rule of
   * credential-reach.ts refuses a caller narrower than the client, e.g. `set the DCI signature settings`.
   */
  attachesCredential?: string;
  /** Checks and stores the section (throws a 400 problem naming the bad fields, nothing written). */
  save(db: Kysely<DB>, clientId: string, input: Static<I>, by: string | undefined): Promise<void>;
  read(db: Kysely<DB>, clientId: string): Promise<Static<O>>;
}

const manage = accessTo('clients:manage', 'client');

export function settingsSection<I extends TSchema, O extends TSchema>(
  app: App,
  db: Kysely<DB>,
  section: SettingsSection<I, O>,
): void {
  const url = `/clients/:id${section.path}`;
  app.put(
    url,
    {
      config: manage(`${section.audit}.update`),
      schema: {
        tags: ['access'],
        operationId: section.operationIds.update,
        summary: section.summaries.update,
        params: IdParams,
        body: section.input,
        response: { 200: section.output, ...problems(400, 404) },
      },
    },
    async (request) => {
      request.auditNote = { resourceId: request.params.id };
      const client = await findClient(db, request.params.id);
      if (section.attachesCredential) {
        await assertMayAttach(db, request.principal, client, section.attachesCredential);
      }
      await section.save(db, client.id, request.body, request.principal?.clientId);
      app.clientChanges.changed(client.id);
      request.auditNote.recordCount = 1;
      return section.read(db, client.id);
    },
  );

  app.get(
    url,
    {
      config: manage(`${section.audit}.read`),
      schema: {
        tags: ['access'],
        operationId: section.operationIds.read,
        summary: section.summaries.read,
        params: IdParams,
        response: { 200: section.output, ...problems(400, 404) },
      },
    },
    async (request) => {
      request.auditNote = { resourceId: request.params.id };
      const client = await findClient(db, request.params.id);
      request.auditNote.recordCount = 1;
      return section.read(db, client.id);
    },
  );
}
