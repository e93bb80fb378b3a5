DROP TABLE task_events;
