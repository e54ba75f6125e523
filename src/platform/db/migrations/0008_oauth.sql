-- OAuth 2.0 (issue 5, scope 1): the keys our access tokens are signed with, the credentials a
-- client obtains tokens with (client secrets, public keys for private_key_jwt, links to its
-- identity at an external identity provider), those providers, and the client assertions already
-- used (RFC 7523: a jti is accepted once).

-- Our access token signing keys (Ed25519, JWS alg EdDSA). The current one signs every token; it is
-- generated on first use. Retired keys stay in /.well-known/jwks.json until expires_at, so that
-- tokens signed just before a rotation still verify. The private key is stored as PKCS#8 DER,
-- unencrypted, as the DCI signing keys are until issue 5 (scope 3) encrypts keys at rest.
create table oauth_signing_keys (
  -- The JWS kid: the RFC 7638 thumbprint of the public key.
  id          text primary key,
  algorithm   text not null check (algorithm in ('EdDSA')),
  public_jwk  jsonb not null,
  private_key bytea not null,
  status      text not null check (status in ('current', 'retired')),
  created_at  timestamptz not null default now(),
  retired_at  timestamptz,
  expires_at  timestamptz
);
-- At most one current key: two gateways generating one at once keep the first.
create unique index oauth_signing_keys_current on oauth_signing_keys (status) where status = 'current';

-- External identity providers (Keycloak, WSO2...) whose access tokens we accept: verified against
-- the provider's JWKS, mapped to a registered client by a claim (client_claim), with permissions
-- taken from a claim (permissions_claim, a dotted path) through permissions_map (provider value ->
-- our role or permission; empty: the values are our permission names).
create table oauth_identity_providers (
  id                      uuid primary key default gen_random_uuid(),
  name                    text not null unique,
  issuer                  text not null unique,
  jwks_uri                text not null,
  audience                text not null,
  client_claim            text not null default 'azp',
  permissions_claim       text not null default 'scope',
  permissions_map         jsonb not null default '{}',
  allow_private_addresses boolean not null default false,
  created_by              uuid references api_clients (id),
  created_at              timestamptz not null default now(),
  updated_at              timestamptz not null default now(),
  disabled_at             timestamptz
);

-- What a client obtains or presents tokens with. client_secret: the SHA-256 hash of a 256-bit
-- random secret (shown once). private_key_jwt: a public JWK (key_id = its kid) or a JWKS URL.
-- identity_provider: the client's identity (external_id, the value of the provider's client claim)
-- at a provider. scopes: the most a token obtained with it may carry.
create table oauth_credentials (
  id                      uuid primary key default gen_random_uuid(),
  client_id               uuid not null references api_clients (id),
  kind                    text not null check (kind in ('client_secret', 'private_key_jwt', 'identity_provider')),
  secret_hash             bytea,
  key_id                  text check (key_id ~ '^[A-Za-z0-9._~:-]{1,100}$'),
  public_jwk              jsonb,
  jwks_uri                text,
  allow_private_addresses boolean not null default false,
  provider_id             uuid references oauth_identity_providers (id),
  external_id             text,
  scopes                  text[] not null,
  description             text,
  created_by              uuid references api_clients (id),
  created_at              timestamptz not null default now(),
  expires_at              timestamptz,
  revoked_at              timestamptz,
  check (
    (kind = 'client_secret' and secret_hash is not null and public_jwk is null and jwks_uri is null
      and provider_id is null)
    or (kind = 'private_key_jwt' and secret_hash is null and provider_id is null
      and ((public_jwk is not null and key_id is not null and jwks_uri is null)
        or (public_jwk is null and key_id is null and jwks_uri is not null)))
    or (kind = 'identity_provider' and secret_hash is null and public_jwk is null and jwks_uri is null
      and provider_id is not null and external_id is not null)
  )
);
create index oauth_credentials_client on oauth_credentials (client_id, kind);
-- A key id names one usable key of a client; an identity at a provider one client.
create unique index oauth_credentials_key_id on oauth_credentials (client_id, key_id)
  where key_id is not null and revoked_at is null;
create unique index oauth_credentials_external on oauth_credentials (provider_id, external_id)
  where provider_id is not null and revoked_at is null;

-- Client assertions (private_key_jwt) already used, until they expire (at most 5 minutes).
create table oauth_used_assertions (
  client_id  uuid not null references api_clients (id),
  jti        text not null,
  expires_at timestamptz not null,
  primary key (client_id, jti)
);
