import type { Kysely } from 'kysely';
import type { Config } from '#config/settings';
import type { Authenticator } from '#platform/auth/authenticate';
import type { OwnKeys } from '#platform/crypto/own-keys';
import type { DB } from '#platform/db/types';
import { installAccessControl } from '#platform/http/access-control';
import type { App } from '#platform/http/types';
import { AnomalyGuard } from './anomaly/guard.ts';
import { thresholdsFrom } from './anomaly/rules.ts';
import { createOAuth, type OAuth } from './oauth/service.ts';
import { issuerUrl } from './oauth/urls.ts';
import { createPolicyEnforcement } from './policy/enforce.ts';
import { certificateAuthenticator, certificateOwnerCheck } from './tls/authenticator.ts';

export interface SecurityOptions {
  db: Kysely<DB>;
  config: Config;
  /** The store of our token signing keys. */
  tokenKeys: OwnKeys;
  /** Ways to authenticate tried before client certificates and OAuth tokens (the console's session). */
  authenticators: Authenticator[];
  /** Clock of agreement dates, rate limits, quotas and the anomaly guard (tests pin it). */
  now?: () => number;
}

/** What the security capability's admin API works on. */
export interface Security {
  oauth: OAuth;
  guard: AnomalyGuard;
}

/**
 * Access control with the security capability's parts: client certificates and OAuth tokens as
 * ways to authenticate, data sharing agreements, rate limits and quotas as its admission, and the
 * anomaly guard screening every request.
 */
export function installSecurity(
  app: App,
  { db, config, tokenKeys, authenticators, now }: SecurityOptions,
): Security {
  // OAuth 2.0: our access tokens and the identity providers we trust (the issuer URL may be known
  // only once the app listens).
  const oauth = createOAuth({
    db,
    config,
    keys: tokenKeys,
    issuer: () => issuerUrl(config, () => app.addresses()),
  });
  const guard = new AnomalyGuard({
    db,
    thresholds: thresholdsFrom(config),
    enabled: config.anomalyGuard,
    now,
  });
  installAccessControl(app, db, {
    screen: guard.screen,
    authCacheMs: config.authCacheSeconds * 1000,
    authenticators: [...authenticators, certificateAuthenticator(db), oauth.authenticator],
    principalChecks: [certificateOwnerCheck(db)],
    admission: (changes) =>
      createPolicyEnforcement(app, db, changes, {
        cacheMs: config.authCacheSeconds * 1000,
        defaultRateLimit: config.defaultRateLimit,
        defaultDailyQuota: config.defaultDailyQuota,
        usageFlushMs: config.usageFlushSeconds * 1000,
        now,
      }),
  });
  guard.install(app);
  return { oauth, guard };
}
