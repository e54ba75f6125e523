-- API clients and their keys (a key is shown once; only its SHA-256 hash is kept).
create table api_clients (
  id          uuid primary key default gen_random_uuid(),
  name        text not null unique,
  role        text not null check (role in ('admin', 'integrator', 'analyst', 'field_agent', 'system')),
  description text,
  created_by  uuid references api_clients (id),
  created_at  timestamptz not null default now(),
  disabled_at timestamptz
);

create table api_keys (
  id           uuid primary key default gen_random_uuid(),
  client_id    uuid not null references api_clients (id),
  -- The public part of the key, used to find the row without scanning hashes.
  prefix       text not null unique,
  secret_hash  bytea not null,
  scopes       text[] not null,
  expires_at   timestamptz,
  revoked_at   timestamptz,
  last_used_at timestamptz,
  created_by   uuid references api_clients (id),
  created_at   timestamptz not null default now()
);
create index api_keys_client on api_keys (client_id);

-- Append-only audit trail; each entry's hash covers its content and the previous entry's hash.
create table audit_log (
  seq           bigint generated always as identity primary key,
  at            timestamptz not null default now(),
  request_id    text,
  client_id     uuid,
  client_name   text,
  action        text not null,
  purpose       text,
  resource_type text,
  resource_id   text,
  record_count  integer not null default 0,
  outcome       text not null check (outcome in ('success', 'denied', 'error', 'invalid')),
  status_code   integer,
  prev_hash     text not null,
  hash          text not null
);
create index audit_log_client on audit_log (client_id, at);
create index audit_log_resource on audit_log (resource_type, resource_id);

create function audit_log_is_append_only() returns trigger language plpgsql as $$
begin
  raise exception 'audit_log is append-only';
end $$;
create trigger audit_log_no_update before update or delete on audit_log
  for each statement execute function audit_log_is_append_only();

-- Long operations as resources: the queue (pg-boss) runs them, this table is what users see.
create table jobs (
  id             uuid primary key,
  kind           text not null,
  status         text not null check (status in ('queued', 'running', 'retrying', 'succeeded', 'failed', 'cancelled')),
  payload        jsonb not null,
  result         jsonb,
  error          text,
  progress_done  bigint not null default 0,
  progress_total bigint,
  attempts       integer not null default 0,
  request_id     text,
  created_by     uuid,
  created_at     timestamptz not null default now(),
  started_at     timestamptz,
  finished_at    timestamptz,
  updated_at     timestamptz not null default now()
);
create index jobs_kind_status on jobs (kind, status, created_at);
