-- The templates with something for the schedule worker to do (db/templates): an active
-- schedule whose next occurrence is due to be made, or a release of an occurrence closed in
-- after-completion mode; soonest first. Only read: the worker claims each with SKIP LOCKED.
(SELECT workspace_id, id FROM task_templates
  WHERE state = 'ACTIVE' AND wake_at <= now()
  ORDER BY wake_at LIMIT $1)
UNION
(SELECT r.workspace_id, r.template_id FROM task_template_releases r
   JOIN task_templates t ON t.workspace_id = r.workspace_id AND t.id = r.template_id
  WHERE r.handled_at IS NULL AND t.state = 'ACTIVE'
  ORDER BY r.released_at LIMIT $1)
