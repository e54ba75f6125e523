-- Identity verification (issue 7, IBR-035): each verification of a person against the national ID
-- system, with its method, outcome, time and how long it took. Only the outcome is kept, never the
-- data sent.
create table identity_verifications (
  id            uuid primary key,
  individual_id uuid not null references individuals (id),
  method        text not null,
  adapter       text not null,
  outcome       text not null check (outcome in ('match', 'no_match', 'error')),
  detail        text,
  attempts      integer not null,
  duration_ms   integer not null,
  requested_by  uuid,
  verified_at   timestamptz not null default now()
);
create index identity_verifications_individual on identity_verifications (individual_id, verified_at desc);
