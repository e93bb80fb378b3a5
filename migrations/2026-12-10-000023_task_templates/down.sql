ALTER TABLE task_events DROP CONSTRAINT task_events_kind_check;
DELETE FROM task_events WHERE task_id IS NULL OR kind IN ('TEMPLATE_CREATED',
    'TEMPLATE_UPDATED', 'TEMPLATE_DELETED', 'SCHEDULE_PAUSED', 'SCHEDULE_RESUMED',
    'OCCURRENCE_SKIPPED', 'SERIES_ENDED');
ALTER TABLE task_events ADD CONSTRAINT task_events_kind_check CHECK (kind IN (
    'TASK_CREATED', 'TASK_UPDATED', 'TASK_STARTED', 'TASK_SUBMITTED_FOR_REVIEW',
    'TASK_COMPLETED', 'TASK_SKIPPED', 'TASK_CANCELLED', 'TASK_REOPENED', 'TASK_REASSIGNED',
    'TASK_DELETED', 'ASSIGNMENT_CREATED', 'ASSIGNMENT_DELETED', 'ASSIGNMENT_FINISHED',
    'ASSIGNMENT_OPENED', 'TASK_ACTION_SCHEDULED', 'TASK_ACTION_CANCELLED', 'REMINDER_DUE',
    'TASK_SNOOZED', 'TASK_UNSNOOZED', 'SLA_AT_RISK', 'SLA_BREACHED'));
ALTER TABLE task_events
    DROP CONSTRAINT task_events_subject_check,
    DROP COLUMN template_id,
    ALTER COLUMN task_id SET NOT NULL;
DROP TRIGGER tasks_release_on_delete ON tasks;
DROP TRIGGER tasks_release_on_close ON tasks;
DROP FUNCTION tasks_release_occurrence();
DROP INDEX tasks_template_scheduled_key;
DROP INDEX tasks_template_occurrence_key;
ALTER TABLE tasks
    DROP COLUMN series_next_id,
    DROP COLUMN series_previous_id,
    DROP COLUMN scheduled_for,
    DROP COLUMN occurrence_index,
    DROP COLUMN template_name,
    DROP COLUMN template_id;
DROP TABLE task_template_releases;
DROP TABLE task_templates;
