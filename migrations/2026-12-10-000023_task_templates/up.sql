-- Task templates and recurring tasks (issue 25). A template holds what CreateTask takes (a task's
-- fields, with its due and reminders relative to when a task is made from it) and, if it
-- recurs, a schedule: an RRULE in an IANA zone from a first local date-time. The server expands
-- the rule (domain::recurrence, with the rrule crate); the database makes each occurrence once:
--
--   * tasks made from a template carry its id and, for an occurrence, its index in the series and
--     its scheduled time, each unique per template (two unique indexes below): whatever the
--     servers do, no occurrence is made twice;
--   * the schedule worker locks the template row (FOR NO KEY UPDATE SKIP LOCKED) and, in one transaction,
--     makes the occurrences that are due and moves `next_at` past them: none is made twice and
--     none is passed over without an event saying so;
--   * in after-completion mode, closing (or deleting) the series' latest task inserts a release
--     keyed by its occurrence, so a task reopened and closed again releases nothing new.

CREATE TABLE task_templates (
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id uuid NOT NULL,
    name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    -- What each task made from it is made of (the checks are the server's, as for tasks).
    title text NOT NULL,
    body_format text NOT NULL CHECK (body_format IN ('PLAIN', 'HTML', 'DELTA')),
    body_plain text NOT NULL,
    body_html text NOT NULL,
    body_delta text NOT NULL,
    kind text NOT NULL,
    priority text NOT NULL CHECK (priority IN ('URGENT', 'HIGH', 'NORMAL', 'LOW')),
    tags text[] NOT NULL DEFAULT '{}',
    link_objects text[] NOT NULL DEFAULT '{}',
    link_record_ids text[] NOT NULL DEFAULT '{}',
    correlation_id text,
    -- NULL: by the recipients, as CreateTask's default.
    completion_policy text CHECK (completion_policy IN ('MANUAL', 'ANY', 'ALL')),
    recipient_user_ids uuid[] NOT NULL DEFAULT '{}',
    recipient_channel_ids uuid[] NOT NULL DEFAULT '{}',
    -- A task made from it is due this long after its scheduled time (or its making); NULL: no due.
    due_after_secs bigint CHECK (due_after_secs BETWEEN 0 AND 31622400),
    -- Reminders before the due, as REMIND timers' params.
    reminders jsonb NOT NULL DEFAULT '[]',
    created_by_type text NOT NULL CHECK (created_by_type IN ('USER', 'API_TOKEN')),
    created_by_id text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    version bigint NOT NULL DEFAULT 1,

    -- The schedule; all NULL for a template that does not recur.
    rrule text,
    time_zone text,
    starts_local timestamp,
    skipped_dates date[] NOT NULL DEFAULT '{}',
    mode text CHECK (mode IN ('FIXED', 'AFTER_COMPLETION')),
    catch_up text CHECK (catch_up IN ('ALL', 'LATEST', 'NONE')),
    -- Occurrences are made this long before their scheduled time.
    lead_secs bigint NOT NULL DEFAULT 0 CHECK (lead_secs BETWEEN 0 AND 31622400),
    -- Due at this local time on the occurrence's date (instead of due_after_secs).
    due_time time,
    state text CHECK (state IN ('ACTIVE', 'PAUSED', 'ENDED')),
    state_reason text,
    -- The scheduled time of the next occurrence not yet made (NULL: none yet known, or ended).
    next_at timestamptz,
    -- When the worker next has something to do: next_at less the lead, or at once after a
    -- release; NULL while nothing is pending.
    wake_at timestamptz,
    -- The series' latest task made by the schedule, and its index: the count made so far (the
    -- next one made is last_index + 1).
    last_task_id uuid,
    last_index integer NOT NULL DEFAULT 0 CHECK (last_index >= 0),
    last_scheduled_for timestamptz,
    PRIMARY KEY (workspace_id, id),
    CHECK ((rrule IS NULL) = (state IS NULL)),
    CHECK (rrule IS NULL OR (time_zone IS NOT NULL AND starts_local IS NOT NULL
                             AND mode IS NOT NULL AND catch_up IS NOT NULL))
);

-- What the worker looks for: templates with something to do, soonest first.
CREATE INDEX task_templates_wake_idx ON task_templates (wake_at) WHERE state = 'ACTIVE';

-- After completion: the closing of occurrence n of a template releases occurrence n + 1, once.
CREATE TABLE task_template_releases (
    workspace_id uuid NOT NULL,
    template_id uuid NOT NULL,
    occurrence_index integer NOT NULL,
    released_at timestamptz NOT NULL DEFAULT now(),
    -- When the worker took it up (made the next occurrence, or found it moot).
    handled_at timestamptz,
    PRIMARY KEY (workspace_id, template_id, occurrence_index),
    -- The worker locks templates FOR NO KEY UPDATE, which this key's check (FOR KEY SHARE) does
    -- not wait for: closing a task never waits for the worker.
    FOREIGN KEY (workspace_id, template_id) REFERENCES task_templates ON DELETE CASCADE
);
CREATE INDEX task_template_releases_pending_idx ON task_template_releases (released_at)
    WHERE handled_at IS NULL;

ALTER TABLE tasks
    ADD COLUMN template_id uuid,
    ADD COLUMN template_name text,
    ADD COLUMN occurrence_index integer CHECK (occurrence_index >= 1),
    ADD COLUMN scheduled_for timestamptz,
    ADD COLUMN series_previous_id uuid,
    ADD COLUMN series_next_id uuid,
    ADD CHECK ((template_id IS NULL) = (template_name IS NULL)),
    ADD CHECK ((occurrence_index IS NULL) = (scheduled_for IS NULL)),
    ADD CHECK (occurrence_index IS NULL OR template_id IS NOT NULL);

-- Each occurrence once, by its index and by its scheduled time; and the tasks of a template
-- (the template_ids filter).
CREATE UNIQUE INDEX tasks_template_occurrence_key ON tasks (workspace_id, template_id, occurrence_index)
    WHERE template_id IS NOT NULL;
CREATE UNIQUE INDEX tasks_template_scheduled_key ON tasks (workspace_id, template_id, scheduled_for)
    WHERE scheduled_for IS NOT NULL;

-- The series' latest occurrence closed (or deleted): its release. The worker makes the next one
-- only for a release of the template's latest occurrence, and the key makes a second closing
-- of the same occurrence release nothing.
CREATE FUNCTION tasks_release_occurrence() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    closed tasks := CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
BEGIN
    INSERT INTO task_template_releases (workspace_id, template_id, occurrence_index)
    SELECT t.workspace_id, t.id, closed.occurrence_index
      FROM task_templates t
     WHERE t.workspace_id = closed.workspace_id AND t.id = closed.template_id
       AND t.mode = 'AFTER_COMPLETION' AND t.last_index = closed.occurrence_index
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
CREATE TRIGGER tasks_release_on_close AFTER UPDATE OF status ON tasks
    FOR EACH ROW
    WHEN (NEW.occurrence_index IS NOT NULL
          AND NEW.status IN ('COMPLETED', 'SKIPPED', 'CANCELLED')
          AND OLD.status NOT IN ('COMPLETED', 'SKIPPED', 'CANCELLED'))
    EXECUTE FUNCTION tasks_release_occurrence();
CREATE TRIGGER tasks_release_on_delete AFTER DELETE ON tasks
    FOR EACH ROW
    WHEN (OLD.occurrence_index IS NOT NULL
          AND OLD.status NOT IN ('COMPLETED', 'SKIPPED', 'CANCELLED'))
    EXECUTE FUNCTION tasks_release_occurrence();

-- Template events: the log tells of templates as well as tasks. An event is of a task, or of a
-- template (its control: created, updated, paused, resumed, an occurrence skipped, the series
-- ended, deleted); a task made from a template names it too.
ALTER TABLE task_events
    ALTER COLUMN task_id DROP NOT NULL,
    ADD COLUMN template_id uuid,
    ADD CONSTRAINT task_events_subject_check CHECK (task_id IS NOT NULL OR template_id IS NOT NULL);
ALTER TABLE task_events DROP CONSTRAINT task_events_kind_check;
ALTER TABLE task_events ADD CONSTRAINT task_events_kind_check CHECK (kind IN (
    'TASK_CREATED', 'TASK_UPDATED', 'TASK_STARTED', 'TASK_SUBMITTED_FOR_REVIEW',
    'TASK_COMPLETED', 'TASK_SKIPPED', 'TASK_CANCELLED', 'TASK_REOPENED', 'TASK_REASSIGNED',
    'TASK_DELETED', 'ASSIGNMENT_CREATED', 'ASSIGNMENT_DELETED', 'ASSIGNMENT_FINISHED',
    'ASSIGNMENT_OPENED', 'TASK_ACTION_SCHEDULED', 'TASK_ACTION_CANCELLED', 'REMINDER_DUE',
    'TASK_SNOOZED', 'TASK_UNSNOOZED', 'SLA_AT_RISK', 'SLA_BREACHED',
    'TEMPLATE_CREATED', 'TEMPLATE_UPDATED', 'TEMPLATE_DELETED', 'SCHEDULE_PAUSED',
    'SCHEDULE_RESUMED', 'OCCURRENCE_SKIPPED', 'SERIES_ENDED'))
    NOT VALID;
ALTER TABLE task_events VALIDATE CONSTRAINT task_events_kind_check;
