DROP INDEX tasks_title_search_idx, tasks_tags_idx, tasks_correlation_idx, tasks_kind_idx,
    tasks_status_idx, tasks_author_idx, tasks_priority_idx, tasks_due_idx, tasks_updated_idx,
    tasks_created_idx;
DROP FUNCTION task_title_query(text);
DROP FUNCTION task_priority_rank(text);
DROP FUNCTION task_due_key(timestamptz, date);
