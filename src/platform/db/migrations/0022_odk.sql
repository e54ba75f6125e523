-- Field data collection (issue 8, SR-023): XForms served to ODK Collect, submissions received from it
-- or pulled from ODK Central, kept raw before anything else, and the change requests they become.

-- XForms: the shipped household registration form and the ones admins upload. A form id may have
-- several versions; ODK Collect is offered the newest active one.
create table odk_forms (
  form_id     text not null,
  version     text not null,
  title       text not null,
  xml         text not null,
  -- OpenRosa form list hash: md5 of the XML, as "md5:<hex>".
  hash        text not null,
  active      boolean not null default true,
  created_by  text,
  created_at  timestamptz not null default now(),
  primary key (form_id, version)
);

-- Media files a form refers to (jr://images/..., jr://file-csv/...), listed in its OpenRosa manifest.
create table odk_form_media (
  form_id      text not null,
  name         text not null,
  content_type text not null,
  hash         text not null,
  content      bytea not null,
  created_at   timestamptz not null default now(),
  primary key (form_id, name)
);

-- How a form's fields become registry fields (versioned: a new mapping never changes how earlier
-- submissions were read; each submission records the mapping version it was read with).
create table odk_form_mappings (
  form_id     text not null,
  version     integer not null,
  mapping     jsonb not null,
  -- auto: clean change requests are applied at once; review: every one waits for a reviewer.
  review_mode text not null check (review_mode in ('auto', 'review')),
  created_by  text,
  created_at  timestamptz not null default now(),
  primary key (form_id, version)
);

-- Change requests: a registration or an update of a household and its members, with the issues
-- found (validation errors reject it; possible duplicates hold it for a reviewer).
create table change_requests (
  id             uuid primary key,
  kind           text not null check (kind in ('registration', 'update')),
  source         text not null,
  household_id   uuid references households (id),
  payload        jsonb not null,
  issues         jsonb not null default '[]',
  status         text not null check (status in ('pending_review', 'applied', 'rejected')),
  created_by     text,
  created_at     timestamptz not null default now(),
  decided_by     text,
  decided_at     timestamptz,
  decision_reason text
);
create index change_requests_status on change_requests (status, created_at);

-- Each submission as received, before any processing: the instance XML byte for byte, its form,
-- who sent it, and what became of it. The instanceID makes re-submissions harmless.
create table odk_submissions (
  id                uuid primary key,
  instance_id       text not null unique,
  form_id           text not null,
  form_version      text not null,
  source            text not null check (source in ('openrosa', 'central')),
  xml               text not null,
  xml_sha256        text not null,
  submitted_by      text,
  received_at       timestamptz not null default now(),
  -- received: stored, not yet read; processed: it became change_request_id (whose status says what
  -- became of it); failed: it could not be read (errors say why), kept raw to be processed again.
  status            text not null check (status in ('received', 'processed', 'failed')),
  errors            jsonb not null default '[]',
  mapping_version   integer,
  change_request_id uuid references change_requests (id),
  processed_at      timestamptz
);
create index odk_submissions_status on odk_submissions (status, received_at);
create index odk_submissions_form on odk_submissions (form_id, received_at);

-- Photos, signatures and other files sent with a submission.
create table odk_attachments (
  submission_id uuid not null references odk_submissions (id) on delete cascade,
  name          text not null,
  content_type  text not null,
  size          integer not null,
  sha256        text not null,
  content       bytea not null,
  primary key (submission_id, name)
);

-- ODK Central servers whose submissions are pulled: one row per project form, with the cursor of
-- the last pull (the newest submission date imported) and its outcome.
create table odk_central_sources (
  id               uuid primary key,
  name             text not null unique,
  base_url         text not null,
  project_id       integer not null,
  form_id          text not null,
  auth_kind        text not null check (auth_kind in ('session', 'app_user')),
  email            text,
  -- The password or app-user token, sealed under the master key (it must be presented, so cannot be hashed).
  secret_sealed    text not null,
  interval_minutes integer check (interval_minutes between 1 and 10080),
  enabled          boolean not null default true,
  -- When the schedule next pulls (claimed by the gateway that moves it on: one pull per interval).
  next_pull_at     timestamptz,
  -- The newest submission date imported: a pull asks only for submissions from then on.
  cursor_at        timestamptz,
  last_job_id      text,
  last_pull_at     timestamptz,
  last_pull_status text,
  last_pull_error  text,
  last_pull_counts jsonb,
  created_at       timestamptz not null default now()
);
