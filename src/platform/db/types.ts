/**
 * Kysely table types, kept by hand beside the SQL migrations they describe (migrations/*.sql);
 * types.test.ts checks them against the migrated schema. `Generated` marks columns the database fills in.
 */
import type { ColumnType, Generated } from 'kysely';

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
/** A timestamp without a default: every insert gives it. */
type GivenTimestamp = ColumnType<Date, Date | string, Date | string>;
type Defaulted<T> = ColumnType<T, T | undefined, T>;

interface Versioned {
  updated_at: Timestamp;
  version: Generated<number>;
  change_seq: Generated<number>;
}

/** Registry records a change feed follows: the transaction that last wrote the row (xid8, as text). */
interface FedChanges {
  change_xid: Generated<string>;
}

export interface AdminAreaTable extends Versioned {
  code: string;
  name: string;
  level: number;
  level_name: string;
  parent_code: string | null;
  boundary: unknown;
  created_at: Timestamp;
}

export interface HouseholdTable extends Versioned, FedChanges {
  id: string;
  household_number: string;
  group_type: Defaulted<string>;
  status: Defaulted<string>;
  admin_area_code: string;
  latitude: number | null;
  longitude: number | null;
  address_line: string | null;
  locality: string | null;
  pmt_score: number | null;
  income_band: string | null;
  dwelling_type: string | null;
  water_source: string | null;
  has_electricity: boolean | null;
  assets: Defaulted<string[]>;
  registered_at: Timestamp;
}

export interface IndividualTable extends Versioned, FedChanges {
  id: string;
  household_id: string;
  relationship_to_head: string;
  given_name: string;
  middle_name: string | null;
  family_name: string;
  sex: string;
  birth_date: string | null;
  phone: string | null;
  marital_status: string | null;
  disability: Defaulted<boolean>;
  disability_type: string | null;
  is_deceased: Defaulted<boolean>;
  deceased_date: string | null;
  consent_data_sharing: Defaulted<boolean>;
  consent_contact: Defaulted<boolean>;
  status: Defaulted<string>;
  registered_at: Timestamp;
}

export interface IdentifierTable {
  individual_id: string;
  id_type: string;
  id_value: string;
  issued_by: string | null;
}

export interface ProgramTable extends Versioned {
  id: string;
  code: string;
  name: string;
  description: string | null;
  benefit_type: string;
  target_unit: string;
  benefit_frequency: string | null;
  currency: string | null;
  exclusion_groups: Defaulted<string[]>;
  active: Defaulted<boolean>;
  created_at: Timestamp;
  eligibility_criteria: Generated<unknown>;
}

export interface EnrollmentTable extends Versioned {
  id: string;
  program_id: string;
  household_id: string | null;
  individual_id: string | null;
  program_beneficiary_id: string | null;
  status: string;
  status_reason: string | null;
  enrolled_at: string;
  benefit_amount: number | null;
  currency: string | null;
  payment_method: string | null;
  payment_account: string | null;
  last_payment_at: string | null;
  created_at: Timestamp;
}

export interface EnrollmentStatusHistoryTable {
  id: Generated<number>;
  enrollment_id: string;
  from_status: string | null;
  to_status: string;
  reason: string | null;
  changed_at: Timestamp;
  changed_by: string | null;
}

export interface SeedPlantedDuplicateTable {
  original_id: string;
  duplicate_id: string;
  variation: string;
}

export interface SeedRunTable {
  id: Generated<number>;
  seed: number;
  households: number;
  individuals: number;
  took_ms: number;
  finished_at: Timestamp;
}

export interface ApiClientTable {
  id: Generated<string>;
  name: string;
  role: string;
  description: string | null;
  created_by: string | null;
  created_at: Timestamp;
  disabled_at: Date | null;
  /** May authenticate with HTTP Basic beyond the OpenRosa routes (migration 0027). */
  http_basic: Generated<boolean>;
}

export interface ApiKeyTable {
  id: Generated<string>;
  client_id: string;
  prefix: string;
  secret_hash: Buffer;
  scopes: string[];
  expires_at: Date | null;
  revoked_at: Date | null;
  last_used_at: Date | null;
  created_by: string | null;
  created_at: Timestamp;
}

export interface AuditLogTable {
  seq: Generated<number>;
  at: Timestamp;
  request_id: string | null;
  client_id: string | null;
  client_name: string | null;
  action: string;
  purpose: string | null;
  resource_type: string | null;
  resource_id: string | null;
  record_count: number;
  outcome: string;
  status_code: number | null;
  /** Ids of the records the access returned (null: none recorded). */
  subject_ids: string[] | null;
  /** The legal basis an export stated (GDPR art. 6); null for other accesses. */
  legal_basis: string | null;
  prev_hash: string;
  hash: string;
}

export interface JobTable {
  id: string;
  kind: string;
  status: string;
  payload: unknown;
  result: unknown;
  error: string | null;
  progress_done: Defaulted<number>;
  progress_total: number | null;
  attempts: Defaulted<number>;
  request_id: string | null;
  created_by: string | null;
  created_at: Timestamp;
  started_at: Date | null;
  finished_at: Date | null;
  updated_at: Timestamp;
}

export interface SchemaMigrationTable {
  version: number;
  name: string;
  checksum: string;
  applied_at: Timestamp;
}

export interface DciClientSettingsTable {
  client_id: string;
  callback_origins: Defaulted<string[]>;
  callback_uri: string | null;
  allow_private_addresses: Defaulted<boolean>;
  jwks_uri: string | null;
  signature_policy: Defaulted<string>;
  consent_required: Defaulted<boolean>;
  encryption_required: Defaulted<boolean>;
  encrypt_messages: Defaulted<boolean>;
  updated_by: string | null;
  updated_at: Timestamp;
}

export interface DciExchangeTable {
  id: string;
  client_id: string;
  /** The credential the message came with (migration 0014): API key, OAuth credential or certificate id. */
  key_id: string;
  auth_method: Defaulted<string>;
  /** The sender's scopes when it sent the message (null: rows from before migration 0014). */
  scopes: string[] | null;
  registry: string;
  operation: string;
  mode: string;
  message_id: string;
  sender_id: string;
  transaction_id: string;
  correlation_id: string;
  reference_ids: Defaulted<string[]>;
  status: string;
  status_reason_code: string | null;
  status_reason_message: string | null;
  summary: ColumnType<unknown, string | undefined, string>;
  request: ColumnType<unknown, string | null | undefined, string | null>;
  response: ColumnType<unknown, string | null | undefined, string | null>;
  callback_uri: string | null;
  request_id: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
  purged_at: Date | null;
}

export interface DciDeliveryTable {
  id: string;
  exchange_id: string;
  client_id: string;
  action: string;
  message_id: string;
  callback_uri: string;
  status: string;
  attempts: Defaulted<number>;
  last_status_code: number | null;
  last_error: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
  delivered_at: Date | null;
  /** Notifications only: the subscription and the registry event notified (migration 0006). */
  subscription_id: string | null;
  event_id: number | null;
  job_id: string | null;
  /** A notification of a subscription with a cron frequency is not sent before (migration 0013). */
  not_before: Date | null;
}

export interface DciSubscriptionTable {
  id: string;
  code: string;
  client_id: string;
  /** As in DciExchangeTable (migration 0014). */
  key_id: string;
  auth_method: Defaulted<string>;
  scopes: string[] | null;
  registry: string;
  exchange_id: string;
  reference_id: string;
  status: string;
  reg_type: string;
  reg_event_type: string;
  notify_record_type: string;
  record_shape: string;
  entity: string;
  event_entity: string;
  event_kind: string;
  filter_type: string;
  filter: ColumnType<unknown, string, string>;
  fingerprint: string;
  purpose: string | null;
  starts_at: Date | null;
  ends_at: Date | null;
  frequency: ColumnType<unknown, string | null, string | null>;
  locale: string | null;
  sender_id: string;
  notify_uri: string;
  after_event_id: number;
  created_at: Timestamp;
  updated_at: Timestamp;
  ended_at: Date | null;
  end_exchange_id: string | null;
}

export interface DciRegistryEventTable {
  id: Generated<number>;
  entity: string;
  kind: string;
  individual_id: string | null;
  household_id: string | null;
  enrollment_id: string | null;
  occurred_at: Timestamp;
  dispatched_at: Date | null;
}

export interface DciExchangeLogTable {
  id: Generated<number>;
  at: Timestamp;
  direction: string;
  client_id: string | null;
  exchange_id: string | null;
  delivery_id: string | null;
  peer_origin: string;
  action: string;
  message_id: string;
  attempt: number;
  outcome: string;
  status_code: number | null;
  duration_ms: number;
  error: string | null;
  request_id: string | null;
}

/** One consent of a person to a purpose (migrations 0007, 0030): kept when withdrawn, never deleted. */
export interface ConsentTable {
  id: Generated<string>;
  individual_id: string;
  purpose: string;
  granted_at: Timestamp;
  channel: Defaulted<string>;
  evidence_ref: string | null;
  recorded_by: string | null;
  withdrawn_at: Date | null;
  withdrawal_channel: string | null;
  withdrawal_evidence_ref: string | null;
  withdrawal_recorded_by: string | null;
}

export interface DciSigningKeyTable {
  id: string;
  algorithm: string;
  public_jwk: ColumnType<unknown, string, string>;
  /** Plain PKCS#8 DER of a key written before migration 0015, until a gateway starts and seals it. */
  private_key: Buffer | null;
  /** The private key sealed under the master key (migration 0015, #platform/crypto/key-vault). */
  sealed_private_key: string | null;
  status: string;
  created_at: Timestamp;
  retired_at: Date | null;
  expires_at: Date | null;
}

export interface DciClientKeyTable {
  client_id: string;
  key_id: string;
  algorithm: string;
  /** 'sig' or 'enc' (migration 0015). */
  use: Defaulted<string>;
  public_jwk: ColumnType<unknown, string, string>;
  created_by: string | null;
  created_at: Timestamp;
  expires_at: Date | null;
  revoked_at: Date | null;
}

/** Our access token signing keys (migration 0008). */
export interface OAuthSigningKeyTable {
  id: string;
  algorithm: string;
  public_jwk: ColumnType<unknown, string, string>;
  /** As in dci_signing_keys: plain until sealed on start (migration 0015). */
  private_key: Buffer | null;
  sealed_private_key: string | null;
  status: string;
  created_at: Timestamp;
  retired_at: Date | null;
  expires_at: Date | null;
}

/** Our DCI message encryption key pairs (migration 0015). */
export interface DciEncryptionKeyTable {
  id: string;
  algorithm: string;
  public_jwk: ColumnType<unknown, string, string>;
  sealed_private_key: string;
  status: string;
  created_at: Timestamp;
  retired_at: Date | null;
  expires_at: Date | null;
}

/** External identity providers whose tokens we accept (migration 0008). */
export interface OAuthIdentityProviderTable {
  id: Generated<string>;
  name: string;
  issuer: string;
  jwks_uri: string;
  audience: string;
  client_claim: Defaulted<string>;
  permissions_claim: Defaulted<string>;
  permissions_map: ColumnType<Record<string, string>, string | undefined, string>;
  allow_private_addresses: Defaulted<boolean>;
  created_by: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
  disabled_at: Date | null;
}

/** What a client obtains or presents OAuth tokens with (migration 0008). */
export interface OAuthCredentialTable {
  id: Generated<string>;
  client_id: string;
  kind: string;
  secret_hash: Buffer | null;
  key_id: string | null;
  public_jwk: ColumnType<unknown, string | null, string | null>;
  jwks_uri: string | null;
  allow_private_addresses: Defaulted<boolean>;
  provider_id: string | null;
  external_id: string | null;
  scopes: string[];
  description: string | null;
  created_by: string | null;
  created_at: Timestamp;
  expires_at: Date | null;
  revoked_at: Date | null;
}

/** Client assertions already used (migration 0008). */
export interface OAuthUsedAssertionTable {
  client_id: string;
  jti: string;
  expires_at: Date;
}

/** Client certificates of the mutual-TLS listener (migration 0009). */
export interface ClientCertificateTable {
  id: Generated<string>;
  client_id: string;
  thumbprint: string | null;
  subject: string | null;
  issuer: string | null;
  serial_number: string | null;
  not_before: Date | null;
  not_after: Date | null;
  description: string | null;
  created_by: string | null;
  created_at: Timestamp;
  revoked_at: Date | null;
}

/** Per-client policy: the client's data sharing agreement (migration 0010). */
export interface ClientPolicyTable {
  client_id: string;
  agreement_ref: string;
  description: string | null;
  operations: string[] | null;
  registries: string[] | null;
  hidden_fields: Defaulted<string[]>;
  purposes: string[] | null;
  area_codes: string[] | null;
  rate_limit: number | null;
  daily_quota: number | null;
  valid_from: Date | null;
  valid_until: Date | null;
  updated_by: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** Requests per client and UTC day, for the daily quota (migration 0010). */
export interface ClientUsageTable {
  client_id: string;
  /** 'YYYY-MM-DD' (dates stay strings, see type-parsers.ts). */
  day: string;
  requests: Defaulted<number>;
}

/** Requests of one client in one hour (the anomaly guard's baselines; migration 0011). */
export interface AnomalyHourlyTable {
  client_id: string;
  hour: Date;
  requests: Defaulted<number>;
  errors: Defaulted<number>;
  lookups: Defaulted<number>;
  misses: Defaulted<number>;
}

/** What the anomaly guard saw and did (migration 0011); evidence holds counts only. */
export interface AnomalyAlertTable {
  id: Generated<string>;
  seq: Generated<number>;
  client_id: string | null;
  source: string | null;
  rule: string;
  severity: string;
  action: string;
  evidence: ColumnType<Record<string, number>, string, string>;
  throttled_until: Date | null;
  created_at: Timestamp;
  acknowledged_at: Date | null;
  acknowledged_by: string | null;
  lifted_at: Date | null;
  lifted_by: string | null;
}

export interface ExportDefinitionTable {
  id: string;
  name: string;
  version: number;
  description: string | null;
  entity: 'households' | 'individuals' | 'household_members';
  fields: string[];
  filter: unknown;
  format: 'csv' | 'json' | 'ndjson' | 'xml' | 'parquet';
  include_members: boolean;
  pseudonymise: boolean;
  drop_direct_identifiers: boolean;
  schedule: string | null;
  schedule_purpose: string | null;
  schedule_legal_basis: string | null;
  created_by: string | null;
  created_at: Timestamp;
  archived_at: Timestamp | null;
  /** The client that created the definition (migration 0026); null: only exports:admin may change it. */
  owner_id: string | null;
  /** How this version weakens privacy against the version in use when it was saved. */
  privacy_weakened: Generated<string[]>;
  approval: Generated<'not_needed' | 'pending' | 'approved' | 'rejected'>;
  decided_by: string | null;
  decided_at: Timestamp | null;
  decision_reason: string | null;
}

export interface ExportFileTable {
  job_id: string;
  definition_id: string;
  client_id: string | null;
  format: string;
  file_name: string;
  row_count: number | null;
  byte_size: number | null;
  purpose: string;
  legal_basis: string;
  created_at: Timestamp;
  completed_at: Timestamp | null;
  expires_at: GivenTimestamp;
  deleted_at: Timestamp | null;
}

export interface ExportScheduleRunTable {
  name: string;
  due_at: GivenTimestamp;
  version: number;
  job_id: string | null;
  created_at: Timestamp;
}

export interface ExportPseudonymKeyTable {
  client_id: string;
  sealed_key: string;
  created_at: Timestamp;
}

export interface BenefitCapTable {
  currency: string;
  monthly_cap: number;
  updated_at: Timestamp;
}

export interface IdentityVerificationTable {
  id: string;
  individual_id: string;
  method: string;
  adapter: string;
  outcome: 'match' | 'no_match' | 'error';
  detail: string | null;
  attempts: number;
  duration_ms: number;
  requested_by: string | null;
  verified_at: Timestamp;
}

export interface OdkFormTable {
  form_id: string;
  version: string;
  title: string;
  xml: string;
  hash: string;
  active: Defaulted<boolean>;
  created_by: string | null;
  created_at: Timestamp;
}

export interface OdkFormMediaTable {
  form_id: string;
  name: string;
  content_type: string;
  hash: string;
  content: Buffer;
  created_at: Timestamp;
}

export interface OdkFormMappingTable {
  form_id: string;
  version: number;
  mapping: ColumnType<unknown, string, string>;
  review_mode: 'auto' | 'review';
  created_by: string | null;
  created_at: Timestamp;
}

export interface ChangeRequestTable {
  id: string;
  kind: 'registration' | 'update';
  source: string;
  household_id: string | null;
  payload: ColumnType<unknown, string, string>;
  issues: ColumnType<unknown, string | undefined, string>;
  status: 'pending_review' | 'applied' | 'rejected';
  created_by: string | null;
  created_at: Timestamp;
  decided_by: string | null;
  decided_at: Date | null;
  decision_reason: string | null;
}

export interface OdkSubmissionTable {
  id: string;
  instance_id: string;
  form_id: string;
  form_version: string;
  source: 'openrosa' | 'central';
  xml: string;
  xml_sha256: string;
  submitted_by: string | null;
  received_at: Timestamp;
  status: 'received' | 'processed' | 'failed';
  errors: ColumnType<unknown, string | undefined, string>;
  mapping_version: number | null;
  change_request_id: string | null;
  processed_at: Date | null;
  /** The bytes as received, when they are not UTF-8 text without NUL (0028); xml then renders them. */
  raw: Buffer | null;
}

export interface OdkAttachmentTable {
  submission_id: string;
  name: string;
  content_type: string;
  size: number;
  sha256: string;
  content: Buffer;
}

export interface OdkCentralSourceTable {
  id: string;
  name: string;
  base_url: string;
  project_id: number;
  form_id: string;
  auth_kind: 'session' | 'app_user';
  email: string | null;
  secret_sealed: string;
  interval_minutes: number | null;
  enabled: Defaulted<boolean>;
  next_pull_at: Date | null;
  cursor_at: Date | null;
  last_job_id: string | null;
  last_pull_at: Date | null;
  last_pull_status: string | null;
  last_pull_error: string | null;
  last_pull_counts: ColumnType<unknown, string | null | undefined, string | null>;
  created_at: Timestamp;
  /** Its host may resolve to private or loopback addresses (0028). */
  allow_private_addresses: Defaulted<boolean>;
}

export interface ConsoleSessionTable {
  id: string;
  token_hash: Buffer;
  /** The API key the session rests on, or null for a session resting on an identity link (0025). */
  key_id: string | null;
  /** The identity_provider credential of a sign-in through an OpenID provider (0025). */
  credential_id: Defaulted<string | null>;
  created_at: Timestamp;
  expires_at: Date;
  ended_at: Date | null;
}

export interface ConsoleOidcLoginTable {
  state_hash: Buffer;
  binding_hash: Buffer;
  code_verifier: string;
  nonce: string;
  redirect_uri: string;
  expires_at: Date;
}

export interface TrafficMinuteTable {
  minute: Date;
  client_id: string;
  action: string;
  requests: number;
  errors: number;
  rate_limited: number;
  records: number;
  latency_buckets: number[];
}

export interface DB {
  admin_areas: AdminAreaTable;
  households: HouseholdTable;
  individuals: IndividualTable;
  identifiers: IdentifierTable;
  programs: ProgramTable;
  enrollments: EnrollmentTable;
  enrollment_status_history: EnrollmentStatusHistoryTable;
  seed_planted_duplicates: SeedPlantedDuplicateTable;
  seed_runs: SeedRunTable;
  api_clients: ApiClientTable;
  api_keys: ApiKeyTable;
  audit_log: AuditLogTable;
  jobs: JobTable;
  schema_migrations: SchemaMigrationTable;
  dci_client_settings: DciClientSettingsTable;
  dci_exchanges: DciExchangeTable;
  dci_deliveries: DciDeliveryTable;
  dci_exchange_log: DciExchangeLogTable;
  dci_subscriptions: DciSubscriptionTable;
  dci_registry_events: DciRegistryEventTable;
  dci_signing_keys: DciSigningKeyTable;
  dci_client_keys: DciClientKeyTable;
  dci_encryption_keys: DciEncryptionKeyTable;
  consents: ConsentTable;
  oauth_signing_keys: OAuthSigningKeyTable;
  oauth_identity_providers: OAuthIdentityProviderTable;
  oauth_credentials: OAuthCredentialTable;
  oauth_used_assertions: OAuthUsedAssertionTable;
  client_certificates: ClientCertificateTable;
  client_policies: ClientPolicyTable;
  client_usage: ClientUsageTable;
  anomaly_hourly: AnomalyHourlyTable;
  anomaly_alerts: AnomalyAlertTable;
  export_definitions: ExportDefinitionTable;
  export_files: ExportFileTable;
  export_pseudonym_keys: ExportPseudonymKeyTable;
  export_schedule_runs: ExportScheduleRunTable;
  benefit_caps: BenefitCapTable;
  identity_verifications: IdentityVerificationTable;
  odk_forms: OdkFormTable;
  odk_form_mappings: OdkFormMappingTable;
  odk_form_media: OdkFormMediaTable;
  change_requests: ChangeRequestTable;
  odk_submissions: OdkSubmissionTable;
  odk_attachments: OdkAttachmentTable;
  odk_central_sources: OdkCentralSourceTable;
  console_sessions: ConsoleSessionTable;
  console_oidc_logins: ConsoleOidcLoginTable;
  traffic_minutes: TrafficMinuteTable;
}
