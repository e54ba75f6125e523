-- Indexes for area and name searches (REST filters and DCI queries), chosen with EXPLAIN ANALYZE on
-- 200k households / 600k individuals: an area prefix search ('R01' or 'R01-%') was a full scan, and a
-- given-name search filtered through the primary key.
create index households_area_code_pattern on households (admin_area_code text_pattern_ops);
create index individuals_given_name on individuals (lower(given_name));
