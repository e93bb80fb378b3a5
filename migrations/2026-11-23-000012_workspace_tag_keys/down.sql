DROP INDEX tasks_tag_keys_idx;
DROP FUNCTION task_tag_keys(uuid, text[]);
CREATE INDEX tasks_tags_idx ON tasks USING gin (tags);
