import { ConfigError } from '#config/load';
import type { Config } from '#config/settings';
import { CircuitBreaker } from './breaker.ts';
import { parseMapping, restJsonAdapter } from './rest-json.ts';
import { FAILURES_TO_OPEN, identityVerifier, type IdentityVerifier } from './service.ts';

/** The verifier the configuration describes (no adapter when SPX_ID_VERIFY_URL is unset). */
export function identityVerifierOf(config: Config): IdentityVerifier {
  let adapter;
  if (config.idVerifyUrl) {
    try {
      adapter = restJsonAdapter(config.idVerifyUrl, parseMapping(config.idVerifyMapping));
    } catch (error) {
      throw new ConfigError(`SPX_ID_VERIFY_MAPPING: ${(error as Error).message}`);
    }
  }
  return identityVerifier(adapter, {
    timeoutMs: config.idVerifyTimeoutMs,
    breaker: new CircuitBreaker(FAILURES_TO_OPEN, config.idVerifyBreakerSeconds * 1000),
  });
}
