-- Admin console sign-in (issue 9): a session rests on the API key that opened it (revoking the key
-- ends it). Only the SHA-256 of the session token is stored; the token lives in an HttpOnly cookie.
create table console_sessions (
  id          uuid primary key,
  token_hash  bytea not null unique,
  key_id      uuid not null references api_keys (id) on delete cascade,
  created_at  timestamptz not null default now(),
  expires_at  timestamptz not null,
  ended_at    timestamptz
);
create index console_sessions_key on console_sessions (key_id);
