-- Export definitions belong to someone (defects issue, item 11): any holder of exports:manage could
-- add a version to, or archive, any definition. A definition (every version of a name) now has an
-- owner, the client that created it; changing another's needs exports:admin. A version that weakens
-- privacy against the one in use records how, and when the definition delivers to a recipient on
-- a schedule it waits for another holder of exports:admin to approve it (docs/exports.md).

-- The owner of the name, the same on each of its versions.
alter table export_definitions add column owner_id uuid;
-- Existing definitions: owned by the client that saved their first version. A name whose first
-- version has no saver (saved before savers were recorded) stays without owner: only holders of
-- exports:admin may change it.
update export_definitions d set owner_id = (
  select f.created_by from export_definitions f
  where f.name = d.name
  order by f.version
  limit 1
);

-- How this version weakens privacy against the version in use when it was saved (none: it does not).
alter table export_definitions add column privacy_weakened text[] not null default '{}';

-- not_needed: in use once saved; pending: waits for approval (the version before stays in use);
-- approved, rejected: decided by decided_by, at decided_at, for decision_reason.
alter table export_definitions add column approval text not null default 'not_needed'
  check (approval in ('not_needed', 'pending', 'approved', 'rejected'));
alter table export_definitions add column decided_by uuid;
alter table export_definitions add column decided_at timestamptz;
alter table export_definitions add column decision_reason text;

-- One version of a name at most waits for approval at a time.
create unique index export_definitions_one_pending on export_definitions (name) where approval = 'pending';
