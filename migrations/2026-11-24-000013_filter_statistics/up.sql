-- Finer statistics for the two GIN indexes that serve filters. With the default target (100),
-- ANALYZE samples 30,000 tasks, and a tag on 100 of a workspace's 1,000,000 tasks is usually
-- missing from the index's most common elements; the planner then guesses it on about 0.1% of
-- the workspace, walks the workspace in creation order looking for 50 of them, and reads all of
-- it (1.5 s on the benchmark's 2,200,000 tasks). A target of 1,000 still missed it there. At
-- 10,000, ANALYZE samples up to 3,000,000 tasks (24 s here, in the background once autovacuum
-- runs it), such keys keep their true rarity, and the filter is read from the index (1 ms).
-- Title words cost more to sample (each sampled title is parsed again): 1,000 there.
ALTER INDEX tasks_tag_keys_idx ALTER COLUMN 1 SET STATISTICS 10000;
ALTER INDEX tasks_title_search_idx ALTER COLUMN 1 SET STATISTICS 1000;
ANALYZE tasks;
