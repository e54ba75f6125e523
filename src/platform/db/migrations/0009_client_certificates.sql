-- Client certificates (issue 5, mutual TLS): how a certificate presented on the mutual-TLS listener,
-- already verified against SPX_TLS_CLIENT_CA, maps to a registered client. A registration names
-- either one certificate (an uploaded PEM, or its thumbprint) or a subject DN (RFC 8705
-- tls_client_auth: any certificate of the CA with exactly this subject, so renewals need no new
-- registration).
create table client_certificates (
  id            uuid primary key default gen_random_uuid(),
  client_id     uuid not null references api_clients (id),
  -- RFC 8705 x5t#S256: base64url SHA-256 of the certificate's DER.
  thumbprint    text check (thumbprint ~ '^[A-Za-z0-9_-]{43}$'),
  -- The subject DN as Node prints it (one RDN per line); null for a thumbprint-only registration.
  subject       text,
  -- From an uploaded PEM only: what the certificate says about itself.
  issuer        text,
  serial_number text,
  not_before    timestamptz,
  not_after     timestamptz,
  description   text,
  created_by    uuid references api_clients (id),
  created_at    timestamptz not null default now(),
  revoked_at    timestamptz,
  check (thumbprint is not null or subject is not null)
);
-- A certificate is registered once, ever: a revoked one stays revoked (issue a new certificate).
create unique index client_certificates_thumbprint on client_certificates (thumbprint);
-- A subject maps to one client at a time.
create unique index client_certificates_subject on client_certificates (subject)
  where thumbprint is null and revoked_at is null;
create index client_certificates_client on client_certificates (client_id);
