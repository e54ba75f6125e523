import type { TransportErrorCode } from './codes.ts';

/** The DCI transport codes of a message that fails this package's checks. */
export type MessageErrorCode = Extract<
  TransportErrorCode,
  'err.signature.missing' | 'err.signature.invalid' | 'err.encryption.invalid'
>;

/**
 * A message that does not pass a check of this package: its signature (`err.signature.missing`,
 * `err.signature.invalid`) or its encryption (`err.encryption.invalid`). `code` is the DCI transport
 * error a receiver answers with (HTTP 401, or 400 for encryption); the message says why.
 */
export class DciMessageError extends Error {
  override name = 'DciMessageError';
  constructor(
    readonly code: MessageErrorCode,
    message: string,
  ) {
    super(message);
  }
}
