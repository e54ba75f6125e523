import { Type, type Static, type TSchema } from '@sinclair/typebox';

/**
 * Every setting of the gateway, in one place: its environment variable, its type and default, and
 * the sentence the README's configuration table shows (`spx config --markdown` prints that table).
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
  dciNotifyIntervalMs: {
    env: 'SPX_DCI_NOTIFY_INTERVAL_MS',
    schema: Type.Integer({ minimum: 100, maximum: 600_000 }),
    default: 2000,
    description:
      'How often registry changes are matched against DCI subscriptions, in ms (at once while work waits).',
  },
  apiKeyTtlDays: {
    env: 'SPX_API_KEY_TTL_DAYS',
    schema: Type.Integer({ minimum: 1, maximum: 3650 }),
    default: 365,
    description: 'Default lifetime of a new API key, in days.',
  },
  authCacheSeconds: {
    env: 'SPX_AUTH_CACHE_SECONDS',
    schema: Type.Integer({ minimum: 0, maximum: 300 }),
    default: 5,
    description:
      "How long an authenticated API key and a client's policy are reused before being read again, in seconds (0: every request). A change through this gateway applies at once; one made by the CLI or another gateway within this time.",
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
