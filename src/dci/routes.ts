import { Type } from '@sinclair/typebox';
import type { Kysely } from 'kysely';
import type { DB } from '#platform/db/types';
import type { App } from '#platform/http/types';
import { defaultReceiver, type Receiver } from './envelope.ts';
import { handleDciError, HttpErrorSchema } from './errors.ts';
import { DEFAULT_LIMITS, type SearchLimits } from './query/criteria.ts';
import { searchSync, SYNC_SEARCH } from './search.ts';
import type { Registry } from './spec.ts';

export interface DciRouteOptions {
  db: Kysely<DB>;
  /** Which DCI API this mount speaks: the Social Registry or the Integrated Beneficiary Registry. */
  registry: Registry;
  limits?: Partial<SearchLimits>;
  /** Most `search_request` items per message. */
  maxBatch?: number;
  /** Our id as DCI callers know it; requests addressed to another `receiver_id` are refused. */
  receiverId?: string;
  /** Clock and id source (tests pin them). */
  receiver?: Receiver;
}

const TITLES: Record<Registry, string> = {
  social: 'Social Registry',
  ibr: 'Integrated Beneficiary Registry',
};
const SPEC_FILES: Record<Registry, string> = {
  social: 'spec/dci/social_api_v1.0.0.yaml',
  ibr: 'spec/dci/ibr_api_v1.0.0.yaml',
};

/**
 * DCI API routes of one registry, to mount under a prefix (`/dci/sr`, `/dci/ibr`). Thin: the core is
 * search.ts. Errors leave as the spec's HttpErrorResponse (`{ errors: [{ code, message }] }`), which
 * this encapsulated error handler writes, also for authentication failures of these routes.
 */
export async function dciRoutes(app: App, options: DciRouteOptions): Promise<void> {
  const { db, registry } = options;
  const limits: SearchLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const receiver = options.receiver ?? defaultReceiver(options.receiverId);
  app.setErrorHandler(handleDciError);

  app.post(
    SYNC_SEARCH,
    {
      config: {
        access: {
          permission: 'registry:read',
          audit: { action: `dci.${registry}.search`, resourceType: 'dci_transaction' },
        },
      },
      schema: {
        tags: ['dci'],
        summary: `DCI ${TITLES[registry]} sync search`,
        description:
          `Body and response as \`POST ${SYNC_SEARCH}\` of ${SPEC_FILES[registry]} (validated against that file). ` +
          'Each search_request item is answered with its own status; a malformed envelope gets HTTP 400 with err.request.bad.',
        // Replaces the RFC 9457 schemas access control declares for 401/403: DCI errors have the spec's shape.
        // 200 and 400 (a DCI envelope, or an HttpErrorResponse) are validated against the spec file instead.
        response: {
          200: Type.Unknown({ description: 'on-search envelope: the default response of the spec' }),
          400: Type.Unknown({
            description: 'HttpErrorResponse (err.*), or an on-search envelope rejected as a whole',
          }),
          401: HttpErrorSchema,
          403: HttpErrorSchema,
        },
      },
    },
    async (request, reply) => {
      const result = await searchSync(request.body, {
        db,
        registry,
        principal: request.principal!,
        limits,
        maxBatch: options.maxBatch ?? 20,
        receiver,
      });
      request.auditNote = {
        recordCount: result.recordCount,
        ...(result.transactionId ? { resourceId: result.transactionId } : {}),
      };
      // The spec's `default` response covers every status: a message rejected as a whole is a 400.
      return reply.code(result.rejected ? 400 : 200).send(result.envelope);
    },
  );
}
