-- A notification of a subscription with a cron frequency waits until the time the expression names.
alter table dci_deliveries add column not_before timestamptz;
