-- Keys and encryption (issue 5, scope 3): our private keys encrypted at rest under the master key,
-- the key pair DCI messages are encrypted to us with, clients' encryption keys, and whether a
-- client's DCI messages are encrypted.

-- Our key pairs keep their private key sealed: a compact JWE (A256GCMKW + A256GCM) whose content key
-- is wrapped by the master key, and whose protected header names the master key and the key
-- (#platform/crypto/key-vault). The master key is not known to SQL: the plain PKCS#8 private_key of
-- rows written before this migration is sealed, and emptied, by the first gateway that starts.
alter table dci_signing_keys alter column private_key drop not null;
alter table dci_signing_keys add column sealed_private_key text;
alter table dci_signing_keys add constraint dci_signing_keys_one_private_key
  check ((private_key is null) <> (sealed_private_key is null));
alter table oauth_signing_keys alter column private_key drop not null;
alter table oauth_signing_keys add column sealed_private_key text;
alter table oauth_signing_keys add constraint oauth_signing_keys_one_private_key
  check ((private_key is null) <> (sealed_private_key is null));

-- The key pair clients encrypt DCI messages to us with (ECDH-ES+A256KW on P-256), published in
-- /.well-known/jwks.json with use "enc". The current one is generated on first use; after a rotation
-- a retired key still decrypts until expires_at, but is no longer published.
create table dci_encryption_keys (
  -- The JWE kid: the RFC 7638 thumbprint of the public key.
  id                 text primary key,
  algorithm          text not null check (algorithm in ('ECDH-ES+A256KW')),
  public_jwk         jsonb not null,
  sealed_private_key text not null,
  status             text not null check (status in ('current', 'retired')),
  created_at         timestamptz not null default now(),
  retired_at         timestamptz,
  expires_at         timestamptz
);
create unique index dci_encryption_keys_current on dci_encryption_keys (status) where status = 'current';

-- A client's registered keys now also include the public keys we encrypt its messages to (use
-- "enc": ECDH-ES+A256KW with an EC or X25519 key, RSA-OAEP-256 with an RSA key of 2048 bits or more).
alter table dci_client_keys add column use text not null default 'sig' check (use in ('sig', 'enc'));
alter table dci_client_keys drop constraint dci_client_keys_algorithm_check;
alter table dci_client_keys add constraint dci_client_keys_algorithm_check check (
  (use = 'sig' and algorithm in ('ed25519', 'rsa-sha256'))
  or (use = 'enc' and algorithm in ('ECDH-ES+A256KW', 'RSA-OAEP-256'))
);

-- encryption_required: the client's messages must come encrypted. encrypt_messages: every envelope
-- we send it (answers, callbacks, notifications) is encrypted to its newest encryption key; answers
-- to an encrypted message are encrypted whatever this says.
alter table dci_client_settings add column encryption_required boolean not null default false;
alter table dci_client_settings add column encrypt_messages boolean not null default false;
