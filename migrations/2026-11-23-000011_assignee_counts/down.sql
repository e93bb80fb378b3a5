DROP INDEX assignments_user_idx;
CREATE INDEX assignments_user_idx ON assignments (workspace_id, user_id, created_at, id);
