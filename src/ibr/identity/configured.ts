import { ConfigError } from '#config/load';
import type { Config } from '#config/settings';
import type { IdentityAdapter } from './adapter.ts';
import { CircuitBreaker } from './breaker.ts';
import { mosipAdapter, parseMosipSettings } from './mosip.ts';
import { parseMapping, restJsonAdapter } from './rest-json.ts';
import { FAILURES_TO_OPEN, identityVerifier, type IdentityVerifier } from './service.ts';

/** The adapter SPX_ID_VERIFY_ADAPTER names, with its settings checked at start. */
function adapterOf(config: Config, url: string): IdentityAdapter {
  if (config.idVerifyAdapter === 'mosip') {
    try {
      return mosipAdapter(url, parseMosipSettings(config.idVerifyMosip));
    } catch (error) {
      throw new ConfigError(`SPX_ID_VERIFY_MOSIP: ${(error as Error).message}`);
    }
  }
  try {
    return restJsonAdapter(url, parseMapping(config.idVerifyMapping));
  } catch (error) {
    throw new ConfigError(`SPX_ID_VERIFY_MAPPING: ${(error as Error).message}`);
  }
}

/** The verifier the configuration describes (no adapter when SPX_ID_VERIFY_URL is unset). */
export function identityVerifierOf(config: Config): IdentityVerifier {
  return identityVerifier(config.idVerifyUrl ? adapterOf(config, config.idVerifyUrl) : undefined, {
    timeoutMs: config.idVerifyTimeoutMs,
    breaker: new CircuitBreaker(FAILURES_TO_OPEN, config.idVerifyBreakerSeconds * 1000),
  });
}
