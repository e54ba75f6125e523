-- Scheduled exports (issue 6): a definition with a schedule states the purpose and legal basis of its
-- runs; each run due is recorded once (whichever gateway gets there first enqueues its job).
alter table export_definitions add column schedule_purpose text;
alter table export_definitions add column schedule_legal_basis text;
alter table export_definitions add constraint export_definitions_schedule_stated
  check (schedule is null or (schedule_purpose is not null and schedule_legal_basis is not null));

create table export_schedule_runs (
  name        text not null,
  due_at      timestamptz not null,
  version     integer not null,
  job_id      uuid,
  created_at  timestamptz not null default now(),
  primary key (name, due_at)
);
