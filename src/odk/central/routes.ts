import { randomUUID } from 'node:crypto';
import { Type, type Static } from '@sinclair/typebox';
import type { Kysely } from 'kysely';
import type { KeyVault } from '#platform/crypto/key-vault';
import type { DB } from '#platform/db/types';
import { badRequest, conflict, notFound } from '#platform/problem';
import type { App } from '#platform/http/types';
import { accessTo, principalOf, problems } from '#platform/http/kit';
import type { JobQueue } from '#platform/jobs/queue';
import {
  AddressRefusedError,
  parseHttpUrl,
  resolveGuardedHost,
  type Resolve,
} from '#platform/outbound/address';
import { findForm } from '#odk/forms';
import { Nullable } from '#registry/schemas';
import { sealContextOf } from './pull.ts';
import {
  deleteSource,
  findSourceByName,
  insertSource,
  listSources,
  updateSource,
  type SourceRow,
} from './queries.ts';
import { enqueuePull } from './schedule.ts';

/**
 * ODK Central sources (administrators, `clients:manage`): which Central project form to pull, with
 * which credentials (sealed under the master key, never shown again), how often; a pull on demand
 * (a job with progress); and the status of the last pull: when, outcome, counts, error. A source's
 * host must resolve to public addresses unless `allow_private_addresses` says otherwise (checked when
 * it is saved, and again by each pull, which connects only to the address it checked).
 */

const Name = Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,59}$' });
const Auth = Type.Union([
  Type.Object(
    {
      kind: Type.Literal('session'),
      email: Type.String({ format: 'email', maxLength: 200 }),
      password: Type.String({ minLength: 1, maxLength: 500 }),
    },
    {
      additionalProperties: false,
      description: 'A Central web user (Project Viewer or Manager on the project)',
    },
  ),
  Type.Object(
    { kind: Type.Literal('app_user'), token: Type.String({ minLength: 1, maxLength: 500 }) },
    {
      additionalProperties: false,
      description: "An app user's or public link's key, when Central lets it read submissions",
    },
  ),
]);
const Interval = Type.Integer({ minimum: 1, maximum: 10080, description: 'Pull every this many minutes' });
const AllowPrivate = Type.Boolean({
  description:
    'Its host may resolve to loopback or private addresses (a Central on your own network; default false)',
});
const NewSource = Type.Object(
  {
    name: Name,
    base_url: Type.String({
      pattern: '^https?://',
      maxLength: 500,
      description: 'e.g. https://central.example.org',
    }),
    project_id: Type.Integer({ minimum: 1, maximum: 2147483647 }),
    form_id: Type.String({
      pattern: '^[A-Za-z0-9_.-]{1,64}$',
      description: "Central's xmlFormId, a form SP Exchange has",
    }),
    auth: Auth,
    interval_minutes: Type.Optional(Nullable(Interval)),
    enabled: Type.Optional(Type.Boolean()),
    allow_private_addresses: Type.Optional(AllowPrivate),
  },
  { additionalProperties: false },
);
const SourceChange = Type.Object(
  {
    auth: Type.Optional(Auth),
    interval_minutes: Type.Optional(Nullable(Interval)),
    enabled: Type.Optional(Type.Boolean()),
    allow_private_addresses: Type.Optional(AllowPrivate),
  },
  { additionalProperties: false, minProperties: 1 },
);
const SourceSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  base_url: Type.String(),
  project_id: Type.Integer(),
  form_id: Type.String(),
  auth_kind: Type.String(),
  email: Nullable(Type.String()),
  interval_minutes: Nullable(Type.Integer()),
  enabled: Type.Boolean(),
  allow_private_addresses: Type.Boolean(),
  next_pull_at: Nullable(Type.String({ format: 'date-time' })),
  cursor_at: Nullable(Type.String({ format: 'date-time', description: 'Newest submission date imported' })),
  last_pull: Type.Object({
    at: Nullable(Type.String({ format: 'date-time' })),
    status: Nullable(Type.String({ enum: ['running', 'ok', 'error'] })),
    error: Nullable(Type.String()),
    counts: Nullable(
      Type.Object({
        listed: Type.Integer(),
        imported: Type.Integer(),
        already: Type.Integer(),
        failed: Type.Integer(),
      }),
    ),
    job_id: Nullable(Type.String()),
  }),
});
const manage = accessTo('clients:manage', 'odk_central_source');
const NameParams = Type.Object({ name: Name });

const iso = (date: Date | null) => date?.toISOString() ?? null;
const sourceView = (row: SourceRow) => ({
  id: row.id,
  name: row.name,
  base_url: row.base_url,
  project_id: row.project_id,
  form_id: row.form_id,
  auth_kind: row.auth_kind,
  email: row.email,
  interval_minutes: row.interval_minutes,
  enabled: row.enabled,
  allow_private_addresses: row.allow_private_addresses,
  next_pull_at: iso(row.next_pull_at),
  cursor_at: iso(row.cursor_at),
  last_pull: {
    at: iso(row.last_pull_at),
    status: row.last_pull_status,
    error: row.last_pull_error,
    counts: row.last_pull_counts as never,
    job_id: row.last_job_id,
  },
});

const sealAuth = async (vault: KeyVault, id: string, auth: Static<typeof Auth>) => ({
  auth_kind: auth.kind,
  email: auth.kind === 'session' ? auth.email : null,
  secret_sealed: await vault.seal(
    new TextEncoder().encode(auth.kind === 'session' ? auth.password : auth.token),
    sealContextOf(id),
  ),
});

/**
 * A base URL a source may have: http(s), and a host the SSRF guard lets through (a name that does not
 * resolve yet is let be: the pull will say so).
 */
async function checkBaseUrl(text: string, allowPrivate: boolean, resolve: Resolve): Promise<void> {
  const url = parseHttpUrl(text);
  if (!url) {
    throw badRequest('base_url is not an http(s) URL', [{ pointer: '/base_url', detail: 'not a URL' }]);
  }
  try {
    await resolveGuardedHost(url, allowPrivate, resolve);
  } catch (error) {
    if (error instanceof AddressRefusedError) {
      throw badRequest(`base_url: ${error.message}`, [
        {
          pointer: '/base_url',
          detail: 'a private or loopback address: refused unless allow_private_addresses is true',
        },
      ]);
    }
  }
}

export async function centralRoutes(
  app: App,
  { db, vault, jobs, resolve }: { db: Kysely<DB>; vault: KeyVault; jobs: JobQueue; resolve: Resolve },
): Promise<void> {
  const findSource = async (name: string) => {
    const row = await findSourceByName(db, name);
    if (!row) {
      throw notFound(`ODK Central source ${name}`);
    }
    return row;
  };

  app.post(
    '/odk/central-sources',
    {
      config: manage('odk.central.create'),
      schema: {
        tags: ['odk'],
        operationId: 'createCentralSource',
        summary: 'Pull the submissions of a form of an ODK Central project (on a schedule and on demand)',
        body: NewSource,
        response: { 201: SourceSchema, ...problems(400, 404, 409) },
      },
    },
    async (request, reply) => {
      const body = request.body;
      await checkBaseUrl(body.base_url, body.allow_private_addresses ?? false, resolve);
      if (!(await findForm(db, body.form_id))) {
        throw badRequest(
          `SP Exchange has no form ${body.form_id}: upload it (POST /api/v1/odk/forms) and its mapping first`,
        );
      }
      const id = randomUUID();
      const inserted = await insertSource(db, {
        id,
        name: body.name,
        base_url: body.base_url.replace(/\/+$/, ''),
        project_id: body.project_id,
        form_id: body.form_id,
        interval_minutes: body.interval_minutes ?? null,
        enabled: body.enabled ?? true,
        allow_private_addresses: body.allow_private_addresses ?? false,
        ...(await sealAuth(vault, id, body.auth)),
      });
      if (!inserted) {
        throw conflict(`an ODK Central source named ${body.name} exists`);
      }
      request.auditNote = { resourceId: body.name, recordCount: 1 };
      return reply.code(201).send(sourceView(inserted));
    },
  );

  app.get(
    '/odk/central-sources',
    {
      config: manage('odk.central.list'),
      schema: {
        tags: ['odk'],
        operationId: 'listCentralSources',
        summary: 'ODK Central sources and the status of their last pull',
        response: { 200: Type.Object({ items: Type.Array(SourceSchema) }) },
      },
    },
    async (request) => {
      const rows = await listSources(db);
      request.auditNote = { recordCount: rows.length };
      return { items: rows.map(sourceView) };
    },
  );

  app.get(
    '/odk/central-sources/:name',
    {
      config: manage('odk.central.read'),
      schema: {
        tags: ['odk'],
        operationId: 'getCentralSource',
        summary: 'One ODK Central source and its last pull',
        params: NameParams,
        response: { 200: SourceSchema, ...problems(400, 404, 409) },
      },
    },
    async (request) => {
      const row = await findSource(request.params.name);
      request.auditNote = { resourceId: row.name, recordCount: 1 };
      return sourceView(row);
    },
  );

  app.patch(
    '/odk/central-sources/:name',
    {
      config: manage('odk.central.update'),
      schema: {
        tags: ['odk'],
        operationId: 'updateCentralSource',
        summary:
          'Change the credentials, the interval, whether private addresses are allowed, or pause a source',
        params: NameParams,
        body: SourceChange,
        response: { 200: SourceSchema, ...problems(400, 404, 409) },
      },
    },
    async (request) => {
      const row = await findSource(request.params.name);
      const { auth, ...rest } = request.body;
      const updated = await updateSource(db, row.id, {
        ...rest,
        ...(auth ? await sealAuth(vault, row.id, auth) : {}),
        ...('interval_minutes' in rest ? { next_pull_at: null } : {}),
      });
      request.auditNote = { resourceId: row.name, recordCount: 1 };
      return sourceView(updated);
    },
  );

  app.delete(
    '/odk/central-sources/:name',
    {
      config: manage('odk.central.delete'),
      schema: {
        tags: ['odk'],
        operationId: 'deleteCentralSource',
        summary: 'Stop pulling from a source (what it imported stays)',
        params: NameParams,
        response: { 204: Type.Null(), ...problems(400, 404, 409) },
      },
    },
    async (request, reply) => {
      const row = await findSource(request.params.name);
      await deleteSource(db, row.id);
      request.auditNote = { resourceId: row.name, recordCount: 1 };
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/odk/central-sources/:name/pull',
    {
      config: manage('odk.central.pull'),
      schema: {
        tags: ['odk'],
        operationId: 'pullCentralSource',
        summary:
          'Pull now: a job (progress at its Location); a pull already waiting or running is answered instead',
        params: NameParams,
        response: { 202: Type.Object({ job_id: Type.String() }), ...problems(400, 404, 409) },
      },
    },
    async (request, reply) => {
      const row = await findSource(request.params.name);
      const jobId = await enqueuePull(db, jobs, row.id, request.id, principalOf(request).clientId);
      request.auditNote = { resourceId: row.name, recordCount: 1 };
      return reply.code(202).header('location', `/api/v1/jobs/${jobId}`).send({ job_id: jobId });
    },
  );
}
