-- What AssignmentService needs beyond the assignments table.

-- Whether the task's completion policy (ANY/ALL) completed it, as opposed to a CompleteTask call:
-- only a policy completion is undone when a recipient reopens their assignment.
ALTER TABLE tasks ADD COLUMN completed_by_policy boolean NOT NULL DEFAULT false;

-- ListMyAssignments sorted by UPDATED_AT (CREATED_AT has assignments_user_idx).
CREATE INDEX assignments_user_updated_idx ON assignments (workspace_id, user_id, updated_at, id);
