import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Principal } from '#platform/auth/principal';
import type { DB } from '#platform/db/types';
import { badRequest, notFound, unavailable, unprocessable } from '#platform/problem';
import { findIndividual } from '#registry/queries';
import {
  IdentitySystemError,
  NotVerifiableError,
  type IdentityAdapter,
  type OtpChannel,
  type OtpSent,
  type PersonFacts,
  type Proof,
  type VerificationResult,
} from './adapter.ts';
import { type CircuitBreaker, CircuitOpenError } from './breaker.ts';

/**
 * Verifying a person's identity against the national ID system (IBR-035) through an adapter: each
 * call under a time-out, all behind a circuit breaker; demographic checks are retried twice with
 * backoff, OTP calls never (a retry would send a second SMS or spend the OTP). The result (match,
 * no match, or error: the system could not answer) is recorded with its time, method and duration;
 * an error answers 503 and changes nothing else.
 */

export interface VerificationOptions {
  timeoutMs: number;
  breaker: CircuitBreaker;
  retries?: number;
}

export const FAILURES_TO_OPEN = 5;

export interface IdentityVerifier {
  readonly adapter: IdentityAdapter | undefined;
  verify(db: Kysely<DB>, personId: string, principal: Principal, proof?: Proof): Promise<VerificationRecord>;
  requestOtp(
    db: Kysely<DB>,
    personId: string,
    principal: Principal,
    channels: readonly OtpChannel[],
  ): Promise<OtpSent>;
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

interface Attempted<T> {
  result?: T;
  error?: string;
  attempts: number;
}

export function identityVerifier(
  adapter: IdentityAdapter | undefined,
  options: VerificationOptions,
): IdentityVerifier {
  const configured = (method: Proof['method']): IdentityAdapter => {
    if (!adapter) {
      throw unavailable('no identity system is configured (SPX_ID_VERIFY_URL)');
    }
    if (!adapter.methods.includes(method)) {
      throw badRequest(`the configured ID system (${adapter.name}) does not verify by ${method}`);
    }
    return adapter;
  };

  /** Calls the ID system under the time-out and breaker, retrying failures `retries` times. */
  const attempt = async <T>(call: (signal: AbortSignal) => Promise<T>, retries: number) => {
    const done: Attempted<T> = { attempts: 0 };
    for (;;) {
      done.attempts += 1;
      try {
        done.result = await options.breaker.run(() => call(AbortSignal.timeout(options.timeoutMs)));
        return done;
      } catch (error) {
        if (error instanceof NotVerifiableError) {
          throw unprocessable(`identity cannot be verified: ${error.message}`);
        }
        if (!(error instanceof IdentitySystemError) && !(error instanceof CircuitOpenError)) {
          throw error;
        }
        done.error = error.message;
        if (error instanceof CircuitOpenError || done.attempts > retries) {
          return done;
        }
        await pause(100 * 2 ** (done.attempts - 1));
      }
    }
  };

  return {
    adapter,
    async verify(db, personId, principal, proof = { method: 'demographic' }) {
      const system = configured(proof.method);
      const person = await factsOf(db, personId, principal);
      const started = performance.now();
      const done = await attempt<VerificationResult>(
        (signal) => system.verify(person.facts, proof, signal),
        proof.method === 'otp' ? 0 : (options.retries ?? 2),
      );
      const row = await db
        .insertInto('identity_verifications')
        .values({
          id: randomUUID(),
          individual_id: person.id,
          method: proof.method,
          adapter: system.name,
          outcome: done.result?.outcome ?? 'error',
          detail: done.result ? (done.result.detail ?? null) : (done.error ?? null),
          attempts: done.attempts,
          duration_ms: Math.round(performance.now() - started),
          requested_by: principal.clientId,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      const record = recordView(row);
      if (record.outcome === 'error') {
        throw unavailable(`identity not verified: ${record.detail} (recorded as verification ${record.id})`);
      }
      return record;
    },

    async requestOtp(db, personId, principal, channels) {
      const system = configured('otp');
      const person = await factsOf(db, personId, principal);
      const done = await attempt((signal) => system.requestOtp!(person.facts, channels, signal), 0);
      if (!done.result) {
        throw unavailable(`no OTP sent: ${done.error}`);
      }
      return done.result;
    },
  };
}

async function factsOf(db: Kysely<DB>, personId: string, principal: Principal) {
  const person = await findIndividual(db, personId, principal.areaScope);
  if (!person) {
    throw notFound('individual');
  }
  const facts: PersonFacts = {
    ...person,
    identifiers: Object.fromEntries(person.identifiers.map((x) => [x.type, x.value])),
  };
  return { id: person.id, facts };
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
