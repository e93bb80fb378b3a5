-- Reminders: REMIND timers that a task's `reminders` made ({"reminder": true} in their params),
-- some set relative to the task's due ({"before_due": seconds}). Two rules keep them in step
-- with their task, as triggers so that every statement that changes a due or closes a task keeps
-- them (UpdateTask, the lifecycle moves, the completion policies), within that statement: before
-- it takes its workspace's event log head, as every writer must (src/events/log.rs).
--
-- - A task closed (COMPLETED, SKIPPED, CANCELLED) has its pending reminders cancelled (REMIND
--   timers, set as reminders or scheduled by ScheduleTaskAction): nobody is reminded of a closed
--   task. Reopening it does not bring them back.
-- - A task whose due changes has its pending relative reminders moved with it, or cancelled if
--   it has no due any more.
CREATE FUNCTION task_timers_follow_task() RETURNS trigger
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
