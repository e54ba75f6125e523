import { applyBeneficiaries, assertMayPush } from '../enrollment/enrollment-push.ts';
import { identifierKey, singleLookup } from '#security/anomaly/lookup-keys';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '#platform/auth/principal';
import type { App } from '#platform/http/types';
import type { RequestHeader } from '../envelope.ts';
import { answering, duplicateMessage, receive, type Received } from '../exchange/receive.ts';
import { finishExchange, type ExchangeOperation } from '../exchange/store.ts';
import { answerUpdates, parseUpdates, SYNC_ENROLLMENT_UPDATES } from '../enrollment/enrollment-updates.ts';
import { answerEnrolled, parseEnrolled, SYNC_ENROLLED } from '../enrollment/enrolled.ts';
import { dciPost, incoming, type RouteContext } from './kit.ts';

const BARE =
  'The answer is the bare response schema the spec declares as the default response (no envelope); errors, ' +
  'a message id already used (409) included, are HttpErrorResponse bodies.';

/** IBR only: `/registry/sync/enrolled` and `/registry/sync/enrollment/updates`. */
export function ibrRoutes(app: App, ctx: RouteContext): void {
  dciPost(
    app,
    ctx,
    {
      path: SYNC_ENROLLED,
      audit: 'enrolled',
      signature: 'sync',
      operationId: (r) => `check${r}EnrolledSync`,
      summary: 'is this person enrolled, and in which programmes',
      description:
        'Query by person identifier (query_type expression: { person_identifier: { eq } }, optionally a programme ' +
        'identifier; or idtype-value), one enrolled_response item per programme (reference_id = programme code). ' +
        BARE,
      answers: { 200: 'EnrolledResponse', 400: 'HttpErrorResponse', 409: 'HttpErrorResponse' },
    },
    async (request, reply, principal) => {
      const parsed = parseEnrolled(request.body, ctx.receiver, principal);
      const summary = {
        query_type: parsed.person.type === undefined ? 'expression' : 'idtype-value',
        unit: parsed.unit,
        programmes: parsed.programmes?.length ?? 0,
      };
      const received = await record(ctx, request, principal, 'enrolled', { ...parsed, summary });
      const { body, recordCount } = await answering(ctx.db, received, () =>
        answerEnrolled(parsed, { ...ctx, principal, correlationId: received.correlationId }),
      );
      // A lookup by key for the anomaly guard; found when the person holds an enrollment asked about.
      const { type = 'person_identifier', value } = parsed.person;
      request.lookups = singleLookup(identifierKey(type, value), recordCount > 0);
      return answered(ctx, request, reply, received, {
        body,
        recordCount,
        transactionId: parsed.transactionId,
      });
    },
  );

  dciPost(
    app,
    ctx,
    {
      path: SYNC_ENROLLMENT_UPDATES,
      audit: 'enrollment_updates',
      signature: 'sync',
      operationId: (r) => `exchange${r}EnrollmentUpdatesSync`,
      summary: 'report beneficiaries, or read enrollment changes since a time',
      description:
        'Both directions. enrolled_updates.beneficiaries (the spec: a programme system reporting its beneficiaries; ' +
        'needs registry:write): each is applied (enrollment created or its status changed) and answered with its own ' +
        'status in enrolled_response. enrolled_updates: { since, cursor?, page_size? } (extension properties): the ' +
        'changed enrollments and their Beneficiary records in enrolled_updates.beneficiaries, with next_cursor while ' +
        `more follow. ${BARE}`,
      answers: { 200: 'EnrollmentUpdatesResponse', 400: 'HttpErrorResponse', 409: 'HttpErrorResponse' },
    },
    async (request, reply, principal) => {
      const parsed = parseUpdates(request.body, ctx.receiver, ctx.limits);
      if (parsed.kind === 'push') {
        assertMayPush(principal);
        const summary = { beneficiaries: parsed.beneficiaries.length };
        const received = await record(ctx, request, principal, 'enrollment-updates', { ...parsed, summary });
        const { items, enrollmentIds } = await answering(ctx.db, received, () =>
          applyBeneficiaries(ctx.db, parsed.beneficiaries, principal, ctx.receiver.now),
        );
        const body = {
          transaction_id: parsed.transactionId,
          correlation_id: received.correlationId,
          enrolled_response: items,
        };
        return answered(ctx, request, reply, received, {
          body,
          recordCount: enrollmentIds.length,
          transactionId: parsed.transactionId,
        });
      }
      const summary = {
        since: parsed.since,
        page_size: parsed.pageSize,
        cursor: parsed.cursor !== undefined,
      };
      const received = await record(ctx, request, principal, 'enrollment-updates', { ...parsed, summary });
      const { body, recordCount } = await answering(ctx.db, received, () =>
        answerUpdates(parsed, { ...ctx, principal, correlationId: received.correlationId }),
      );
      return answered(ctx, request, reply, received, {
        body,
        recordCount,
        transactionId: parsed.transactionId,
      });
    },
  );
}

/** Records a sync IBR message, or refuses a message id already used (no header to carry the code). */
async function record(
  ctx: RouteContext,
  request: FastifyRequest,
  principal: Principal,
  operation: ExchangeOperation,
  message: { header: RequestHeader; transactionId: string; summary: Record<string, unknown> },
): Promise<Received> {
  const received = await receive(
    ctx.recordExchange,
    incoming(ctx, request, principal, { ...message, operation, mode: 'sync' }),
  );
  if (!received) {
    throw duplicateMessage(message.header.message_id);
  }
  return received;
}

async function answered(
  ctx: RouteContext,
  request: FastifyRequest,
  reply: FastifyReply,
  received: Received,
  answer: { body: unknown; recordCount: number; transactionId: string },
): Promise<FastifyReply> {
  await finishExchange(ctx.db, received.id, { status: 'succ' });
  request.auditNote = { resourceId: answer.transactionId, recordCount: answer.recordCount };
  return reply.code(200).send(answer.body);
}
