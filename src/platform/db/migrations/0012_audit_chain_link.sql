-- Each audit entry links to the one before it; no two entries may link to the same one, so the chain
-- cannot fork even when writers append without a lock (AuditWriter appends after the head it knows,
-- and reads the head again when this index refuses its insert).
create unique index audit_log_prev_hash on audit_log (prev_hash);
