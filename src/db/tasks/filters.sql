-- The WHERE clause of the task listings (list.rs): the workspace and every filter of a ListTasks
-- or CountTasks request, ANDed; a block is in only when its filter is. Not prepared: the right
-- plan for a tag rare in the workspace is not the one for a tag on half its tasks.
t.workspace_id = :workspace_id
-- if priorities
  -- By rank, so the PRIORITY sort's index serves the filter too.
  AND task_priority_rank(t.priority) = ANY(:priority_ranks)
-- end
-- if statuses
  AND t.status = ANY(:statuses)
-- end
-- if kinds
  AND t.kind = ANY(:kinds)
-- end
-- An EXISTS ANDed to the rest is planned as a join (the planner may start from the caller's
-- assignments); under an OR it stays a subplan run for each task, so the OR is written only when
-- both halves are asked for.
-- if assignees_only
  AND EXISTS (SELECT 1 FROM assignments a WHERE a.workspace_id = t.workspace_id
    AND a.task_id = t.id AND a.user_id = ANY(:assignee_user_ids))
-- end
-- if unassigned_only
  AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.workspace_id = t.workspace_id
    AND a.task_id = t.id)
-- end
-- if assignees_or_unassigned
  AND (EXISTS (SELECT 1 FROM assignments a WHERE a.workspace_id = t.workspace_id
      AND a.task_id = t.id AND a.user_id = ANY(:assignee_user_ids))
    OR NOT EXISTS (SELECT 1 FROM assignments a WHERE a.workspace_id = t.workspace_id
      AND a.task_id = t.id))
-- end
-- if tags
  -- As keys of the workspace, whose statistics know each tag's frequency in each workspace
  -- (migrations/*_workspace_tag_keys), the workspace bound as a value so that the keys are
  -- known when the statement is planned; and only tagged tasks, which are all the tag index
  -- holds (migrations/*_tagged_tasks_index).
  AND cardinality(t.tags) > 0
  AND task_tag_keys(t.workspace_id, t.tags) && task_tag_keys(:tags_workspace_id, :tags)
-- end
-- if linked_record
  AND EXISTS (SELECT 1 FROM task_linked_records l WHERE l.workspace_id = t.workspace_id
    AND l.task_id = t.id AND l.object = :linked_object AND l.record_id = :linked_record_id)
-- end
-- if sequence_id
  AND t.sequence_id = :sequence_id
-- end
-- if external_id
  AND t.external_id = :external_id
-- end
-- if correlation_id
  AND t.correlation_id = :correlation_id
-- end
-- if due_before
  AND task_due_sort_key(t.due_key) < :due_before
-- end
-- if due_after
  -- No due date is +infinity to the sort, but it is not "due after" anything; bounding the range
  -- there also keeps the index scan off the undated tasks.
  AND task_due_sort_key(t.due_key) >= :due_after
  AND task_due_sort_key(t.due_key) < 'infinity'
-- end
-- if created_before
  AND t.created_at < :created_before
-- end
-- if created_after
  AND t.created_at >= :created_after
-- end
-- if title_only
  AND to_tsvector('simple', t.title) @@ task_title_query(:title_words)
-- end
-- if number_only
  AND t.number = :number
-- end
-- if title_or_number
  AND (to_tsvector('simple', t.title) @@ task_title_query(:title_words) OR t.number = :number)
-- end
-- if follow_up_before
  AND task_follow_up_key(t.follow_up_at) < :follow_up_before
-- end
-- if follow_up_after
  AND task_follow_up_key(t.follow_up_at) >= :follow_up_after
  AND task_follow_up_key(t.follow_up_at) < 'infinity'
-- end
-- if awake
  AND t.snoozed_until IS NULL
-- end
-- if snoozed
  AND t.snoozed_until IS NOT NULL
-- end
-- if sla_due_before
  AND task_sla_due_key(t.sla_next_due_at) < :sla_due_before
-- end
-- if sla_due_after
  AND task_sla_due_key(t.sla_next_due_at) >= :sla_due_after
  AND task_sla_due_key(t.sla_next_due_at) < 'infinity'
-- end
-- if with_sla
  AND t.sla_policy_id IS NOT NULL
-- end
-- if sla_breached
  AND (t.sla_breached_at IS NOT NULL OR task_sla_due_key(t.sla_next_due_at) <= now())
-- end
-- if sla_not_breached
  AND t.sla_policy_id IS NOT NULL AND t.sla_breached_at IS NULL
  AND task_sla_due_key(t.sla_next_due_at) > now()
-- end
-- if recurring
  AND t.occurrence_index IS NOT NULL
-- end
-- if not_recurring
  AND t.occurrence_index IS NULL
-- end
-- if template_ids
  AND t.template_id = ANY(:template_ids)
-- end
