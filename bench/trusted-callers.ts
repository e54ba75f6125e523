import { randomBytes } from 'node:crypto';
import type { Authenticator } from '#platform/auth/authenticate';
import type { Principal } from '#platform/auth/principal';

/**
 * Callers the security benchmark lets in without any credential check: a request with header
 * `x-bench-caller: <token>` acts as the principal given for that token. Only the benchmark's gateway
 * has this authenticator (AppDependencies.authenticators); it measures the same path with and
 * without authentication, request signature and their checks.
 */
export interface TrustedCallers {
  authenticator: Authenticator;
  /** The header value that makes a request act as `principal`. */
  admit(principal: Principal): string;
}

export const TRUSTED_CALLER_HEADER = 'x-bench-caller';

export function trustedCallers(): TrustedCallers {
  const principals = new Map<string, Principal>();
  return {
    authenticator: async (request) => {
      const token = request.headers[TRUSTED_CALLER_HEADER];
      if (typeof token !== 'string') {
        return undefined;
      }
      const principal = principals.get(token);
      return principal ? { ok: true, principal } : { ok: false, reason: 'unknown benchmark caller' };
    },
    admit: (principal) => {
      const token = randomBytes(16).toString('hex');
      principals.set(token, principal);
      return token;
    },
  };
}
