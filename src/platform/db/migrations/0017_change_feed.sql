-- The export change feed (issue 6, scope 3c): which transaction last wrote each household and person.
-- A sequence number cannot order changes for a reader that must not miss any: a transaction can take
-- a number, then commit after a later number was read. A feed position is therefore a transaction
-- snapshot (pg_current_snapshot()), and the changes after it are the rows whose writing transaction
-- it did not see (pg_visible_in_snapshot), as PgQ batches events.
alter table households add column change_xid xid8 not null default pg_current_xact_id();
alter table individuals add column change_xid xid8 not null default pg_current_xact_id();
create index households_change_xid on households (change_xid);
create index individuals_change_xid on individuals (change_xid);

create function touch_change_xid() returns trigger language plpgsql as $$
begin
  new.change_xid := pg_current_xact_id();
  return new;
end $$;
create trigger households_change_xid before update on households for each row execute function touch_change_xid();
create trigger individuals_change_xid before update on individuals for each row execute function touch_change_xid();
