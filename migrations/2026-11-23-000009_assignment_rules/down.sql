DROP INDEX assignments_user_updated_idx;
ALTER TABLE tasks DROP COLUMN completed_by_policy;
