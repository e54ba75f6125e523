-- Consent records (issue "A newcomer's first hour", item 3; docs/consent.md). Migration 0007 kept one
-- row per person and purpose; a consent given again after a withdrawal would have overwritten the
-- history. Now each row is one consent: given (when, through which channel, recorded by whom, with a
-- reference to the evidence) and, once withdrawn, closed the same way. Rows are never deleted, and a
-- person has at most one consent in force per purpose.
alter table consents drop constraint consents_pkey;
alter table consents add column id uuid not null default gen_random_uuid();
alter table consents add primary key (id);
-- The free-text source nothing wrote is where the evidence is: a submission, a paper form number.
alter table consents rename column source to evidence_ref;
-- Rows written without a channel (SQL loads, and those of 0007) count as imported.
alter table consents
  add column channel text not null default 'import'
    check (channel in ('odk', 'paper', 'in_person', 'phone', 'self_service', 'import')),
  add column recorded_by text,
  add column withdrawal_channel text
    check (withdrawal_channel in ('odk', 'paper', 'in_person', 'phone', 'self_service', 'import')),
  add column withdrawal_evidence_ref text,
  add column withdrawal_recorded_by text;

-- One consent in force per person and purpose; it also serves the DCI consent filter (dci/consent.ts)
-- and the purpose scans of a search, as consents_purpose did.
drop index consents_purpose;
create unique index consents_in_force on consents (purpose, individual_id) where withdrawn_at is null;
-- A person's consents, the history included (GET /api/v1/individuals/{id}/consents).
create index consents_person on consents (individual_id, granted_at);

-- Kept as evidence of what was allowed when: a record changes only when it is withdrawn, once.
create function consents_are_kept() returns trigger language plpgsql as $$
begin
  if tg_op = 'DELETE' then
    raise exception 'consent records are kept: withdraw a consent instead of deleting it';
  end if;
  if old.withdrawn_at is not null
     or (new.id, new.individual_id, new.purpose, new.granted_at, new.channel, new.evidence_ref, new.recorded_by)
        is distinct from
        (old.id, old.individual_id, old.purpose, old.granted_at, old.channel, old.evidence_ref, old.recorded_by) then
    raise exception 'a consent record changes only when it is withdrawn, once';
  end if;
  return new;
end $$;
create trigger consents_kept before update or delete on consents
  for each row execute function consents_are_kept();
