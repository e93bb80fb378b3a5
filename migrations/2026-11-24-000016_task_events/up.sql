-- The event log: one row per change to a task or an assignment, appended in the transaction of
-- the change, so that it is there exactly when the change is. Events outlive what they tell of
-- until housekeeping purges them: no foreign key to tasks (a deletion is an event too), nor to
-- workspaces (Docket deletes none, and the check cost creates a tenth of their pace, measured
-- with docket-bench).
--
-- Events are ordered by (txid, seq): the transaction's id and the row's place in it. Readers take
-- only events of transactions older than every transaction still running (src/db/events.rs), so
-- an event that commits late can never be skipped by one that committed early.
CREATE TABLE task_events (
    workspace_id uuid NOT NULL,
    txid xid8 NOT NULL DEFAULT pg_current_xact_id(),
    -- Orders the events of one transaction. Each connection draws from a cache of its own: its
    -- numbers still grow, which is all one transaction needs, and writers do not queue on the
    -- sequence.
    seq bigint GENERATED ALWAYS AS IDENTITY (CACHE 1000),
    task_id uuid NOT NULL,
    assignment_id uuid,
    kind text NOT NULL CHECK (kind IN (
        'TASK_CREATED', 'TASK_UPDATED', 'TASK_STARTED', 'TASK_SUBMITTED_FOR_REVIEW',
        'TASK_COMPLETED', 'TASK_SKIPPED', 'TASK_CANCELLED', 'TASK_REOPENED', 'TASK_REASSIGNED',
        'TASK_DELETED', 'ASSIGNMENT_CREATED', 'ASSIGNMENT_DELETED', 'ASSIGNMENT_FINISHED',
        'ASSIGNMENT_OPENED')),
    actor_type text NOT NULL CHECK (actor_type IN ('USER', 'API_TOKEN', 'SYSTEM')),
    actor_id text NOT NULL CHECK (char_length(actor_id) BETWEEN 1 AND 200),
    request_id text CHECK (char_length(request_id) BETWEEN 1 AND 200),
    at timestamptz NOT NULL DEFAULT now(),
    -- What changed, by kind: fields with old and new values, a reason, an outcome.
    details jsonb NOT NULL DEFAULT '{}',
    -- Who takes part in the task as the change leaves it and who it just left, as actor keys
    -- ('USER:<id>', 'API_TOKEN:<service>'): what a watcher of its own tasks is matched against.
    audience text[] NOT NULL DEFAULT '{}',
    -- Events in commit order, across workspaces: what each server's watch hub reads.
    PRIMARY KEY (txid, seq)
);

-- One workspace's events in order (a watcher catching up), and one task's (its history, sorted
-- when read: the narrow key costs writes less than one in order, measured by .ci/index-costs).
-- Retention purges from the head of the primary key, oldest first, so `at` needs no index.
CREATE INDEX task_events_workspace_idx ON task_events (workspace_id, txid, seq);
CREATE INDEX task_events_task_idx ON task_events (task_id);

-- How far housekeeping has purged: the position of the last event it deleted. A reader whose
-- position is below it may have missed events that are gone, and is told to start again.
CREATE TABLE task_event_horizon (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    txid xid8 NOT NULL DEFAULT '0',
    seq bigint NOT NULL DEFAULT 0
);
INSERT INTO task_event_horizon DEFAULT VALUES;
