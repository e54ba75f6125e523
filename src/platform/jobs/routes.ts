import { Type } from '@sinclair/typebox';
import type { Principal } from '#platform/auth/principal';
import { notFound } from '#platform/problem';
import type { App } from '#platform/http/types';
import { accessTo, IdParams, problems, StringEnum } from '#platform/http/kit';
import type { JobQueue, JobScope } from './queue.ts';
import { JOB_STATUSES, JobResource } from './schemas.ts';

/** A client sees its own jobs; holders of clients:manage (administrators) see every job. */
const scopeOf = (principal: Principal | undefined): JobScope =>
  principal?.scopes.has('clients:manage') ? {} : { createdBy: principal?.clientId ?? 'nobody' };

const jobAccess = accessTo('jobs:read', 'job');

/** Long operations as resources: status and progress, list, cancel. */
export async function jobRoutes(app: App, { jobs }: { jobs: JobQueue }): Promise<void> {
  app.get(
    '/jobs/:id',
    {
      config: jobAccess('job.read'),
      schema: {
        tags: ['jobs'],
        operationId: 'getJob',
        summary: 'Status and progress of a job',
        params: IdParams,
        response: { 200: JobResource, ...problems(400, 404) },
      },
    },
    async (request) => {
      request.auditNote = { resourceId: request.params.id };
      const job = await jobs.get(request.params.id, scopeOf(request.principal));
      if (!job) {
        throw notFound('job');
      }
      request.auditNote.recordCount = 1;
      return job;
    },
  );

  app.get(
    '/jobs',
    {
      config: jobAccess('job.list'),
      schema: {
        tags: ['jobs'],
        operationId: 'listJobs',
        summary: 'Recent jobs, newest first',
        querystring: Type.Object(
          {
            kind: Type.Optional(Type.String({ maxLength: 80 })),
            status: Type.Optional(StringEnum(JOB_STATUSES)),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Object({ items: Type.Array(JobResource) }), ...problems(400) },
      },
    },
    async (request) => {
      const { kind, status, limit } = request.query;
      const items = await jobs.list({
        ...scopeOf(request.principal),
        kind,
        status: status,
        limit,
      });
      request.auditNote = { recordCount: items.length };
      return { items };
    },
  );

  app.post(
    '/jobs/:id/cancel',
    {
      config: jobAccess('job.cancel'),
      schema: {
        tags: ['jobs'],
        operationId: 'cancelJob',
        summary: 'Cancel a job that has not finished',
        params: IdParams,
        response: { 200: JobResource, ...problems(400, 404) },
      },
    },
    async (request) => {
      request.auditNote = { resourceId: request.params.id };
      const job = await jobs.cancel(request.params.id, scopeOf(request.principal));
      if (!job) {
        throw notFound('job');
      }
      request.auditNote.recordCount = 1;
      return job;
    },
  );
}
