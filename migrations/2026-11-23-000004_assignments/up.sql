-- One row per (task, recipient user). A channel recipient fans out to one row per active member,
-- remembering the channel in via_channel_id.
CREATE TABLE assignments (
    workspace_id uuid NOT NULL,
    id uuid NOT NULL,
    task_id uuid NOT NULL,
    user_id uuid NOT NULL,
    progress_status text NOT NULL DEFAULT 'NEW' CHECK (progress_status IN ('NEW', 'OPEN', 'FINISHED')),
    via_channel_id uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    PRIMARY KEY (workspace_id, id),
    -- A recipient is assigned to a task at most once, whatever the race.
    CONSTRAINT assignments_task_user_key UNIQUE (workspace_id, task_id, user_id),
    CONSTRAINT assignments_finished_at_matches CHECK ((progress_status = 'FINISHED') = (finished_at IS NOT NULL)),
    FOREIGN KEY (workspace_id, task_id) REFERENCES tasks (workspace_id, id) ON DELETE CASCADE,
    FOREIGN KEY (workspace_id, user_id) REFERENCES users (workspace_id, id),
    FOREIGN KEY (workspace_id, via_channel_id) REFERENCES channels (workspace_id, id)
        ON DELETE SET NULL (via_channel_id)
);

-- The recipient's view (ListMyAssignments, GetMyAssignmentsSummary).
CREATE INDEX assignments_user_idx ON assignments (workspace_id, user_id, created_at, id);
