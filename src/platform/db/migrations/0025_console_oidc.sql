-- Console sign-in through an external OpenID Connect provider (authorization code with PKCE).
--
-- A console session now rests on an API key or on the identity link (identity_provider credential)
-- of the person who signed in at the provider: exactly one of them, and revoking it ends the session.
alter table console_sessions alter column key_id drop not null;
alter table console_sessions
  add column credential_id uuid references oauth_credentials (id) on delete cascade;
alter table console_sessions
  add constraint console_sessions_one_ground check ((key_id is null) <> (credential_id is null));
create index console_sessions_credential on console_sessions (credential_id);

-- Sign-ins sent to the provider and not back yet: found by the SHA-256 of their state, bound to the
-- browser that started them by the SHA-256 of a cookie's value, used once, good for minutes. The
-- PKCE verifier and the nonce are secrets for that long only.
create table console_oidc_logins (
  state_hash    bytea primary key,
  binding_hash  bytea not null,
  code_verifier text not null,
  nonce         text not null,
  redirect_uri  text not null,
  expires_at    timestamptz not null
);
create index console_oidc_logins_expiry on console_oidc_logins (expires_at);
