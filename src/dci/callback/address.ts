import { AddressRefusedError, resolveGuardedHost, type Resolve } from '#platform/outbound/address';
import { DciError } from '../errors.ts';

// The SSRF guard itself is shared with the other outbound requests (JWKS fetches): the DCI modules
// import it from here.
export { bareHost, isPrivateAddress, systemResolve, type Resolve } from '#platform/outbound/address';

/**
 * The address to connect to for a callback URL (see resolveGuardedHost): a host refused by the
 * guard is the DCI error err.sender_uri.invalid; a name that does not resolve is a failed attempt,
 * retried.
 */
export async function resolveCallbackHost(
  url: URL,
  allowPrivate: boolean,
  resolve: Resolve,
): Promise<{ address: string; family: number }> {
  try {
    return await resolveGuardedHost(url, allowPrivate, resolve);
  } catch (error) {
    throw error instanceof AddressRefusedError
      ? new DciError('err.sender_uri.invalid', error.message)
      : error;
  }
}
