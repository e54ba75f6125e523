-- The data flow monitor (issue 9): requests per client and operation (the route's audit action),
-- per minute: counts, errors, rate-limit refusals, records returned, and a latency histogram (counts
-- per bound of TRAFFIC_BOUNDS_MS in src/monitor/traffic.ts, the last bucket open-ended). Kept 8 days.
create table traffic_minutes (
  minute          timestamptz not null,
  client_id       uuid not null,
  action          text not null,
  requests        integer not null,
  errors          integer not null,
  rate_limited    integer not null,
  records         bigint not null,
  latency_buckets integer[] not null,
  primary key (minute, client_id, action)
);
create index traffic_minutes_minute on traffic_minutes (minute);
