DROP TABLE task_create_requests;
