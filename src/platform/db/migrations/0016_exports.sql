-- Data export (issue 6, SR-022): saved and versioned export definitions, the files of asynchronous
-- export jobs (they expire and are deleted on schedule), the per-recipient keys of pseudonymised
-- identifiers, and the legal basis an export states, kept in the audit trail.

-- A definition is a name with versions: saving it again adds a version, never rewrites one, so an
-- export made last month can be told from its definition as it was then.
create table export_definitions (
  id                      uuid primary key,
  name                    text not null,
  version                 integer not null,
  description             text,
  -- households, individuals, or household_members (one row per member with its household's fields)
  entity                  text not null check (entity in ('households', 'individuals', 'household_members')),
  fields                  text[] not null,
  -- The DCI expression query form (MongoDB-like), compiled like a DCI search; null: every record.
  filter                  jsonb,
  format                  text not null check (format in ('csv', 'json', 'ndjson', 'xml', 'parquet')),
  include_members         boolean not null default false,
  pseudonymise            boolean not null default false,
  drop_direct_identifiers boolean not null default false,
  -- A cron expression (croner syntax) when the export runs on a schedule.
  schedule                text,
  created_by              uuid,
  created_at              timestamptz not null default now(),
  -- Archiving a definition archives the name: every version, and no new export from it.
  archived_at             timestamptz,
  unique (name, version)
);
create index export_definitions_current on export_definitions (name, version desc);

-- The output of an export job, on disk under the data directory until it expires.
create table export_files (
  job_id            uuid primary key,
  definition_id     uuid not null references export_definitions (id),
  client_id         uuid,
  format            text not null,
  file_name         text not null,
  row_count         integer,
  byte_size         bigint,
  purpose           text not null,
  legal_basis       text not null,
  created_at        timestamptz not null default now(),
  completed_at      timestamptz,
  expires_at        timestamptz not null,
  deleted_at        timestamptz
);
create index export_files_expiry on export_files (expires_at) where deleted_at is null;

-- One random key per recipient (client), sealed under the master key: the keyed hash of an
-- identifier differs from one recipient to another, so two recipients cannot join their files.
create table export_pseudonym_keys (
  client_id   uuid primary key,
  sealed_key  text not null,
  created_at  timestamptz not null default now()
);

-- The legal basis (GDPR art. 6) an export states; hashed in the audit chain when present.
alter table audit_log add column legal_basis text;
