ALTER TABLE task_events DROP CONSTRAINT task_events_kind_check;
DELETE FROM task_events WHERE kind IN ('SLA_AT_RISK', 'SLA_BREACHED');
ALTER TABLE task_events ADD CONSTRAINT task_events_kind_check CHECK (kind IN (
    'TASK_CREATED', 'TASK_UPDATED', 'TASK_STARTED', 'TASK_SUBMITTED_FOR_REVIEW',
    'TASK_COMPLETED', 'TASK_SKIPPED', 'TASK_CANCELLED', 'TASK_REOPENED', 'TASK_REASSIGNED',
    'TASK_DELETED', 'ASSIGNMENT_CREATED', 'ASSIGNMENT_DELETED', 'ASSIGNMENT_FINISHED',
    'ASSIGNMENT_OPENED', 'TASK_ACTION_SCHEDULED', 'TASK_ACTION_CANCELLED', 'REMINDER_DUE',
    'TASK_SNOOZED', 'TASK_UNSNOOZED'));
DROP TRIGGER tasks_sla_timers_on_update ON tasks;
DROP TRIGGER tasks_sla_timers_on_insert ON tasks;
DROP FUNCTION tasks_schedule_sla();
DROP FUNCTION sla_schedule(tasks, text, timestamptz, timestamptz);
DELETE FROM task_timers WHERE action = 'SLA';
ALTER TABLE task_timers DROP CONSTRAINT task_timers_action_check;
ALTER TABLE task_timers ADD CONSTRAINT task_timers_action_check
    CHECK (action IN ('REOPEN', 'ESCALATE', 'REASSIGN', 'REMIND', 'WAKE'));
DROP TRIGGER tasks_sla_on_status ON tasks;
DROP FUNCTION tasks_move_sla();
DROP TRIGGER tasks_sla_on_insert ON tasks;
DROP FUNCTION tasks_start_sla();
DROP FUNCTION sla_between(timestamptz, timestamptz, text, smallint[], time, time);
DROP FUNCTION sla_add(timestamptz, double precision, text, smallint[], time, time);
ALTER TABLE tasks
    DROP COLUMN sla_next_due_at,
    DROP COLUMN sla_policy_id,
    DROP COLUMN sla_policy,
    DROP COLUMN sla_started_at,
    DROP COLUMN sla_response_due_at,
    DROP COLUMN sla_response_met_at,
    DROP COLUMN sla_response_left,
    DROP COLUMN sla_resolution_due_at,
    DROP COLUMN sla_resolution_met_at,
    DROP COLUMN sla_resolution_left,
    DROP COLUMN sla_paused_since,
    DROP COLUMN sla_breached_at,
    DROP COLUMN source_occurred_at;
DROP TABLE sla_policies;
DROP FUNCTION task_sla_due_key(timestamptz);
