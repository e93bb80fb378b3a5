-- Time zones. A workspace has an IANA time zone (UTC unless set), and a task due on a date is due
-- at the end of that day in its workspace's zone (the next local midnight), not in UTC: a task due
-- "today" in Tokyo is overdue when Tokyo's day ends. A due time keeps its instant.
--
-- The instant a task is due is stored, as `due_key`, so that sorting and filtering by due stay an
-- index range: a trigger computes it whenever a task is written with a due, from the workspace's
-- zone, and UpdateWorkspaceSettings recomputes the dated tasks of a workspace whose zone changes.
-- PostgreSQL does the calendar arithmetic (its own tz database), DST included: the end of
-- 29 March 2026 in Europe/Berlin is 22:00 UTC, the end of 25 October 23:00 UTC.
ALTER TABLE workspaces ADD COLUMN time_zone text NOT NULL DEFAULT 'UTC'
    CHECK (char_length(time_zone) BETWEEN 1 AND 64);

ALTER TABLE tasks ADD COLUMN due_key timestamptz;

CREATE FUNCTION task_due_instant(due_at timestamptz, due_date date, zone text) RETURNS timestamptz
    LANGUAGE sql STABLE PARALLEL SAFE
    RETURN coalesce(due_at, (due_date + 1)::timestamp AT TIME ZONE zone);

CREATE FUNCTION tasks_set_due_key() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.due_date IS NULL THEN
        NEW.due_key := NEW.due_at;
    ELSE
        NEW.due_key := task_due_instant(NEW.due_at, NEW.due_date,
            (SELECT time_zone FROM workspaces WHERE id = NEW.workspace_id));
    END IF;
    RETURN NEW;
END $$;

-- Only tasks written with a due pay for the trigger.
CREATE TRIGGER tasks_due_key_on_insert BEFORE INSERT ON tasks
    FOR EACH ROW WHEN (NEW.due_at IS NOT NULL OR NEW.due_date IS NOT NULL)
    EXECUTE FUNCTION tasks_set_due_key();
CREATE TRIGGER tasks_due_key_on_update BEFORE UPDATE OF due_at, due_date ON tasks
    FOR EACH ROW EXECUTE FUNCTION tasks_set_due_key();

UPDATE tasks SET due_key = task_due_instant(due_at, due_date, 'UTC')
 WHERE due_at IS NOT NULL OR due_date IS NOT NULL;

-- DUE sorts and filters on the stored instant; no due as +infinity (last in DUE_ASC).
CREATE FUNCTION task_due_sort_key(due_key timestamptz) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN coalesce(due_key, 'infinity'::timestamptz);
DROP INDEX tasks_due_idx;
CREATE INDEX tasks_due_idx ON tasks (workspace_id, task_due_sort_key(due_key), id);

-- Reminders before the due follow the stored instant, whatever moved it (a new due, or a new zone).
CREATE OR REPLACE FUNCTION task_timers_follow_task() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status IN ('COMPLETED', 'SKIPPED', 'CANCELLED')
       AND OLD.status NOT IN ('COMPLETED', 'SKIPPED', 'CANCELLED') THEN
        UPDATE task_timers SET state = 'CANCELLED', settled_at = now(),
                               outcome = 'the task was closed'
         WHERE workspace_id = NEW.workspace_id AND task_id = NEW.id
           AND state = 'PENDING' AND action = 'REMIND';
    END IF;
    IF NEW.due_key IS DISTINCT FROM OLD.due_key THEN
        IF NEW.due_key IS NULL THEN
            UPDATE task_timers SET state = 'CANCELLED', settled_at = now(),
                                   outcome = 'the task is no longer due'
             WHERE workspace_id = NEW.workspace_id AND task_id = NEW.id
               AND state = 'PENDING' AND action = 'REMIND' AND params ? 'before_due';
        ELSE
            UPDATE task_timers
               SET fire_at = NEW.due_key - make_interval(secs => (params->>'before_due')::float8)
             WHERE workspace_id = NEW.workspace_id AND task_id = NEW.id
               AND state = 'PENDING' AND action = 'REMIND' AND params ? 'before_due';
        END IF;
    END IF;
    RETURN NULL;
END $$;
DROP TRIGGER tasks_timers_follow ON tasks;
CREATE TRIGGER tasks_timers_follow AFTER UPDATE ON tasks
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.due_key IS DISTINCT FROM NEW.due_key)
    EXECUTE FUNCTION task_timers_follow_task();
