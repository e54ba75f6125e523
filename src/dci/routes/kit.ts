import { Type, type TSchema } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { Principal } from '#platform/auth/principal';
import type { DB } from '#platform/db/types';
import type { App, Lookups } from '#platform/http/types';
import { principalOf } from '#platform/http/kit';
import type { JobQueue } from '#platform/jobs/queue';
import type { Receiver, RequestHeader } from '../envelope.ts';
import { acceptAsync } from '../async/accept.ts';
import type { ClientPolicies } from '../client-policy.ts';
import type { DciEncryption } from '../encryption/service.ts';
import { HttpErrorSchema } from '../errors.ts';
import type { Incoming } from '../exchange/receive.ts';
import type { RecordExchange } from '../exchange/store.ts';
import type { SearchLimits } from '../query/criteria.ts';
import type { DciSignatures, SignatureMode } from '../signature/service.ts';
import type { Registry } from '../spec.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** DCI message signatures of this DCI mount (decorated by dciRoutes; dciPost needs it). */
    dciSignatures: DciSignatures;
    /** DCI message encryption of this DCI mount (decorated by dciRoutes; dciPost needs it). */
    dciEncryption: DciEncryption;
    /** DCI policies of clients (signature policy, consent), cached (decorated by dciRoutes). */
    dciPolicies: ClientPolicies;
  }
}

/** What every DCI route of one registry mount shares. */
export interface RouteContext {
  db: Kysely<DB>;
  registry: Registry;
  receiver: Receiver;
  limits: SearchLimits;
  maxBatch: number;
  /** Most records one sync search answer holds, over all its items. */
  syncMaxRecords: number;
  jobs: JobQueue;
  /** Records received messages (batched across concurrent requests). */
  recordExchange: RecordExchange;
}

export const SPEC_FILES: Record<Registry, string> = {
  social: 'spec/dci/social_api_v1.0.0.yaml',
  ibr: 'spec/dci/ibr_api_v1.0.0.yaml',
};
const TITLES: Record<Registry, string> = {
  social: 'Social Registry',
  ibr: 'Integrated Beneficiary Registry',
};
/** The registry's part of an operationId: each DCI route is mounted once per registry. */
const OPERATION_NAMES: Record<Registry, string> = {
  social: 'SocialRegistry',
  ibr: 'BeneficiaryRegistry',
};

export interface DciRoute {
  path: string;
  /** Audit action after `dci.<registry>.`, e.g. `search`. */
  audit: string;
  /** The OpenAPI operationId, given the registry's name: e.g. (r) => `search${r}Sync`. */
  operationId: (registry: string) => string;
  summary: string;
  description: string;
  /** Documented answers besides 401/403 (the spec's HttpErrorResponse); their bodies are checked against the spec file. */
  answers: Record<number, string>;
  /**
   * Whether the route counts as asynchronous for the client's signature policy: 'async' (async
   * answers, subscriptions) requires a signature unless the client's policy is 'none'; 'sync' only
   * under the policy 'all'. A signature that is not required is not checked (verifyEnvelope, @spx/dci-client).
   */
  signature: SignatureMode;
}

/**
 * A DCI POST route: access declared (registry:read, audited as a DCI transaction), body and answers
 * validated against the spec file by the core rather than by Fastify, and 401/403 in the spec's
 * HttpErrorResponse shape instead of the RFC 9457 problems access control declares by default.
 * Signatures and encryption in one place for every DCI route: before the handler, the message's
 * signature is verified as the client's policy and `route.signature` require, its message_ts
 * checked, and an encrypted message decrypted; an envelope the route answers with is encrypted when
 * it must be, then signed with our key, on its way out.
 */
export function dciPost(
  app: App,
  { registry }: Pick<RouteContext, 'registry'>,
  route: DciRoute,
  handler: (request: FastifyRequest, reply: FastifyReply, principal: Principal) => Promise<FastifyReply>,
): void {
  if (!app.hasDecorator('dciSignatures')) {
    throw new Error(`dciPost ${route.path} needs app.dciSignatures (decorated by dciRoutes)`);
  }
  const signatures = app.dciSignatures;
  const encryption = app.dciEncryption;
  const policies = app.dciPolicies;
  const response: Record<number, TSchema> = { 401: HttpErrorSchema, 403: HttpErrorSchema };
  if (202 in route.answers) {
    // An acknowledged route answers a refused signature with an ERR ack, HTTP 401 too (async/ack.ts).
    response[401] = Type.Unknown({
      description: 'HttpErrorResponse (no valid API key), or an ERR acknowledgement (err.signature.*)',
    });
  }
  for (const [status, description] of Object.entries(route.answers)) {
    response[Number(status)] = Type.Unknown({ description });
  }
  app.post(
    route.path,
    {
      config: {
        access: {
          permission: 'registry:read',
          audit: { action: `dci.${registry}.${route.audit}`, resourceType: 'dci_transaction' },
          registry,
        },
      },
      schema: {
        tags: ['dci'],
        operationId: route.operationId(OPERATION_NAMES[registry]),
        summary: `DCI ${TITLES[registry]}: ${route.summary}`,
        description: `Body and answers as \`POST ${route.path}\` of ${SPEC_FILES[registry]}. ${route.description}`,
        response,
      },
      preHandler: async (request) => {
        const clientId = principalOf(request).clientId;
        request.dciPolicy = await policies.of(clientId);
        await signatures.checkIncoming(request.body, clientId, route.signature, request.dciPolicy.signature);
        request.body = await encryption.open(request.body, clientId, request.dciPolicy.encryption);
      },
      // An envelope leaves encrypted if it must be, then signed and serialised in one pass
      // (signedJson); anything else as usual.
      preSerialization: async (request, reply, payload: unknown) => {
        const clientId = request.principal?.clientId;
        const sealed = clientId
          ? await encryption.seal(payload, clientId, request.dciPolicy?.encryption)
          : payload;
        const body = await signatures.signedJson(sealed);
        if (body !== undefined) {
          reply.serializer(() => body);
        }
        return payload;
      },
    },
    (request, reply) => handler(request, reply, principalOf(request)),
  );
}

/** The part of an exchange record every route fills the same way. */
export function incoming(
  ctx: RouteContext,
  request: FastifyRequest,
  principal: Principal,
  message: Pick<Incoming, 'operation' | 'mode' | 'summary' | 'referenceIds'> & {
    header: RequestHeader;
    transactionId: string;
  },
): Incoming {
  return { ...message, registry: ctx.registry, principal, requestId: request.id, receiver: ctx.receiver };
}

/** The answers of every acknowledged (async) route, as documented. */
export const ACKED = {
  202: 'ACK (spec components.responses.Response)',
  400: 'ERR acknowledgement',
  409: 'ERR acknowledgement: rjct.message_id.duplicate',
};

/** What makes one async DCI operation: how its message is read and described, and who answers it. */
export interface AsyncOperation<P extends { header: RequestHeader; transactionId: string }> {
  operation: Incoming['operation'];
  /** Validates and reads the message, or throws a DciError (answered as an ERR acknowledgement). */
  parse(body: unknown): P;
  /** What the message asked, without its values, for the exchange record. */
  describe(parsed: P): Pick<Incoming, 'summary' | 'referenceIds'>;
  /** Checks made before anything is recorded (a DciError refuses the message). */
  check?(parsed: P, principal: Principal): Promise<void>;
  /** The records it asks for by key, counted by the anomaly guard when it is accepted. */
  lookups?(parsed: P): Lookups | undefined;
  /** Where the answer goes under the client's registered callback URI, e.g. /registry/on-search. */
  callbackPath: string;
  /** The job kind that answers it. */
  job: string;
}

/**
 * An async DCI route: read the message, record it, queue the job that answers it on the client's
 * callback, and acknowledge (HTTP 202). Registered where errors are answered as ERR acknowledgements.
 */
export function dciAsyncPost<P extends { header: RequestHeader; transactionId: string }>(
  app: App,
  ctx: RouteContext,
  route: Omit<DciRoute, 'signature' | 'answers'>,
  op: AsyncOperation<P>,
): void {
  dciPost(app, ctx, { ...route, signature: 'async', answers: ACKED }, async (request, reply, principal) => {
    const parsed = op.parse(request.body);
    await op.check?.(parsed, principal);
    const answer = await acceptAsync(ctx, {
      ...incoming(ctx, request, principal, {
        header: parsed.header,
        transactionId: parsed.transactionId,
        ...op.describe(parsed),
        operation: op.operation,
        mode: 'async',
      }),
      body: request.body,
      callbackPath: op.callbackPath,
      job: op.job,
    });
    request.auditNote = { resourceId: parsed.transactionId };
    request.lookups = op.lookups?.(parsed);
    return reply.code(202).send(answer);
  });
}

/** The distinct strings among values (for exchange summaries). */
export const distinctStrings = (values: unknown[]): string[] => [
  ...new Set(values.filter((v): v is string => typeof v === 'string')),
];
