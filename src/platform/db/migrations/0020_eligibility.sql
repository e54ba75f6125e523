-- Real-time eligibility checks (issue 7, IBR-036): a program's eligibility criteria, each a named
-- condition in the DCI expression language over households or persons:
-- [{ "name": ..., "description": ..., "applies_to": "household" | "person", "expression": {...} }].
alter table programs add column eligibility_criteria jsonb not null default '[]';
