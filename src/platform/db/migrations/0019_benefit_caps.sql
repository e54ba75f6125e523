-- Benefit coordination (issue 7): the most a household may receive per month across all programs,
-- per currency. Enrolments and resumptions that would pass it are refused.
create table benefit_caps (
  currency     text primary key,
  monthly_cap  numeric(12, 2) not null check (monthly_cap > 0),
  updated_at   timestamptz not null default now()
);
