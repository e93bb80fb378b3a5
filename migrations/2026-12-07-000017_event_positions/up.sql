-- Event positions in commit order. Each workspace numbers its events 1, 2, 3, ... with no gap,
-- in the order their transactions commit; the number is the event's position.
--
-- Until now a position was the writing transaction's id (xid8), fixed when the transaction first
-- wrote, not when it committed: a transaction that locked a task, waited, and committed last could
-- still sort first, and readers had to wait for the oldest transaction still running anywhere in
-- the cluster (pg_snapshot_xmin) before moving on, so one long transaction, in any database on the
-- server, held every feed back.
--
-- Now every transaction that records events takes its positions last, from its workspace's row in
-- task_event_heads, by an UPDATE that holds the row until the transaction commits
-- (src/db/events/mod.rs). The next writer of the workspace waits for that commit before it takes
-- its own positions, so positions follow commits; and PostgreSQL makes a commit visible before
-- it releases the transaction's locks, so a reader who sees position n sees every position before
-- it. Readers need no snapshot arithmetic, and nothing outside the workspace holds them back.
-- Rolled-back positions roll back with the head: positions have no gaps.
--
-- The head stays locked only from a transaction's last statement to its commit; statements that
-- write many events write them in one statement (batches of creates, a sequence reassignment),
-- so a busy workspace pays one such wait per statement, not per event.

CREATE TABLE task_event_heads (
    workspace_id uuid PRIMARY KEY REFERENCES workspaces (id) ON DELETE CASCADE,
    -- The last position taken in the workspace (0: none yet).
    position bigint NOT NULL DEFAULT 0 CHECK (position >= 0)
) WITH (fillfactor = 50); -- room on each page for the new versions of its rows (HOT updates)

-- How far housekeeping has purged each workspace's events: every event at or below it may be
-- gone, every event above it is there. Apart from the heads, so that purging never waits for a
-- writer's head, nor a writer for a purge; and, like the events, without a foreign key to the
-- workspace, which the events it tells of may outlive.
CREATE TABLE task_event_horizons (
    workspace_id uuid PRIMARY KEY,
    position bigint NOT NULL CHECK (position > 0)
);

-- Every workspace has its head from the start, so no writer can forget it.
CREATE FUNCTION create_task_event_head() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO task_event_heads (workspace_id) VALUES (NEW.id);
    RETURN NEW;
END $$;

CREATE TRIGGER workspaces_create_task_event_head AFTER INSERT ON workspaces
    FOR EACH ROW EXECUTE FUNCTION create_task_event_head();

-- The events kept so far, numbered per workspace in the order of their old positions (which is
-- the order they were delivered in). Positions handed out before this migration mean nothing
-- now: the server answers them as expired (WATCH_POSITION_EXPIRED), and clients list again.
ALTER TABLE task_events ADD COLUMN position bigint;
UPDATE task_events e SET position = n.position
    FROM (SELECT txid, seq,
                 row_number() OVER (PARTITION BY workspace_id ORDER BY txid, seq) AS position
            FROM task_events) n
   WHERE e.txid = n.txid AND e.seq = n.seq;
INSERT INTO task_event_heads (workspace_id, position)
    SELECT w.id, coalesce((SELECT max(e.position) FROM task_events e WHERE e.workspace_id = w.id), 0)
      FROM workspaces w;

ALTER TABLE task_events
    DROP CONSTRAINT task_events_pkey,
    DROP COLUMN txid,
    DROP COLUMN seq,
    ALTER COLUMN position SET NOT NULL,
    ADD CONSTRAINT task_events_position_check CHECK (position > 0),
    -- One workspace's events in order: what watchers read, and what makes a position unique.
    -- (The old index of a workspace's events went with the transaction id.)
    ADD PRIMARY KEY (workspace_id, position);
DROP TABLE task_event_horizon;

-- Housekeeping purges by age across workspaces. Events are appended in nearly the order of
-- their times, which a BRIN index summarises in a few pages and costs writes almost nothing.
CREATE INDEX task_events_at_idx ON task_events USING brin (at);
