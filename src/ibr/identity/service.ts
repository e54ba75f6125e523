import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Principal } from '#platform/auth/principal';
import type { DB } from '#platform/db/types';
import { notFound, unavailable } from '#platform/http/problem';
import { findIndividual } from '#registry/queries';
import { IdentitySystemError, type IdentityAdapter, type PersonFacts } from './adapter.ts';
import { type CircuitBreaker, CircuitOpenError } from './breaker.ts';

/**
 * Verifying a person's identity against the national ID system (IBR-035) through an adapter: each
 * call under a time-out, retried twice with backoff, all behind a circuit breaker. The result
 * (match, no match, or error: the system could not answer) is recorded with its time, method and
 * duration; an error answers 503 and changes nothing else.
 */

export interface VerificationOptions {
  timeoutMs: number;
  breaker: CircuitBreaker;
  retries?: number;
}

export const FAILURES_TO_OPEN = 5;

export interface IdentityVerifier {
  readonly adapter: IdentityAdapter | undefined;
  verify(db: Kysely<DB>, personId: string, principal: Principal): Promise<VerificationRecord>;
}

export interface VerificationRecord {
  id: string;
  person_id: string;
  method: string;
  adapter: string;
  outcome: 'match' | 'no_match' | 'error';
  detail: string | null;
  attempts: number;
  duration_ms: number;
  verified_at: string;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function identityVerifier(
  adapter: IdentityAdapter | undefined,
  options: VerificationOptions,
): IdentityVerifier {
  const retries = options.retries ?? 2;
  return {
    adapter,
    async verify(db, personId, principal) {
      if (!adapter) {
        throw unavailable('no identity system is configured (SPX_ID_VERIFY_URL)');
      }
      const person = await findIndividual(db, personId, principal.areaScope);
      if (!person) {
        throw notFound('individual');
      }
      const facts: PersonFacts = {
        ...person,
        identifiers: Object.fromEntries(person.identifiers.map((x) => [x.type, x.value])),
      };
      const started = performance.now();
      let attempts = 0;
      let outcome: VerificationRecord['outcome'] = 'error';
      let detail: string | null = null;
      for (;;) {
        attempts += 1;
        try {
          outcome = await options.breaker.run(() =>
            adapter.verify(facts, AbortSignal.timeout(options.timeoutMs)),
          );
          detail = null;
          break;
        } catch (error) {
          if (!(error instanceof IdentitySystemError) && !(error instanceof CircuitOpenError)) {
            throw error;
          }
          detail = error.message;
          if (error instanceof CircuitOpenError || attempts > retries) {
            break;
          }
          await pause(100 * 2 ** (attempts - 1));
        }
      }
      const row = await db
        .insertInto('identity_verifications')
        .values({
          id: randomUUID(),
          individual_id: person.id,
          method: adapter.method,
          adapter: adapter.name,
          outcome,
          detail,
          attempts,
          duration_ms: Math.round(performance.now() - started),
          requested_by: principal.clientId,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      const record = recordView(row);
      if (outcome === 'error') {
        throw unavailable(`identity not verified: ${detail} (recorded as verification ${record.id})`);
      }
      return record;
    },
  };
}

export const recordView = (row: {
  id: string;
  individual_id: string;
  method: string;
  adapter: string;
  outcome: 'match' | 'no_match' | 'error';
  detail: string | null;
  attempts: number;
  duration_ms: number;
  verified_at: Date;
}): VerificationRecord => ({
  id: row.id,
  person_id: row.individual_id,
  method: row.method,
  adapter: row.adapter,
  outcome: row.outcome,
  detail: row.detail,
  attempts: row.attempts,
  duration_ms: row.duration_ms,
  verified_at: row.verified_at.toISOString(),
});
