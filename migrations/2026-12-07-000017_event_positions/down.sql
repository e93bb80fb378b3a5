-- Back to transaction-id positions. The events kept get this transaction's id, numbered in
-- their per-workspace order; positions handed out since the up migration mean nothing after it.
DROP INDEX task_events_at_idx;
ALTER TABLE task_events
    DROP CONSTRAINT task_events_pkey,
    DROP CONSTRAINT task_events_position_check,
    ADD COLUMN txid xid8 NOT NULL DEFAULT pg_current_xact_id(),
    ADD COLUMN seq bigint;
UPDATE task_events e SET seq = n.seq
    FROM (SELECT workspace_id, position,
                 row_number() OVER (ORDER BY workspace_id, position) AS seq
            FROM task_events) n
   WHERE e.workspace_id = n.workspace_id AND e.position = n.position;
ALTER TABLE task_events
    DROP COLUMN position,
    ALTER COLUMN seq SET NOT NULL,
    ALTER COLUMN seq ADD GENERATED ALWAYS AS IDENTITY (CACHE 1000),
    ADD PRIMARY KEY (txid, seq);
SELECT setval(pg_get_serial_sequence('task_events', 'seq'), coalesce(max(seq), 0) + 1, false)
    FROM task_events;
CREATE INDEX task_events_workspace_idx ON task_events (workspace_id, txid, seq);

CREATE TABLE task_event_horizon (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    txid xid8 NOT NULL DEFAULT '0',
    seq bigint NOT NULL DEFAULT 0
);
INSERT INTO task_event_horizon DEFAULT VALUES;

DROP TRIGGER workspaces_create_task_event_head ON workspaces;
DROP FUNCTION create_task_event_head();
DROP TABLE task_event_horizons;
DROP TABLE task_event_heads;
