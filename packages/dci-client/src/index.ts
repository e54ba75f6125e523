/**
 * @spx/dci-client: a typed client of the DCI Social Registry and IBR APIs (spdci/api-standards v1.0.0),
 * and the pieces of the protocol it is made of, shared with the SP Exchange gateway: envelopes and code
 * lists, message signatures (RFC 8785 canonical JSON, BLAKE2b-512 digest, Ed25519 or RSA), verifying
 * them against a JWKS, and message encryption (JWE). See README.md.
 */
export {
  DciClient,
  DciClientError,
  type DciClientOptions,
  type Response,
  type SearchItem,
} from './client.ts';
export {
  keySetOf,
  signatureVerifier,
  verifierFor,
  verifySignature,
  type JoseKeySet,
  type KeySource,
  type SignatureCheck,
  type SignatureCheckOptions,
} from './verify-signature.ts';
export {
  startCallbackReceiver,
  summaryOf,
  type CallbackReceiverOptions,
  type ReceivedCallback,
} from './receiver.ts';
export { DciMessageError, type MessageErrorCode } from './errors.ts';
export * from './codes.ts';
export * from './messages.ts';
export * from './signature/canonical.ts';
export * from './signature/format.ts';
export * from './signature/jwk.ts';
export * from './signature/sign.ts';
export * from './signature/verify.ts';
export * from './encryption/jwe.ts';
export * from './encryption/jwk.ts';
