-- DCI message signatures (DCI issue, scope 6): the keys we sign our messages with, the public keys
-- clients verify theirs with, and whether a client's messages must be signed.

-- Our own signing keys. The current one signs every envelope we send (sync answers, callbacks);
-- it is generated on first use when there is none. Retired keys stay in /.well-known/jwks.json
-- until expires_at, so that messages signed just before a rotation still verify.
-- The private key is stored as PKCS#8 DER, unencrypted for now: issue 5 encrypts private keys at
-- rest with a master key.
create table dci_signing_keys (
  -- The key id of the DCI kid `<sender_id>|<id>|<algorithm>`: the RFC 7638 thumbprint of the public key.
  id          text primary key,
  algorithm   text not null check (algorithm in ('ed25519', 'rsa-sha256')),
  public_jwk  jsonb not null,
  private_key bytea not null,
  status      text not null check (status in ('current', 'retired')),
  created_at  timestamptz not null default now(),
  retired_at  timestamptz,
  expires_at  timestamptz
);
-- At most one current key: two gateways generating one at once keep the first.
create unique index dci_signing_keys_current on dci_signing_keys (status) where status = 'current';

-- Public keys a client registered (an admin uploads them as JWK or PEM): Ed25519 or RSA >= 2048.
create table dci_client_keys (
  client_id  uuid not null references api_clients (id),
  -- The key id of the client's kid `<sender_id>|<key_id>|<algorithm>`.
  key_id     text not null check (key_id ~ '^[A-Za-z0-9._~:-]{1,100}$'),
  algorithm  text not null check (algorithm in ('ed25519', 'rsa-sha256')),
  -- Public members only (never d, p, q...), with kid, alg and use.
  public_jwk jsonb not null,
  created_by uuid references api_clients (id),
  created_at timestamptz not null default now(),
  expires_at timestamptz,
  revoked_at timestamptz,
  primary key (client_id, key_id)
);

-- Where else a client's public keys may be found (a JWKS URL: https, or inside its callback
-- origins), and which of its messages must be signed: 'all', 'async' (async and subscription
-- endpoints; the default) or 'none'.
alter table dci_client_settings add column jwks_uri text;
alter table dci_client_settings add column signature_policy text not null default 'async'
  check (signature_policy in ('all', 'async', 'none'));
