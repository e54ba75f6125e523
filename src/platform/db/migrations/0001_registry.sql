-- Registry data model (SR + IBR), close to the DCI Social Registry data model
-- (spdci core/v1 Group, Person, Member, Identifier; ibr/v1 Beneficiary, Programme).
-- Every record carries `version` (its own edit count, for optimistic concurrency) and
-- `change_seq` (a global, ever-increasing position) so that subscribers and exports can ask
-- "what changed after position N" without a separate change log.

create sequence change_seq;

create function touch_record() returns trigger language plpgsql as $$
begin
  new.updated_at := now();
  new.version := old.version + 1;
  new.change_seq := nextval('change_seq');
  return new;
end $$;

create table admin_areas (
  code        text primary key,
  name        text not null,
  level       smallint not null check (level between 1 and 6),
  level_name  text not null,
  parent_code text references admin_areas (code),
  -- GeoJSON Polygon or MultiPolygon (RFC 7946), WGS 84 longitude/latitude.
  boundary    jsonb,
  created_at  timestamptz not null default now(),
  updated_at  timestamptz not null default now(),
  version     integer not null default 1,
  change_seq  bigint not null default nextval('change_seq')
);
create index admin_areas_parent on admin_areas (parent_code);
create trigger admin_areas_touch before update on admin_areas for each row execute function touch_record();

create table households (
  id               uuid primary key,
  household_number text not null unique,
  group_type       text not null default 'household' check (group_type in ('household', 'family', 'community')),
  status           text not null default 'active' check (status in ('active', 'inactive', 'merged', 'archived')),
  admin_area_code  text not null references admin_areas (code),
  latitude         double precision check (latitude between -90 and 90),
  longitude        double precision check (longitude between -180 and 180),
  address_line     text,
  locality         text,
  pmt_score        numeric(6, 2),
  income_band      text check (income_band in ('extreme_poor', 'poor', 'vulnerable', 'non_poor')),
  dwelling_type    text check (dwelling_type in ('permanent', 'semi_permanent', 'temporary', 'informal')),
  water_source     text check (water_source in ('piped', 'well', 'borehole', 'surface', 'vendor')),
  has_electricity  boolean,
  assets           text[] not null default '{}',
  registered_at    timestamptz not null default now(),
  updated_at       timestamptz not null default now(),
  version          integer not null default 1,
  change_seq       bigint not null default nextval('change_seq')
);
create index households_area on households (admin_area_code, id);
create index households_change on households (change_seq);
create trigger households_touch before update on households for each row execute function touch_record();

create table individuals (
  id                    uuid primary key,
  household_id          uuid not null references households (id),
  -- DCI RelationshipTypeEnum codes: SELF (the head), SPS, CHILD, GRPRN, SIB, EXT ...
  relationship_to_head  text not null,
  given_name            text not null,
  middle_name           text,
  family_name           text not null,
  sex                   text not null check (sex in ('male', 'female', 'other', 'unknown')),
  birth_date            date,
  phone                 text,
  marital_status        text check (marital_status in ('single', 'married', 'divorced', 'widowed', 'separated')),
  disability            boolean not null default false,
  disability_type       text,
  is_deceased           boolean not null default false,
  deceased_date         date,
  consent_data_sharing  boolean not null default false,
  consent_contact       boolean not null default false,
  status                text not null default 'active' check (status in ('active', 'inactive', 'moved', 'merged')),
  registered_at         timestamptz not null default now(),
  updated_at            timestamptz not null default now(),
  version               integer not null default 1,
  change_seq            bigint not null default nextval('change_seq'),
  check (is_deceased or deceased_date is null)
);
create index individuals_household on individuals (household_id);
create index individuals_change on individuals (change_seq);
create index individuals_name_birth on individuals (lower(family_name), birth_date);
create trigger individuals_touch before update on individuals for each row execute function touch_record();

-- Identifiers are typed (DCI IdentifierTypeEnum: UIN, BRN, ... plus local types). A value is not
-- unique: the same national ID on two persons is exactly what fraud checks must be able to find.
create table identifiers (
  individual_id uuid not null references individuals (id) on delete cascade,
  id_type       text not null,
  id_value      text not null,
  issued_by     text,
  primary key (individual_id, id_type, id_value)
);
create index identifiers_lookup on identifiers (id_type, id_value);

create table programs (
  id               uuid primary key,
  code             text not null unique,
  name             text not null,
  description      text,
  -- IBR BenefitTypeEnum
  benefit_type     text not null check (benefit_type in ('cash', 'voucher', 'in_kind', 'training', 'work_opportunity', 'insurance')),
  target_unit      text not null check (target_unit in ('household', 'individual')),
  benefit_frequency text check (benefit_frequency in ('one_off', 'monthly', 'bimonthly', 'quarterly', 'yearly')),
  currency         text,
  -- Programs sharing a group are mutually exclusive: nobody may be enrolled in two of them.
  exclusion_groups text[] not null default '{}',
  active           boolean not null default true,
  created_at       timestamptz not null default now(),
  updated_at       timestamptz not null default now(),
  version          integer not null default 1,
  change_seq       bigint not null default nextval('change_seq')
);
create trigger programs_touch before update on programs for each row execute function touch_record();

create table enrollments (
  id                     uuid primary key,
  program_id             uuid not null references programs (id),
  household_id           uuid references households (id),
  individual_id          uuid references individuals (id),
  program_beneficiary_id text,
  status                 text not null check (status in ('enrolled', 'suspended', 'graduated', 'exited')),
  status_reason          text,
  enrolled_at            date not null,
  benefit_amount         numeric(12, 2),
  currency               text,
  payment_method         text check (payment_method in ('bank', 'mobile_money', 'cash', 'voucher')),
  payment_account        text,
  last_payment_at        date,
  created_at             timestamptz not null default now(),
  updated_at             timestamptz not null default now(),
  version                integer not null default 1,
  change_seq             bigint not null default nextval('change_seq'),
  check ((household_id is null) <> (individual_id is null))
);
create index enrollments_individual on enrollments (individual_id) where individual_id is not null;
create index enrollments_household on enrollments (household_id) where household_id is not null;
create index enrollments_program on enrollments (program_id, status);
create index enrollments_change on enrollments (change_seq);
create trigger enrollments_touch before update on enrollments for each row execute function touch_record();

create table enrollment_status_history (
  id            bigint generated always as identity primary key,
  enrollment_id uuid not null references enrollments (id),
  from_status   text,
  to_status     text not null,
  reason        text,
  changed_at    timestamptz not null default now(),
  changed_by    text
);
create index enrollment_status_history_enrollment on enrollment_status_history (enrollment_id, changed_at);

-- Ground truth of the synthetic generator's planted duplicates, so fraud detection can be scored.
create table seed_planted_duplicates (
  original_id  uuid not null references individuals (id),
  duplicate_id uuid not null references individuals (id),
  variation    text not null,
  primary key (duplicate_id)
);

-- One row per completed seed, so a demo start seeds only once and a failed seed is retried.
create table seed_runs (
  id          bigint generated always as identity primary key,
  seed        integer not null,
  households  integer not null,
  individuals integer not null,
  took_ms     integer not null,
  finished_at timestamptz not null default now()
);
