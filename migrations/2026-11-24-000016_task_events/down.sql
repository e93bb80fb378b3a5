DROP FUNCTION task_audience(uuid, uuid, text[]);
DROP TABLE task_event_horizon;
DROP TABLE task_events;
