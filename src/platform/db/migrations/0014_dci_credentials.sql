-- A DCI message or subscription names the credential it was sent with, whatever its kind: an API key,
-- an OAuth 2.0 credential (the message came with an access token) or a registered client certificate.
-- Async answers and notifications are given for that credential as it stands then (auth/stored-credential.ts),
-- within the scopes the sender held when it sent the message.
alter table dci_exchanges drop constraint dci_exchanges_key_id_fkey;
alter table dci_exchanges
  add column auth_method text not null default 'api_key'
    check (auth_method in ('api_key', 'access_token', 'client_certificate')),
  add column scopes text[];
alter table dci_subscriptions drop constraint dci_subscriptions_key_id_fkey;
alter table dci_subscriptions
  add column auth_method text not null default 'api_key'
    check (auth_method in ('api_key', 'access_token', 'client_certificate')),
  add column scopes text[];
