/**
 * The identity verification port (IBR-035): an adapter asks a national ID system whether a person's
 * registry data matches its records. It answers match or no match, and throws when the system could
 * not answer (unreachable, slow, refused); retries, time-outs and the circuit breaker are the
 * service's (service.ts), so every adapter gets them.
 */

/** What the registry knows of a person, for an adapter to send (only what its mapping names). */
export interface PersonFacts {
  given_name: string;
  middle_name: string | null;
  family_name: string;
  birth_date: string | null;
  sex: string;
  phone: string | null;
  identifiers: Record<string, string>;
}

export type VerificationOutcome = 'match' | 'no_match';

export interface IdentityAdapter {
  /** Recorded with each result (e.g. `rest-json`). */
  readonly name: string;
  /** The verification method recorded (e.g. `demographic`). */
  readonly method: string;
  verify(person: PersonFacts, signal: AbortSignal): Promise<VerificationOutcome>;
}

/** The ID system could not answer: the message says why, without personal data. */
export class IdentitySystemError extends Error {
  override name = 'IdentitySystemError';
}
