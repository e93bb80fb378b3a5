-- What ListTasks and CountTasks need: sort keys as immutable functions (so an index can hold them
-- and a query names them the same way), and an index behind every sort and every selective filter.
-- Each sort index is (workspace_id, key, id): a keyset page is a range scan of it in either
-- direction, with no sort of the workspace's tasks.

-- DUE sorts and filters on one instant: a due time as is, a due date as the end of that day in UTC
-- (the next day's midnight: "by the end of the day"), no due date as +infinity (last in DUE_ASC).
CREATE FUNCTION task_due_key(due_at timestamptz, due_date date) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN coalesce(due_at, (due_date + 1)::timestamp AT TIME ZONE 'UTC', 'infinity'::timestamptz);

-- PRIORITY sorts by urgency: ascending is LOW first, descending URGENT first.
CREATE FUNCTION task_priority_rank(priority text) RETURNS smallint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE priority WHEN 'LOW' THEN 1 WHEN 'NORMAL' THEN 2 WHEN 'HIGH' THEN 3 WHEN 'URGENT' THEN 4 END;

-- `query` matches titles word by word, each word as a prefix ("acm" finds "Acme"), case-insensitive,
-- with the same parser as the title's index so punctuation and e.g. host names split alike.
CREATE FUNCTION task_title_query(query text) RETURNS tsquery
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN (SELECT to_tsquery('simple', string_agg(quote_literal(lexeme) || ':*', ' & '))
            FROM unnest(to_tsvector('simple', query)));

CREATE INDEX tasks_created_idx ON tasks (workspace_id, created_at, id);
CREATE INDEX tasks_updated_idx ON tasks (workspace_id, updated_at, id);
CREATE INDEX tasks_due_idx ON tasks (workspace_id, task_due_key(due_at, due_date), id);
CREATE INDEX tasks_priority_idx ON tasks (workspace_id, task_priority_rank(priority), id);
-- NUMBER: the unique (workspace_id, number) index; numbers are unique, so they alone are the key.

CREATE INDEX tasks_author_idx ON tasks (workspace_id, created_by_type, created_by_id, created_at, id);
CREATE INDEX tasks_status_idx ON tasks (workspace_id, status);
CREATE INDEX tasks_kind_idx ON tasks (workspace_id, kind);
CREATE INDEX tasks_correlation_idx ON tasks (workspace_id, correlation_id)
    WHERE correlation_id IS NOT NULL;
CREATE INDEX tasks_tags_idx ON tasks USING gin (tags);
CREATE INDEX tasks_title_search_idx ON tasks USING gin (to_tsvector('simple', title));
