DROP TABLE task_linked_records;
DROP TABLE tasks;
