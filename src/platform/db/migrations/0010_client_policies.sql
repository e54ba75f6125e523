-- Per-client policy: the data sharing agreement a client works under (issue 5, scope 4). One row per
-- client at most; no row means the role's defaults. A null list means "not restricted by the policy".
create table client_policies (
  client_id     uuid primary key references api_clients (id),
  -- Reference of the signed agreement (e.g. DSA-2025-014), shown in refusals and the admin API.
  agreement_ref text not null,
  description   text,
  -- Route audit actions (patterns, `*` = one dot-separated segment) the client may call.
  operations    text[] check (cardinality(operations) > 0),
  registries    text[] check (cardinality(registries) > 0 and registries <@ array['social', 'ibr']),
  -- Field classes hidden on top of those the role hides.
  hidden_fields text[] not null default '{}',
  -- Purposes the client may state; when set, every access must state one of them.
  purposes      text[] check (cardinality(purposes) > 0),
  -- Admin areas whose records the client may see (a code covers the areas below it).
  area_codes    text[] check (cardinality(area_codes) > 0),
  -- Requests per minute and per day (UTC); null = the gateway's default settings.
  rate_limit    integer check (rate_limit > 0),
  daily_quota   integer check (daily_quota > 0),
  valid_from    timestamptz,
  valid_until   timestamptz,
  updated_by    uuid references api_clients (id),
  created_at    timestamptz not null default now(),
  updated_at    timestamptz not null default now(),
  check (valid_from is null or valid_until is null or valid_until > valid_from)
);

-- Requests per client and UTC day, added in batches by each gateway (the daily quota survives restarts).
create table client_usage (
  client_id uuid not null references api_clients (id),
  day       date not null,
  requests  bigint not null default 0,
  primary key (client_id, day)
);
