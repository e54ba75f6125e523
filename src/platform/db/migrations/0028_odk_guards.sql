-- ODK hardening (defects issue, items 12 and 16).
--
-- An ODK Central source is pulled through the outbound SSRF guard: its host must resolve to public
-- addresses only, unless an administrator allows private ones (a Central on the ministry's own
-- network, a test bench), as for DCI callbacks and identity providers.
alter table odk_central_sources add column allow_private_addresses boolean not null default false;

-- A submission whose bytes are not UTF-8 text PostgreSQL can hold (UTF-16, a NUL character) is still
-- kept as it came: its bytes here, a readable rendering in xml, failed with its parse error.
alter table odk_submissions add column raw bytea;
