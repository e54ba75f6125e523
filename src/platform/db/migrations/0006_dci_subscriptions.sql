-- DCI subscriptions (DCI issue: /registry/subscribe, /registry/unsubscribe, /registry/notify): who
-- subscribed to which registry events, the transactional outbox of registry events, and one
-- notification delivery per (subscription, event).

alter table dci_exchanges drop constraint dci_exchanges_operation_check;
alter table dci_exchanges add constraint dci_exchanges_operation_check check (operation in
  ('search', 'txn-status', 'enrolled', 'enrollment-updates', 'subscribe', 'unsubscribe'));

-- One row per accepted subscribe_request item. The filter is kept as sent (it may hold identifier
-- values) and compiled again by the query compiler whenever events are matched.
create table dci_subscriptions (
  id                 uuid primary key,
  -- SubscriptionInfo.code: what the client unsubscribes with.
  code               text not null unique,
  client_id          uuid not null references api_clients (id),
  -- The key that subscribed: notifications stop when it is revoked or expires (as async answers).
  key_id             uuid not null references api_keys (id),
  registry           text not null check (registry in ('social', 'ibr')),
  -- The subscribe message and the item of it that created the subscription.
  exchange_id        uuid not null references dci_exchanges (id),
  reference_id       text not null,
  status             text not null check (status in ('active', 'unsubscribed')),
  reg_type           text not null,
  -- As notifications spell it (REGISTER, UPDATE, DEATH, NewHouseHoldMember; enrollement ...).
  reg_event_type     text not null,
  notify_record_type text not null,
  -- The records notified (Group, Member, Person, Beneficiary) and the entity the filter is about.
  record_shape       text not null check (record_shape in ('Group', 'Member', 'Person', 'Beneficiary')),
  entity             text not null check (entity in ('person', 'group', 'beneficiary')),
  -- The registry events it is notified of (dci_registry_events.entity and .kind).
  event_entity       text not null check (event_entity in ('individual', 'household', 'enrollment')),
  event_kind         text not null,
  filter_type        text not null,
  filter             jsonb not null,
  -- The subscription's criteria in one text: the same criteria twice are `rjct.event.already_subscribed`.
  fingerprint        text not null,
  -- The purpose stated (authorize.purpose.code), for clients receiving only consented records.
  purpose            text,
  -- SubscriptionInfo.frequency: events outside [starts_at, ends_at] are not notified.
  starts_at          timestamptz,
  ends_at            timestamptz,
  frequency          jsonb,
  locale             text,
  sender_id          text not null,
  -- <client callback URI>/registry/notify when subscribed; checked again at every delivery.
  notify_uri         text not null,
  -- Only events after this position are notified (those of changes made after the subscription).
  after_event_id     bigint not null,
  created_at         timestamptz not null default now(),
  updated_at         timestamptz not null default now(),
  ended_at           timestamptz,
  -- The unsubscribe message that ended it.
  end_exchange_id    uuid references dci_exchanges (id),
  unique (exchange_id, reference_id)
);
create unique index dci_subscriptions_criteria on dci_subscriptions (client_id, fingerprint) where status = 'active';
create index dci_subscriptions_active on dci_subscriptions (event_entity, event_kind) where status = 'active';
create index dci_subscriptions_client on dci_subscriptions (client_id, created_at);

-- The transactional outbox: registry changes, written by the triggers below in the transaction of
-- the change itself, so that a change and its event commit (or roll back) together. Ids only.
create table dci_registry_events (
  id            bigint generated always as identity primary key,
  entity        text not null check (entity in ('individual', 'household', 'enrollment')),
  kind          text not null check (kind in
    ('register', 'update', 'death', 'new_member', 'enrolment', 'status_change', 'deregister')),
  individual_id uuid,
  household_id  uuid,
  enrollment_id uuid,
  occurred_at   timestamptz not null default now(),
  -- Set once matched against the subscriptions; events matching none are deleted then.
  dispatched_at timestamptz
);
create index dci_registry_events_pending on dci_registry_events (id) where dispatched_at is null;

-- Notifications are deliveries too: one per (subscription, event), unique, so that a retried or a
-- second dispatcher cannot create it twice. Their exchange is the subscribe message.
alter table dci_deliveries drop constraint dci_deliveries_exchange_id_action_key;
alter table dci_deliveries drop constraint dci_deliveries_status_check;
-- cancelled: dropped unsent (the subscription ended, the record or the client's access is gone).
alter table dci_deliveries add constraint dci_deliveries_status_check
  check (status in ('pending', 'retrying', 'delivered', 'refused', 'dead', 'cancelled'));
alter table dci_deliveries add column subscription_id uuid references dci_subscriptions (id);
alter table dci_deliveries add column event_id bigint references dci_registry_events (id);
-- The job delivering it, once queued (a delivery without one is queued by the next dispatch).
alter table dci_deliveries add column job_id uuid;
create unique index dci_deliveries_callback on dci_deliveries (exchange_id, action) where event_id is null;
create unique index dci_deliveries_notification on dci_deliveries (event_id, subscription_id);
create index dci_deliveries_unqueued on dci_deliveries (created_at) where job_id is null and event_id is not null;
create index dci_deliveries_subscription on dci_deliveries (subscription_id, status);

-- Whether anybody is subscribed to changes of this entity. The triggers write events only then:
-- bulk loads (the 1M-person seed) into a registry without subscribers write no outbox rows.
create function dci_subscribed(of_entity text) returns boolean language sql stable
  set search_path from current as $$
  select exists (select 1 from dci_subscriptions where status = 'active' and event_entity = of_entity
                   and (ends_at is null or ends_at > now()))
$$;

-- Statement-level triggers with transition tables: one insert per statement, however many rows.
-- `set search_path from current` binds the tables of this schema, whatever the writer's search path.
create function dci_individual_events() returns trigger language plpgsql
  set search_path from current as $$
begin
  if not dci_subscribed('individual') then
    return null;
  end if;
  if tg_op = 'INSERT' then
    insert into dci_registry_events (entity, kind, individual_id, household_id)
    select 'individual', 'register', n.id, n.household_id from new_rows n
    union all
    -- A new member of a household that already had members (NewHouseHoldMember).
    select 'individual', 'new_member', n.id, n.household_id from new_rows n
     where exists (select 1 from individuals m where m.household_id = n.household_id
                     and m.id not in (select id from new_rows));
  else
    -- A death is the update that marks the person deceased; any other update is an update.
    insert into dci_registry_events (entity, kind, individual_id, household_id)
    select 'individual', case when n.is_deceased and not o.is_deceased then 'death' else 'update' end,
           n.id, n.household_id
      from new_rows n join old_rows o on o.id = n.id;
  end if;
  return null;
end $$;

create function dci_household_events() returns trigger language plpgsql
  set search_path from current as $$
begin
  if dci_subscribed('household') then
    insert into dci_registry_events (entity, kind, household_id)
    select 'household', case when tg_op = 'INSERT' then 'register' else 'update' end, n.id from new_rows n;
  end if;
  return null;
end $$;

-- IBR: an enrolment, a change of its status; leaving the programme (graduated, exited) is a
-- deregistration. Other enrolment updates (amounts, payments) are not events.
create function dci_enrollment_events() returns trigger language plpgsql
  set search_path from current as $$
begin
  if not dci_subscribed('enrollment') then
    return null;
  end if;
  if tg_op = 'INSERT' then
    insert into dci_registry_events (entity, kind, enrollment_id, individual_id, household_id)
    select 'enrollment', 'enrolment', n.id, n.individual_id, n.household_id from new_rows n;
  else
    insert into dci_registry_events (entity, kind, enrollment_id, individual_id, household_id)
    select 'enrollment',
           case when n.status in ('graduated', 'exited') then 'deregister' else 'status_change' end,
           n.id, n.individual_id, n.household_id
      from new_rows n join old_rows o on o.id = n.id
     where n.status is distinct from o.status;
  end if;
  return null;
end $$;

create trigger individuals_dci_insert after insert on individuals
  referencing new table as new_rows for each statement execute function dci_individual_events();
create trigger individuals_dci_update after update on individuals
  referencing old table as old_rows new table as new_rows for each statement execute function dci_individual_events();
create trigger households_dci_insert after insert on households
  referencing new table as new_rows for each statement execute function dci_household_events();
create trigger households_dci_update after update on households
  referencing new table as new_rows for each statement execute function dci_household_events();
create trigger enrollments_dci_insert after insert on enrollments
  referencing new table as new_rows for each statement execute function dci_enrollment_events();
create trigger enrollments_dci_update after update on enrollments
  referencing old table as old_rows new table as new_rows for each statement execute function dci_enrollment_events();
