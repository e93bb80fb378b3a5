-- The workspaces that have due timers, in workspace order after $1, at most $2 of them: a loose
-- index scan over task_timers_workspace_due_idx, two index probes per workspace with pending
-- timers (the next such workspace, then whether one of its timers is due), never a read of the
-- timers themselves. A tick runs it only when a backlog is to be shared out (mod.rs).
WITH RECURSIVE pending (workspace_id) AS (
    (SELECT workspace_id FROM task_timers
      WHERE state = 'PENDING' AND workspace_id > $1
      ORDER BY workspace_id LIMIT 1)
    UNION ALL
    SELECT (SELECT t.workspace_id FROM task_timers t
             WHERE t.state = 'PENDING' AND t.workspace_id > pending.workspace_id
             ORDER BY t.workspace_id LIMIT 1)
      FROM pending
     WHERE pending.workspace_id IS NOT NULL
)
SELECT workspace_id FROM pending
 WHERE workspace_id IS NOT NULL
   AND EXISTS (SELECT FROM task_timers t
                WHERE t.workspace_id = pending.workspace_id AND t.state = 'PENDING'
                  AND t.fire_at <= now())
 LIMIT $2
