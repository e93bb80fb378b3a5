DROP TRIGGER tasks_timers_follow ON tasks;
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
    IF (NEW.due_at, NEW.due_date) IS DISTINCT FROM (OLD.due_at, OLD.due_date) THEN
        IF NEW.due_at IS NULL AND NEW.due_date IS NULL THEN
            UPDATE task_timers SET state = 'CANCELLED', settled_at = now(),
                                   outcome = 'the task is no longer due'
             WHERE workspace_id = NEW.workspace_id AND task_id = NEW.id
               AND state = 'PENDING' AND action = 'REMIND' AND params ? 'before_due';
        ELSE
            UPDATE task_timers
               SET fire_at = task_due_key(NEW.due_at, NEW.due_date)
                             - make_interval(secs => (params->>'before_due')::float8)
             WHERE workspace_id = NEW.workspace_id AND task_id = NEW.id
               AND state = 'PENDING' AND action = 'REMIND' AND params ? 'before_due';
        END IF;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER tasks_timers_follow AFTER UPDATE OF status, due_at, due_date ON tasks
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.due_at IS DISTINCT FROM NEW.due_at
          OR OLD.due_date IS DISTINCT FROM NEW.due_date)
    EXECUTE FUNCTION task_timers_follow_task();
DROP INDEX tasks_due_idx;
CREATE INDEX tasks_due_idx ON tasks (workspace_id, task_due_key(due_at, due_date), id);
DROP FUNCTION task_due_sort_key(timestamptz);
DROP TRIGGER tasks_due_key_on_update ON tasks;
DROP TRIGGER tasks_due_key_on_insert ON tasks;
DROP FUNCTION tasks_set_due_key();
DROP FUNCTION task_due_instant(timestamptz, date, text);
ALTER TABLE tasks DROP COLUMN due_key;
ALTER TABLE workspaces DROP COLUMN time_zone;
