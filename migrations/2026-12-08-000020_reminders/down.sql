DROP TRIGGER tasks_timers_follow ON tasks;
DROP FUNCTION task_timers_follow_task();
