-- Timers: what Docket does to a task by itself, at a time. A timer is a row; every server's timer
-- worker (src/timers.rs) takes the due ones with FOR UPDATE SKIP LOCKED, performs each action,
-- settles the timer and appends the events in one transaction, so an action happens once
-- whichever servers run, crash or restart (src/db/timers.rs says how a batch is taken).
--
-- A timer belongs to its task: deleting the task deletes its timers. Settled timers (fired,
-- skipped, cancelled, failed) stay for ListScheduledTaskActions until housekeeping purges them
-- with the events of the same age.
CREATE TABLE task_timers (
    workspace_id uuid NOT NULL,
    id uuid NOT NULL,
    task_id uuid NOT NULL,
    -- What it does: reopen the task, escalate its priority, reassign it, or remind people of it.
    action text NOT NULL CHECK (action IN ('REOPEN', 'ESCALATE', 'REASSIGN', 'REMIND')),
    -- The action's arguments ({"reason"}, {"priority"}, {"assignee"}, {"assignees", "author",
    -- "user_ids", "note"}), as the domain wrote them.
    params jsonb NOT NULL DEFAULT '{}',
    -- When it is due, by the database clock.
    fire_at timestamptz NOT NULL,
    -- PENDING until it is settled: FIRED (the action was done), SKIPPED (its condition no longer
    -- held when it came due, e.g. a reopen of a task reopened by hand since), CANCELLED, or FAILED
    -- (the action kept failing; `outcome` says why).
    state text NOT NULL DEFAULT 'PENDING'
        CHECK (state IN ('PENDING', 'FIRED', 'SKIPPED', 'CANCELLED', 'FAILED')),
    -- Why it was skipped or failed.
    outcome text CHECK (char_length(outcome) <= 1000),
    -- Times the worker tried it and failed (each failure moves fire_at back).
    attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    created_by_type text NOT NULL CHECK (created_by_type IN ('USER', 'API_TOKEN', 'SYSTEM')),
    created_by_id text NOT NULL CHECK (char_length(created_by_id) BETWEEN 1 AND 200),
    -- The caller's idempotency key: a retry with the same key finds this timer.
    request_id text CHECK (char_length(request_id) BETWEEN 1 AND 200),
    request_hash bytea,
    created_at timestamptz NOT NULL DEFAULT now(),
    -- When it was settled; NULL while it is pending.
    settled_at timestamptz,
    PRIMARY KEY (workspace_id, id),
    FOREIGN KEY (workspace_id, task_id) REFERENCES tasks (workspace_id, id) ON DELETE CASCADE,
    CONSTRAINT task_timers_settled_check CHECK ((state = 'PENDING') = (settled_at IS NULL))
);

-- The due timers, oldest first: what a tick reads. Partial, so settled timers cost it nothing and
-- a million pending ones cost an index probe, not a scan.
CREATE INDEX task_timers_due_idx ON task_timers (fire_at) WHERE state = 'PENDING';
-- One workspace's due timers: what a batch takes when a backlog is shared out across workspaces.
CREATE INDEX task_timers_workspace_due_idx ON task_timers (workspace_id, fire_at)
    WHERE state = 'PENDING';
-- A task's timers (ListScheduledTaskActions, cancelling a task's reminders, the foreign key's
-- cascade).
CREATE INDEX task_timers_task_idx ON task_timers (workspace_id, task_id);
-- One timer per caller and request id.
CREATE UNIQUE INDEX task_timers_request_key
    ON task_timers (workspace_id, created_by_type, created_by_id, request_id)
    WHERE request_id IS NOT NULL;
-- Housekeeping purges settled timers by age.
CREATE INDEX task_timers_settled_idx ON task_timers USING brin (settled_at);

-- New event kinds: an action scheduled or cancelled, and a reminder coming due. NOT VALID first,
-- then VALIDATE, so that the check of the events already kept does not hold writers back.
ALTER TABLE task_events DROP CONSTRAINT task_events_kind_check;
ALTER TABLE task_events ADD CONSTRAINT task_events_kind_check CHECK (kind IN (
    'TASK_CREATED', 'TASK_UPDATED', 'TASK_STARTED', 'TASK_SUBMITTED_FOR_REVIEW',
    'TASK_COMPLETED', 'TASK_SKIPPED', 'TASK_CANCELLED', 'TASK_REOPENED', 'TASK_REASSIGNED',
    'TASK_DELETED', 'ASSIGNMENT_CREATED', 'ASSIGNMENT_DELETED', 'ASSIGNMENT_FINISHED',
    'ASSIGNMENT_OPENED', 'TASK_ACTION_SCHEDULED', 'TASK_ACTION_CANCELLED', 'REMINDER_DUE'))
    NOT VALID;
ALTER TABLE task_events VALIDATE CONSTRAINT task_events_kind_check;
