-- What keeps AssignmentService's invariants true whatever the calls and their concurrency.

-- Every change to a task's assignments locks the task's row first, so changes to one task happen
-- one after another. The wait for that lock is bounded; a wait that runs out (another transaction
-- holds the task) or a deadlock means "a concurrent change won, retry". PostgreSQL reports those as
-- lock_not_available (55P03) and deadlock_detected (40P01), which the driver folds into "unknown"
-- together with every real fault, so they could not be told apart from one. This function raises
-- them again as serialization_failure (40001), the SQLSTATE of a lost race that the driver does
-- name. The lock_timeout applies to this lock only: it is restored once the row is locked.
CREATE FUNCTION lock_task_for_change(p_workspace_id uuid, p_task_id uuid, p_wait text)
    RETURNS SETOF tasks
    LANGUAGE plpgsql AS $$
DECLARE
    previous text := current_setting('lock_timeout');
BEGIN
    PERFORM set_config('lock_timeout', p_wait, true);
    RETURN QUERY SELECT * FROM tasks WHERE workspace_id = p_workspace_id AND id = p_task_id FOR UPDATE;
    PERFORM set_config('lock_timeout', previous, true);
EXCEPTION WHEN lock_not_available OR deadlock_detected THEN
    RAISE EXCEPTION 'another change to task % did not finish within %', p_task_id, p_wait
        USING ERRCODE = 'serialization_failure';
END $$;

-- A task that has assignments keeps at least one (the Flip seed's lower limit), as a property of
-- the committed state rather than of any one call: checked when the transaction commits, after
-- every delete it made, so no sequence of deletes can empty a task. A task deleted with its
-- assignments is gone by then and not checked.
CREATE FUNCTION assignments_keep_one() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM tasks WHERE workspace_id = OLD.workspace_id AND id = OLD.task_id)
       AND NOT EXISTS (SELECT 1 FROM assignments
                        WHERE workspace_id = OLD.workspace_id AND task_id = OLD.task_id) THEN
        RAISE EXCEPTION 'task % would be left without assignments', OLD.task_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'assignments_lower_limit';
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER assignments_lower_limit AFTER DELETE ON assignments
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION assignments_keep_one();
