-- DCI consent, record-level audit and answer retention (DCI issue, scope 7 and 9).

-- Which subjects consented to which purpose (DCI `Consent.purpose.code`). A client whose settings
-- require consent receives only records whose subjects consented to the purpose its request states.
create table consents (
  individual_id uuid not null references individuals (id),
  purpose       text not null check (purpose ~ '^[A-Za-z0-9_.:/-]{1,100}$'),
  granted_at    timestamptz not null default now(),
  -- A withdrawn consent is kept (it is evidence of what was allowed when), but no longer counts.
  withdrawn_at  timestamptz,
  source        text,
  primary key (individual_id, purpose)
);
create index consents_purpose on consents (purpose, individual_id) where withdrawn_at is null;

alter table dci_client_settings add column consent_required boolean not null default false;

-- The ids of the records an access returned, so that "who saw this person, and why" can be
-- answered from the audit trail. Covered by the entry's hash when present.
alter table audit_log add column subject_ids text[];
create index audit_log_subjects on audit_log using gin (subject_ids);

-- Async answers hold personal data until they are delivered; after the retention period their
-- records are removed (item statuses stay for txn status), and the time is noted here.
alter table dci_exchanges add column purged_at timestamptz;
create index dci_exchanges_retention on dci_exchanges (updated_at) where purged_at is null and mode = 'async';
