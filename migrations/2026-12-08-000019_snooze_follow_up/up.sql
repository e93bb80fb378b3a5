-- Snooze and follow-up. A snoozed task is out of the default listings until `snoozed_until`, when
-- a WAKE timer (task_timers) ends the snooze; `follow_up_at` is when to look at the task again
-- (Camunda's follow-up date), a filter and a sort of its own.
ALTER TABLE tasks
    ADD COLUMN snoozed_until timestamptz,
    ADD COLUMN snooze_reason text CHECK (char_length(snooze_reason) <= 1000),
    ADD COLUMN follow_up_at timestamptz;

-- FOLLOW_UP sorts and filters on one instant, no follow-up as +infinity (last ascending), as DUE.
CREATE FUNCTION task_follow_up_key(follow_up_at timestamptz) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN coalesce(follow_up_at, 'infinity'::timestamptz);
CREATE INDEX tasks_follow_up_idx ON tasks (workspace_id, task_follow_up_key(follow_up_at), id);
-- Snoozed tasks are few at any time: a listing of them starts here.
CREATE INDEX tasks_snoozed_idx ON tasks (workspace_id, snoozed_until) WHERE snoozed_until IS NOT NULL;

ALTER TABLE task_timers DROP CONSTRAINT task_timers_action_check;
ALTER TABLE task_timers ADD CONSTRAINT task_timers_action_check
    CHECK (action IN ('REOPEN', 'ESCALATE', 'REASSIGN', 'REMIND', 'WAKE'));

ALTER TABLE task_events DROP CONSTRAINT task_events_kind_check;
ALTER TABLE task_events ADD CONSTRAINT task_events_kind_check CHECK (kind IN (
    'TASK_CREATED', 'TASK_UPDATED', 'TASK_STARTED', 'TASK_SUBMITTED_FOR_REVIEW',
    'TASK_COMPLETED', 'TASK_SKIPPED', 'TASK_CANCELLED', 'TASK_REOPENED', 'TASK_REASSIGNED',
    'TASK_DELETED', 'ASSIGNMENT_CREATED', 'ASSIGNMENT_DELETED', 'ASSIGNMENT_FINISHED',
    'ASSIGNMENT_OPENED', 'TASK_ACTION_SCHEDULED', 'TASK_ACTION_CANCELLED', 'REMINDER_DUE',
    'TASK_SNOOZED', 'TASK_UNSNOOZED'))
    NOT VALID;
ALTER TABLE task_events VALIDATE CONSTRAINT task_events_kind_check;
