DROP TRIGGER assignments_lower_limit ON assignments;
DROP FUNCTION assignments_keep_one();
DROP FUNCTION lock_task_for_change(uuid, uuid, text);
