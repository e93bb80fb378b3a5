DROP TABLE task_event_horizon;
DROP TABLE task_events;
