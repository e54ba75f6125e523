-- Anomaly guard (src/platform/anomaly, docs/security/anomaly-guard.md).

-- Requests per client and hour: the baselines the guard compares live traffic with. Written in
-- batches (deltas added by every gateway), so a restart keeps them. Counts only: no record ids.
create table anomaly_hourly (
  client_id uuid not null references api_clients (id) on delete cascade,
  hour      timestamptz not null,
  requests  integer not null default 0,
  errors    integer not null default 0,
  lookups   integer not null default 0,
  misses    integer not null default 0,
  primary key (client_id, hour)
);
create index anomaly_hourly_hour on anomaly_hourly (hour);

-- What the guard saw and did. A client alert names the client; an alert about unauthenticated
-- traffic names its source (`ip:<address>` or `key:<public key prefix>`). Evidence holds counts only.
create table anomaly_alerts (
  id              uuid primary key default gen_random_uuid(),
  seq             bigint generated always as identity unique,
  client_id       uuid references api_clients (id) on delete cascade,
  source          text,
  rule            text not null,
  severity        text not null check (severity in ('info', 'warning', 'critical')),
  action          text not null check (action in ('alert', 'throttle', 'suspend')),
  evidence        jsonb not null,
  throttled_until timestamptz,
  created_at      timestamptz not null default now(),
  acknowledged_at timestamptz,
  acknowledged_by uuid references api_clients (id),
  lifted_at       timestamptz,
  lifted_by       uuid references api_clients (id),
  check ((client_id is null) <> (source is null))
);
create index anomaly_alerts_client on anomaly_alerts (client_id, seq);
-- Throttles still running are read back by every gateway (start and sync).
create index anomaly_alerts_throttles on anomaly_alerts (created_at) where action <> 'alert';
