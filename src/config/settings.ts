import { Type, type Static, type TSchema } from '@sinclair/typebox';

/**
 * Every setting of the gateway, in one place: its environment variable, its type and default, and
 * the sentence the configuration table of docs/configuration.md shows (`spx config --markdown` prints that table).
 */
export interface Setting {
  env: string;
  schema: TSchema;
  default?: unknown;
  description: string;
  secret?: boolean;
}

export const settings = {
  host: {
    env: 'SPX_HOST',
    schema: Type.String({ minLength: 1 }),
    default: '127.0.0.1',
    description: 'Address the HTTP server listens on (0.0.0.0 to accept outside connections).',
  },
  port: {
    env: 'SPX_PORT',
    schema: Type.Integer({ minimum: 0, maximum: 65535 }),
    default: 8080,
    description: 'TCP port of the HTTP server (0 picks a free port).',
  },
  publicUrl: {
    env: 'SPX_PUBLIC_URL',
    schema: Type.String({ pattern: '^https?://' }),
    description: 'URL under which clients reach the gateway, if it differs from host:port (behind a proxy).',
  },
  tlsPort: {
    env: 'SPX_TLS_PORT',
    schema: Type.Integer({ minimum: 0, maximum: 65535 }),
    description:
      'TCP port of the mutual-TLS (HTTPS) listener, which requires client certificates (unset: no such listener; 0 picks a free port). Needs SPX_TLS_CERT, SPX_TLS_KEY and SPX_TLS_CLIENT_CA.',
  },
  tlsHost: {
    env: 'SPX_TLS_HOST',
    schema: Type.String({ minLength: 1 }),
    description: 'Address the mutual-TLS listener listens on (unset: SPX_HOST).',
  },
  tlsCert: {
    env: 'SPX_TLS_CERT',
    schema: Type.String({ minLength: 1 }),
    description: "PEM file of the mutual-TLS listener's server certificate (and its intermediates).",
  },
  tlsKey: {
    env: 'SPX_TLS_KEY',
    schema: Type.String({ minLength: 1 }),
    description: "PEM file of the server certificate's private key (keep it readable by the gateway only).",
  },
  tlsClientCa: {
    env: 'SPX_TLS_CLIENT_CA',
    schema: Type.String({ minLength: 1 }),
    description:
      'PEM file of the CA certificates client certificates must chain to; a client is then known by a certificate registered to it.',
  },
  databaseUrl: {
    env: 'DATABASE_URL',
    schema: Type.String({ pattern: '^postgres(ql)?://' }),
    description: 'PostgreSQL server to use. Unset: the embedded PGlite database in SPX_DATA_DIR.',
    secret: true,
  },
  databaseSchema: {
    env: 'SPX_DB_SCHEMA',
    schema: Type.String({ pattern: '^[a-z_][a-z0-9_]{0,62}$' }),
    default: 'public',
    description: 'PostgreSQL schema holding the registry tables.',
  },
  databasePoolSize: {
    env: 'SPX_DB_POOL_SIZE',
    schema: Type.Integer({ minimum: 1, maximum: 200 }),
    default: 10,
    description: 'Connections to the PostgreSQL server (not used with PGlite).',
  },
  dataDir: {
    env: 'SPX_DATA_DIR',
    schema: Type.String({ minLength: 1 }),
    default: './data',
    description: 'Directory for runtime data: the embedded database (pglite/) and generated files.',
  },
  masterKey: {
    env: 'SPX_MASTER_KEY',
    schema: Type.String({ pattern: '^[A-Za-z0-9+/]{43}=$' }),
    description:
      "Master key (32 random bytes, base64: `openssl rand -base64 32`) that encrypts the gateway's private keys in the database. Unset: SPX_DATA_DIR/master.key, created on first start; production sets it from a secret store (docs/security/keys-and-encryption.md).",
    secret: true,
  },
  keyGraceHours: {
    env: 'SPX_KEY_GRACE_HOURS',
    schema: Type.Number({ minimum: 1, maximum: 8760 }),
    default: 24,
    description:
      'After a rotation of one of our keys, how long the old key still verifies (and is published) or decrypts, in hours.',
  },
  demoHouseholds: {
    env: 'SPX_DEMO_HOUSEHOLDS',
    schema: Type.Integer({ minimum: 0, maximum: 10_000_000 }),
    default: 2000,
    description:
      'Households of synthetic demo data loaded on the first start of an empty registry (0: none).',
  },
  demoSeed: {
    env: 'SPX_DEMO_SEED',
    schema: Type.Integer({ minimum: 0 }),
    default: 42,
    description: 'Random seed of the demo data (the same seed always gives the same data).',
  },
  logLevel: {
    env: 'SPX_LOG_LEVEL',
    schema: Type.Union([
      Type.Literal('fatal'),
      Type.Literal('error'),
      Type.Literal('warn'),
      Type.Literal('info'),
      Type.Literal('debug'),
      Type.Literal('trace'),
      Type.Literal('silent'),
    ]),
    default: 'info',
    description: 'Log level (fatal, error, warn, info, debug, trace, silent). Logs never hold personal data.',
  },
  bodyLimit: {
    env: 'SPX_BODY_LIMIT_BYTES',
    schema: Type.Integer({ minimum: 1024, maximum: 104_857_600 }),
    default: 1_048_576,
    description: 'Largest request body accepted, in bytes.',
  },
  requestTimeoutMs: {
    env: 'SPX_REQUEST_TIMEOUT_MS',
    schema: Type.Integer({ minimum: 1000, maximum: 600_000 }),
    default: 30_000,
    description: 'Time a client has to send a whole request before the connection is closed.',
  },
  shutdownTimeoutMs: {
    env: 'SPX_SHUTDOWN_TIMEOUT_MS',
    schema: Type.Integer({ minimum: 0, maximum: 600_000 }),
    default: 10_000,
    description: 'On SIGTERM/SIGINT, how long in-flight requests and jobs may take to finish.',
  },
  jobsEnabled: {
    env: 'SPX_JOBS_ENABLED',
    schema: Type.Boolean(),
    default: true,
    description: 'Run job workers in this process (false: only accept and report jobs).',
  },
  jobsSchema: {
    env: 'SPX_JOBS_SCHEMA',
    schema: Type.String({ pattern: '^[a-z_][a-z0-9_]{0,62}$' }),
    default: 'spx_queue',
    description: 'PostgreSQL schema of the job queue (pg-boss) tables.',
  },
  jobsPollSeconds: {
    env: 'SPX_JOBS_POLL_SECONDS',
    schema: Type.Number({ minimum: 0.5, maximum: 60 }),
    default: 2,
    description: 'How often idle job workers look for new work, in seconds.',
  },
  dciAnswerRetentionHours: {
    env: 'SPX_DCI_ANSWER_RETENTION_HOURS',
    schema: Type.Number({ minimum: 0.01, maximum: 8760 }),
    default: 72,
    description:
      'Hours an async DCI answer keeps its records, and a finished notification its row and outbox event, after the last attempt (dead letters can be replayed until then).',
  },
  dciId: {
    env: 'SPX_DCI_ID',
    schema: Type.String({ pattern: '^[A-Za-z0-9._:-]{1,100}$' }),
    description:
      "Our id in DCI messages, e.g. the registry's domain: the sender_id of what we send, the first part of our signatures' kid, and the receiver_id a request must carry if it names one (requests addressed to another id are refused). Unset: sender_id `spx`, any receiver_id accepted.",
  },
  dciSyncMaxRecords: {
    env: 'SPX_DCI_SYNC_MAX_RECORDS',
    schema: Type.Integer({ minimum: 1, maximum: 10_000 }),
    default: 1000,
    description:
      'Records one sync DCI search answer may hold, over all its search requests; a request whose page would pass it is rejected (rjct.search.too_many_records_found): smaller pages, or the async search, get the rest.',
  },
  dciNotifyIntervalMs: {
    env: 'SPX_DCI_NOTIFY_INTERVAL_MS',
    schema: Type.Integer({ minimum: 100, maximum: 600_000 }),
    default: 2000,
    description:
      'How often registry changes are matched against DCI subscriptions, in ms (at once while work waits).',
  },
  dciCallbackRetries: {
    env: 'SPX_DCI_CALLBACK_RETRIES',
    schema: Type.Integer({ minimum: 0, maximum: 20 }),
    default: 5,
    description:
      'Retries of a DCI callback (async answer, notification) that failed; after the last one the delivery is a dead letter (replayable). Schedule: docs/dci/async-local.md.',
  },
  dciCallbackBackoffSeconds: {
    env: 'SPX_DCI_CALLBACK_BACKOFF_SECONDS',
    schema: Type.Integer({ minimum: 1, maximum: 3600 }),
    default: 30,
    description:
      'Wait before the first retry of a failed DCI callback, in seconds: retry n waits between this × 2^(n−1) and twice that, at random (defaults: 30–60 s, then 1–2, 2–4, 4–8 and 8–16 minutes; a dead letter after 16 to 31 minutes).',
  },
  apiKeyTtlDays: {
    env: 'SPX_API_KEY_TTL_DAYS',
    schema: Type.Integer({ minimum: 1, maximum: 3650 }),
    default: 365,
    description: 'Default lifetime of a new API key, in days.',
  },
  exportFileHours: {
    env: 'SPX_EXPORT_FILE_HOURS',
    schema: Type.Integer({ minimum: 1, maximum: 720 }),
    default: 24,
    description:
      'How long the file of an export job can be downloaded, in hours; it is then deleted from the data directory.',
  },
  exportFeedPollMs: {
    env: 'SPX_EXPORT_FEED_POLL_MS',
    schema: Type.Integer({ minimum: 50, maximum: 60000 }),
    default: 1000,
    description:
      'How often an export change feed (WebSocket) looks for new changes when it has caught up, in milliseconds.',
  },
  exportFeedsPerClient: {
    env: 'SPX_EXPORT_FEEDS_PER_CLIENT',
    schema: Type.Integer({ minimum: 1, maximum: 1000 }),
    default: 4,
    description:
      'Export change feeds (WebSocket) one client may have open at once; one more is refused (error 429).',
  },
  exportFeedsTotal: {
    env: 'SPX_EXPORT_FEEDS_TOTAL',
    schema: Type.Integer({ minimum: 1, maximum: 100_000 }),
    default: 50,
    description:
      'Export change feeds this gateway serves at once, all clients together; one more is refused (error 503).',
  },
  idVerifyAdapter: {
    env: 'SPX_ID_VERIFY_ADAPTER',
    schema: Type.String({ enum: ['rest-json', 'mosip'] }),
    default: 'rest-json',
    description:
      'How the national ID system is asked: `rest-json` (a POST of mapped fields, SPX_ID_VERIFY_MAPPING) or `mosip` (MOSIP ID Authentication: demographic and OTP, signed and encrypted; SPX_ID_VERIFY_MOSIP). docs/ibr.md.',
  },
  idVerifyUrl: {
    env: 'SPX_ID_VERIFY_URL',
    schema: Type.String({ pattern: '^https?://' }),
    description:
      "The national ID system: the verification endpoint (rest-json) or the base URL of MOSIP's ID Authentication API, e.g. `https://ida.example/idauthentication/v1` (mosip). Unset: identity verification answers 503.",
  },
  idVerifyMosip: {
    env: 'SPX_ID_VERIFY_MOSIP',
    schema: Type.String({ minLength: 2, maxLength: 4000 }),
    description:
      'JSON for the mosip adapter: `partner_id`, `misp_license_key`, `partner_api_key`, PEM files `ida_certificate`, `partner_key`, `partner_certificate` (and optionally `ida_signing_certificate`), `identifier_type` (registry identifier sent, default UIN), `individual_id_type` (UIN or VID), `language` (default eng), `env`, `domain_uri`.',
    secret: true,
  },
  idVerifyMapping: {
    env: 'SPX_ID_VERIFY_MAPPING',
    schema: Type.String({ minLength: 2, maxLength: 4000 }),
    default:
      '{"request":{"id_number":"identifier:UIN","first_name":"given_name","last_name":"family_name","date_of_birth":"birth_date"},"match":{"path":"match","equals":true}}',
    description:
      'JSON: which registry field fills each field of the request ("identifier:TYPE" for an identifier), and where the answer says match ("path", "equals").',
  },
  idVerifyTimeoutMs: {
    env: 'SPX_ID_VERIFY_TIMEOUT_MS',
    schema: Type.Integer({ minimum: 100, maximum: 60000 }),
    default: 3000,
    description:
      'How long one call to the ID system may take, in milliseconds (then it counts as a failure).',
  },
  idVerifyBreakerSeconds: {
    env: 'SPX_ID_VERIFY_BREAKER_SECONDS',
    schema: Type.Integer({ minimum: 1, maximum: 3600 }),
    default: 30,
    description:
      'After 5 failed calls in a row the ID system is not called for this many seconds (verifications fail at once), then one call tests it.',
  },
  odkMaxSubmissionMb: {
    env: 'SPX_ODK_MAX_SUBMISSION_MB',
    schema: Type.Integer({ minimum: 1, maximum: 1024 }),
    default: 20,
    description:
      'The largest ODK submission accepted, XML and attachments together, in MB (told to ODK Collect as X-OpenRosa-Accept-Content-Length).',
  },
  authCacheSeconds: {
    env: 'SPX_AUTH_CACHE_SECONDS',
    schema: Type.Integer({ minimum: 0, maximum: 300 }),
    default: 5,
    description:
      "How long an authenticated API key and a client's policy are reused before being read again, in seconds (0: every request). A change through this gateway applies at once; one made by the CLI or another gateway within this time.",
  },
  defaultRateLimit: {
    env: 'SPX_DEFAULT_RATE_LIMIT',
    schema: Type.Integer({ minimum: 0, maximum: 1_000_000 }),
    default: 0,
    description:
      'Requests per minute allowed to a client whose policy sets no rate limit, per gateway (0: unlimited).',
  },
  defaultDailyQuota: {
    env: 'SPX_DEFAULT_DAILY_QUOTA',
    schema: Type.Integer({ minimum: 0, maximum: 1_000_000_000 }),
    default: 0,
    description: 'Requests per UTC day allowed to a client whose policy sets no daily quota (0: unlimited).',
  },
  usageFlushSeconds: {
    env: 'SPX_USAGE_FLUSH_SECONDS',
    schema: Type.Number({ minimum: 0.1, maximum: 3600 }),
    default: 10,
    description:
      "How often each gateway adds its clients' request counts to the daily usage table, in seconds (also on shutdown).",
  },
  tokenTtlSeconds: {
    env: 'SPX_TOKEN_TTL_SECONDS',
    schema: Type.Integer({ minimum: 30, maximum: 3600 }),
    default: 300,
    description:
      'Lifetime of an OAuth access token issued by POST /oauth/token, in seconds (short: a revoked credential or disabled client is refused at once anyway).',
  },
  tokenAudience: {
    env: 'SPX_TOKEN_AUDIENCE',
    schema: Type.String({ minLength: 1, maxLength: 500 }),
    description:
      'The audience (aud) of our access tokens, which every token presented must name (unset: the issuer, i.e. SPX_PUBLIC_URL or the listening URL).',
  },
  consoleOidcProvider: {
    env: 'SPX_CONSOLE_OIDC_PROVIDER',
    schema: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9 ._-]{1,79}$' }),
    description:
      'Name of the registered identity provider (POST /api/v1/identity-providers) through which people sign in to the admin console (OpenID Connect, authorization code with PKCE). Unset: API key sign-in only. Needs SPX_CONSOLE_OIDC_CLIENT_ID.',
  },
  consoleOidcClientId: {
    env: 'SPX_CONSOLE_OIDC_CLIENT_ID',
    schema: Type.String({ minLength: 1, maxLength: 200 }),
    description:
      "The console's client_id at that provider (the audience of its ID tokens); register the redirect URI `<gateway>/api/v1/console/oidc/callback` there (`<gateway>`: SPX_PUBLIC_URL, else the URL the browser uses).",
  },
  consoleOidcClientSecret: {
    env: 'SPX_CONSOLE_OIDC_CLIENT_SECRET',
    schema: Type.String({ minLength: 1, maxLength: 500 }),
    description:
      "The console's client secret at that provider, for a confidential client (sent as HTTP Basic, client_secret_basic). Unset: a public client (PKCE only).",
    secret: true,
  },
  anomalyGuard: {
    env: 'SPX_ANOMALY_GUARD',
    schema: Type.Boolean(),
    default: true,
    description:
      'Watch every client for enumeration, volume spikes, error spikes and failed authentications, throttling or suspending it and recording alerts (docs/security/anomaly-guard.md).',
  },
  anomalyWindowMinutes: {
    env: 'SPX_ANOMALY_WINDOW_MINUTES',
    schema: Type.Integer({ minimum: 1, maximum: 120 }),
    default: 10,
    description:
      'Sliding window of the anomaly rules on distinct records, walks, errors and failed authentications, in minutes.',
  },
  anomalyThrottleSeconds: {
    env: 'SPX_ANOMALY_THROTTLE_SECONDS',
    schema: Type.Integer({ minimum: 10, maximum: 86_400 }),
    default: 900,
    description:
      'How long the anomaly guard throttles a client or an address (429 with Retry-After), in seconds.',
  },
  anomalyEnumerationDistinct: {
    env: 'SPX_ANOMALY_ENUMERATION_DISTINCT',
    schema: Type.Integer({ minimum: 5, maximum: 1_000_000 }),
    default: 100,
    description:
      'Distinct records looked up by key within the window, at least half not found, that make a client an enumerator.',
  },
  anomalyWalkLookups: {
    env: 'SPX_ANOMALY_WALK_LOOKUPS',
    schema: Type.Integer({ minimum: 5, maximum: 1_000_000 }),
    default: 30,
    description:
      'Lookups of numbered keys within the window, 60% of them a short step from an earlier one, that make a sequential walk.',
  },
  anomalyVolumeFactor: {
    env: 'SPX_ANOMALY_VOLUME_FACTOR',
    schema: Type.Number({ minimum: 2, maximum: 1000 }),
    default: 10,
    description: "Times a client's usual hourly volume that makes a volume spike.",
  },
  anomalyVolumeFloor: {
    env: 'SPX_ANOMALY_VOLUME_FLOOR',
    schema: Type.Integer({ minimum: 1, maximum: 100_000_000 }),
    default: 1000,
    description: 'Requests within one hour below which no volume spike is found, whatever the baseline.',
  },
  anomalyAuthFailures: {
    env: 'SPX_ANOMALY_AUTH_FAILURES',
    schema: Type.Integer({ minimum: 3, maximum: 100_000 }),
    default: 30,
    description:
      'Failed authentications within the window from one address (throttled) or for one key prefix (alert).',
  },
} as const satisfies Record<string, Setting>;

export type SettingName = keyof typeof settings;
type Settings = typeof settings;
type HasDefault<K extends SettingName> = Settings[K] extends { default: unknown } ? K : never;
type DefaultedNames = { [K in SettingName]: HasDefault<K> }[SettingName];

/** The validated configuration handed to every part of the gateway. */
export type Config = { [K in DefaultedNames]: Static<Settings[K]['schema']> } & {
  [K in Exclude<SettingName, DefaultedNames>]?: Static<Settings[K]['schema']>;
};
