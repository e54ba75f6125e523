/**
 * The identity verification port (IBR-035): an adapter asks a national ID system whether a person's
 * registry data (or a one-time password the person received) matches its records. It answers match
 * or no match, and throws `IdentitySystemError` when the system could not answer (unreachable, slow,
 * refused); time-outs, retries and the circuit breaker are the service's (service.ts), so every
 * adapter gets them.
 */

/** What the registry knows of a person, for an adapter to send (only what its protocol needs). */
export interface PersonFacts {
  given_name: string;
  middle_name: string | null;
  family_name: string;
  birth_date: string | null;
  sex: string;
  phone: string | null;
  identifiers: Record<string, string>;
}

export type VerificationMethod = 'demographic' | 'otp';

/** How the person proves who they are: their registry data, or an OTP sent by the ID system. */
export type Proof = { method: 'demographic' } | { method: 'otp'; otp: string; transactionId: string };

export interface VerificationResult {
  outcome: 'match' | 'no_match';
  /** Why there was no match, as the ID system said it (its error codes; never personal data). */
  detail?: string;
}

/** The ID system sent a one-time password to the person (to phone or e-mail, masked). */
export interface OtpSent {
  transactionId: string;
  maskedPhone: string | null;
  maskedEmail: string | null;
}

export type OtpChannel = 'phone' | 'email';

export interface IdentityAdapter {
  /** Recorded with each result (e.g. `rest-json`, `mosip`). */
  readonly name: string;
  readonly methods: readonly VerificationMethod[];
  verify(person: PersonFacts, proof: Proof, signal: AbortSignal): Promise<VerificationResult>;
  /** Asks the ID system to send the person an OTP (adapters whose methods include `otp`). */
  requestOtp?(person: PersonFacts, channels: readonly OtpChannel[], signal: AbortSignal): Promise<OtpSent>;
}

/** The ID system could not answer: the message says why, without personal data. */
export class IdentitySystemError extends Error {
  override name = 'IdentitySystemError';
}

/** The person cannot be verified by this ID system (e.g. holds none of its identifiers). */
export class NotVerifiableError extends Error {
  override name = 'NotVerifiableError';
}
