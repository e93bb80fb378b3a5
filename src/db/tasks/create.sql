-- CreateTask's one statement, for as many calls as a batch gathered (create.rs): the tasks with
-- their numbers, their assignments and linked records, and their TASK_CREATED events. Arrays are
-- bound as (SELECT :x) so that the planner cannot see their lengths: seen, they make every custom
-- plan look cheaper than the generic one, and PostgreSQL would plan the statement afresh on every
-- call instead of settling on its generic plan.
WITH input AS (
  SELECT * FROM unnest(
    (SELECT :workspace_ids), (SELECT :ids), (SELECT :titles), (SELECT :body_formats),
    (SELECT :bodies_plain), (SELECT :bodies_html), (SELECT :bodies_delta), (SELECT :kinds),
    (SELECT :priorities), (SELECT :due_dates), (SELECT :due_ats), (SELECT :tags),
    (SELECT :external_ids), (SELECT :correlation_ids), (SELECT :sequence_ids),
    (SELECT :completion_policies), (SELECT :distributed), (SELECT :created_by_types),
    (SELECT :created_by_ids), (SELECT :request_ids), (SELECT :audiences), (SELECT :nths),
    (SELECT :follow_up_ats), (SELECT :source_occurred_ats), (SELECT :template_ids),
    (SELECT :template_names), (SELECT :occurrence_indexes), (SELECT :scheduled_fors),
    (SELECT :series_previous_ids), (SELECT :event_actor_types), (SELECT :event_actor_ids)
  ) WITH ORDINALITY AS i (workspace_id, id, title, body_format, body_plain, body_html,
    body_delta, kind, priority, due_date, due_at, tags, external_id, correlation_id,
    sequence_id, completion_policy, distributed, created_by_type, created_by_id, request_id,
    audience, nth, follow_up_at, source_occurred_at, template_id, template_name,
    occurrence_index, scheduled_for, series_previous_id, event_actor_type, event_actor_id, ord)
),
task AS (
  INSERT INTO tasks (workspace_id, id, number, title, body_format, body_plain, body_html,
    body_delta, kind, priority, due_date, due_at, tags, external_id, correlation_id,
    sequence_id, completion_policy, distributed, created_by_type, created_by_id, follow_up_at,
    source_occurred_at, template_id, template_name, occurrence_index, scheduled_for,
    series_previous_id, sla_policy_id)
  SELECT workspace_id, id, next_task_number(workspace_id), title, body_format, body_plain,
    body_html, body_delta, kind, priority, due_date, due_at,
    string_to_array(tags, :tag_separator), external_id, correlation_id, sequence_id,
    completion_policy, distributed, created_by_type, created_by_id, follow_up_at,
    source_occurred_at, template_id, template_name, occurrence_index, scheduled_for,
    series_previous_id,
    -- The workspace's first current SLA policy that matches the task (the slas migration's
    -- trigger starts its clocks).
    (SELECT p.id FROM sla_policies p
     WHERE p.workspace_id = input.workspace_id AND p.retired_at IS NULL
       AND (p.kinds = '{}' OR input.kind = ANY (p.kinds))
       AND (p.priorities = '{}' OR input.priority = ANY (p.priorities))
     ORDER BY p.position LIMIT 1)
  FROM input ORDER BY ord
  RETURNING *
),
-- if assigned
assigned AS (
  INSERT INTO assignments (workspace_id, id, task_id, user_id, via_channel_id, progress_status)
  SELECT task.workspace_id, r.id, task.id, r.user_id, r.via_channel_id, r.progress
  FROM unnest((SELECT :assigned_task_ids), (SELECT :assignment_ids), (SELECT :user_ids),
    (SELECT :via_channel_ids), (SELECT :progress))
    AS r (task_id, id, user_id, via_channel_id, progress)
  JOIN task ON task.id = r.task_id
),
-- end
-- if linked
linked AS (
  INSERT INTO task_linked_records (workspace_id, task_id, object, record_id)
  SELECT task.workspace_id, task.id, l.object, l.record_id
  FROM unnest((SELECT :linked_task_ids), (SELECT :objects), (SELECT :record_ids))
    AS l (task_id, object, record_id)
  JOIN task ON task.id = l.task_id
),
-- end
-- The events' positions come last (events/mod.rs), once the tasks are in: each workspace's
-- head moves by the number of its tasks in the batch.
counted AS (
  SELECT * FROM unnest((SELECT :head_workspace_ids), (SELECT :head_counts)) AS c (workspace_id, n)
  WHERE (SELECT count(*) FROM task) > 0
),
-- A batch of several workspaces takes their heads in one order, so that two batches cannot wait
-- for each other: a transaction advisory lock per workspace, in the order of their keys (cheaper
-- than FOR UPDATE on the rows, which writes each lock to the WAL: measured at a tenth of
-- CreateTask's pace). A batch of one workspace holds one head and needs no order.
-- if several
ordered AS (
  SELECT count(pg_advisory_xact_lock(hashtextextended(w.key, 0))) AS n
  FROM (SELECT 'docket head ' || workspace_id AS key FROM counted ORDER BY 1) w
),
-- end
head AS (
  UPDATE task_event_heads h SET position = h.position + c.n
  FROM counted c
  WHERE h.workspace_id = c.workspace_id
-- if several
    AND (SELECT n FROM ordered) >= 0
-- end
  RETURNING h.workspace_id, h.position - c.n AS base
),
-- A task made by a template's schedule is created by actor SYSTEM (event_actor_*), and its
-- event names the template and the occurrence.
created AS (
  INSERT INTO task_events (workspace_id, position, task_id, template_id, kind, actor_type,
    actor_id, request_id, audience, details)
  SELECT task.workspace_id, head.base + input.nth, task.id, task.template_id, :task_created,
    coalesce(input.event_actor_type, task.created_by_type),
    coalesce(input.event_actor_id, task.created_by_id), input.request_id,
    string_to_array(input.audience, ' '),
    CASE WHEN task.template_id IS NULL THEN '{}'::jsonb
         ELSE jsonb_strip_nulls(jsonb_build_object('template_id', task.template_id,
           'template_name', task.template_name, 'occurrence_index', task.occurrence_index,
           'scheduled_for', task.scheduled_for, 'previous_task_id', task.series_previous_id))
    END
  FROM task JOIN input ON input.id = task.id
  LEFT JOIN head ON head.workspace_id = task.workspace_id
)
SELECT * FROM task
