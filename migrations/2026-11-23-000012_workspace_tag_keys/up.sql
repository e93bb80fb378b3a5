-- The tag filter, served within the caller's workspace at the right plan whatever the tag.
--
-- The tags GIN index (on tags) spanned all workspaces, and so did its statistics: a tag rare in
-- this workspace but common in another looked common, so the planner walked the whole workspace
-- in sort order filtering for it (measured: 1,000,000 tasks, 100 with the tag here, 400-600 ms for
-- a first page). This index holds each task's tags as keys of its workspace ("<workspace>:<tag>"),
-- so its statistics (ANALYZE keeps the most common keys of index expressions) tell how common a
-- tag is in each workspace: rare here, the planner reads the index (about 1 ms); common here, it
-- walks the sort order (also about 1 ms). The separator cannot occur in a tag: tags take no control
-- characters.
CREATE FUNCTION task_tag_keys(workspace_id uuid, tags text[]) RETURNS text[]
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN CASE WHEN cardinality(tags) = 0 THEN '{}'::text[]
                ELSE string_to_array(workspace_id::text || ':'
                                     || array_to_string(tags, E'\x1f' || workspace_id::text || ':'),
                                     E'\x1f') END;

DROP INDEX tasks_tags_idx;
CREATE INDEX tasks_tag_keys_idx ON tasks USING gin (task_tag_keys(workspace_id, tags));

-- The new index's statistics, now rather than at autovacuum's next analyze of the table.
ANALYZE tasks;
