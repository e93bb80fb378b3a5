DROP STATISTICS tasks_tag_keys_stats;
DROP INDEX tasks_tag_keys_idx;
CREATE INDEX tasks_tag_keys_idx ON tasks USING gin (task_tag_keys(workspace_id, tags));
ALTER INDEX tasks_tag_keys_idx ALTER COLUMN 1 SET STATISTICS 10000;
ANALYZE tasks;
