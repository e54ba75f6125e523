-- DCI exchange (second increment of the DCI issue): the messages clients send us, the callbacks we
-- send back, and every delivery attempt. No personal data outside `request` / `response` (see below).

-- Where a client may receive callbacks (DCI header.sender_uri must lie inside one of these origins).
create table dci_client_settings (
  client_id               uuid primary key references api_clients (id),
  -- Origins as scheme://host[:port], lower case, no path.
  callback_origins        text[] not null default '{}',
  -- Base URI of the client's DCI endpoints, used when a request has no sender_uri:
  -- <callback_uri>/registry/on-search, <callback_uri>/registry/txn/on-status.
  callback_uri            text,
  -- Callback hosts resolving to loopback, private or link-local addresses are refused unless this is set.
  allow_private_addresses boolean not null default false,
  updated_by              uuid references api_clients (id),
  updated_at              timestamptz not null default now()
);

-- One row per DCI message received (sync or async), scoped to the client that sent it.
create table dci_exchanges (
  id                    uuid primary key,
  client_id             uuid not null references api_clients (id),
  key_id                uuid not null references api_keys (id),
  registry              text not null check (registry in ('social', 'ibr')),
  operation             text not null check (operation in ('search', 'txn-status', 'enrolled', 'enrollment-updates')),
  mode                  text not null check (mode in ('sync', 'async')),
  message_id            text not null,
  sender_id             text not null,
  transaction_id        text not null,
  correlation_id        text not null unique,
  reference_ids         text[] not null default '{}',
  status                text not null check (status in ('rcvd', 'pdng', 'succ', 'rjct')),
  status_reason_code    text,
  status_reason_message text,
  -- What was asked, without values: counts, query types, record types.
  summary               jsonb not null default '{}',
  -- The message of an async request (it holds query values) until it is answered; then cleared.
  request               jsonb,
  -- The response envelope (txn status, callbacks). Sync searches keep item statuses only: the
  -- caller already holds the records.
  response              jsonb,
  callback_uri          text,
  request_id            text,
  created_at            timestamptz not null default now(),
  updated_at            timestamptz not null default now()
);
-- A message id is taken once it is accepted (DCI: its scope ends with a successful ack); a message
-- refused as a whole may be sent again with the same id.
create unique index dci_exchanges_message on dci_exchanges (client_id, message_id) where status <> 'rjct';
create index dci_exchanges_transaction on dci_exchanges (client_id, transaction_id, created_at);
create index dci_exchanges_references on dci_exchanges using gin (reference_ids);

-- One outgoing callback message per exchange and action; its message id is the same on every attempt.
create table dci_deliveries (
  id               uuid primary key,
  exchange_id      uuid not null references dci_exchanges (id),
  client_id        uuid not null references api_clients (id),
  action           text not null,
  message_id       text not null unique,
  callback_uri     text not null,
  -- dead: no retries left (the dead-letter state); refused: the target failed the callback policy.
  status           text not null check (status in ('pending', 'retrying', 'delivered', 'refused', 'dead')),
  attempts         integer not null default 0,
  last_status_code integer,
  last_error       text,
  created_at       timestamptz not null default now(),
  updated_at       timestamptz not null default now(),
  delivered_at     timestamptz,
  unique (exchange_id, action)
);
create index dci_deliveries_status on dci_deliveries (status, updated_at);

-- Every delivery attempt (STYLE habit 9): peer origin, operation, status, timing; no personal data.
create table dci_exchange_log (
  id          bigint generated always as identity primary key,
  at          timestamptz not null default now(),
  direction   text not null check (direction in ('in', 'out')),
  client_id   uuid,
  exchange_id uuid,
  delivery_id uuid,
  peer_origin text not null,
  action      text not null,
  message_id  text not null,
  attempt     integer not null,
  outcome     text not null check (outcome in ('delivered', 'failed', 'refused')),
  status_code integer,
  duration_ms integer not null,
  error       text,
  request_id  text
);
create index dci_exchange_log_delivery on dci_exchange_log (delivery_id, at);
create index dci_exchange_log_client on dci_exchange_log (client_id, at);

-- IBR /registry/sync/enrolled looks a person up by an identifier of any type (the spec's
-- person_identifier has no type): identifiers_lookup leads with the type and cannot serve it.
create index identifiers_value on identifiers (id_value);
-- IBR /registry/sync/enrollment/updates: enrolments changed after a time.
create index enrollments_updated_at on enrollments (updated_at);
