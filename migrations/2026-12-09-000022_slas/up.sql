-- SLAs (PlanD's "reaction times"). A workspace's SLA policies say, by task kind and priority,
-- within how long a task must first be responded to (leave NEW and OPEN: be started, submitted or
-- closed) and resolved (be closed), counted from when the thing it reacts to happened
-- (`source_occurred_at`, PlanD's complaintCreatedAt) or from its creation, around the clock or in
-- business hours of the workspace's time zone, with statuses that pause the clocks.
--
-- Triggers keep a task's clocks, so that every path that writes a task (CreateTask, moves,
-- assignment progress under a completion policy, reopens by timers) keeps them alike: the policy
-- is matched when the task is created; each status change may meet, pause, resume or (a reopen)
-- restart a clock. A clock's at-risk and breach moments are SLA timers, fired by the timer worker
-- (src/domain/timers/fire.rs), which records SLA_AT_RISK and SLA_BREACHED events.
--
-- Business-time arithmetic is PL/pgSQL rather than Rust: the triggers need it, and PostgreSQL's
-- own tz database does the calendar (DST included) as it does for dates due (the time_zones
-- migration). It walks the calendar a day at a time, bounded.
ALTER TABLE tasks ADD COLUMN source_occurred_at timestamptz;

CREATE TABLE sla_policies (
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id bigint GENERATED ALWAYS AS IDENTITY,
    -- Order among the workspace's current policies: the first that matches a task applies.
    position integer NOT NULL CHECK (position >= 0),
    name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    -- Task kinds and priorities it applies to; empty: any.
    kinds text[] NOT NULL DEFAULT '{}',
    priorities text[] NOT NULL DEFAULT '{}'
        CHECK (priorities <@ ARRAY['URGENT', 'HIGH', 'NORMAL', 'LOW']),
    first_response_secs bigint CHECK (first_response_secs > 0),
    resolution_secs bigint CHECK (resolution_secs > 0),
    -- How long before a clock's due the task is at risk (an SLA_AT_RISK event); none: no event.
    at_risk_secs bigint CHECK (at_risk_secs > 0),
    counted_from text NOT NULL CHECK (counted_from IN ('SOURCE_OCCURRED_AT', 'CREATED_AT')),
    -- Business hours: ISO days of the week (1 Monday .. 7 Sunday) and a daily window in the
    -- workspace's time zone; no days: around the clock.
    business_days smallint[],
    business_opens time,
    business_closes time,
    pause_statuses text[] NOT NULL DEFAULT '{}'
        CHECK (pause_statuses <@ ARRAY['OPEN', 'IN_PROGRESS', 'IN_REVIEW']),
    created_at timestamptz NOT NULL DEFAULT now(),
    -- Replaced by a later UpdateWorkspaceSettings: it applies to no new task, and stays for the
    -- tasks whose clocks it keeps.
    retired_at timestamptz,
    PRIMARY KEY (workspace_id, id),
    CHECK (first_response_secs IS NOT NULL OR resolution_secs IS NOT NULL),
    CHECK ((business_days IS NULL) = (business_opens IS NULL)
           AND (business_days IS NULL) = (business_closes IS NULL)),
    CHECK (business_days IS NULL OR (cardinality(business_days) BETWEEN 1 AND 7
           AND business_days <@ ARRAY[1, 2, 3, 4, 5, 6, 7]::smallint[]
           AND business_opens < business_closes))
);
CREATE UNIQUE INDEX sla_policies_current_key ON sla_policies (workspace_id, position)
    WHERE retired_at IS NULL;

ALTER TABLE tasks
    ADD COLUMN sla_policy_id bigint,
    -- The name of the policy that matched, as it was then.
    ADD COLUMN sla_policy text,
    -- When its clocks started counting.
    ADD COLUMN sla_started_at timestamptz,
    -- Each clock: its due (NULL while paused), when it was met, and while paused the business
    -- time it has left.
    ADD COLUMN sla_response_due_at timestamptz,
    ADD COLUMN sla_response_met_at timestamptz,
    ADD COLUMN sla_response_left interval,
    ADD COLUMN sla_resolution_due_at timestamptz,
    ADD COLUMN sla_resolution_met_at timestamptz,
    ADD COLUMN sla_resolution_left interval,
    ADD COLUMN sla_paused_since timestamptz,
    -- The first due a clock passed unmet: set when its breach timer fires, or when it is met late.
    ADD COLUMN sla_breached_at timestamptz,
    -- The next due of a running clock not met yet: what SLA_DUE sorts and filters on.
    ADD COLUMN sla_next_due_at timestamptz GENERATED ALWAYS AS (least(
        CASE WHEN sla_response_met_at IS NULL THEN sla_response_due_at END,
        CASE WHEN sla_resolution_met_at IS NULL THEN sla_resolution_due_at END)) STORED,
    ADD FOREIGN KEY (workspace_id, sla_policy_id) REFERENCES sla_policies (workspace_id, id);

-- SLA_DUE sorts and filters: no running clock as +infinity (last in SLA_DUE_ASC), as DUE does.
CREATE FUNCTION task_sla_due_key(next_due timestamptz) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN coalesce(next_due, 'infinity'::timestamptz);
CREATE INDEX tasks_sla_due_idx ON tasks (workspace_id, task_sla_due_key(sla_next_due_at), id);
-- A policy's tasks: the foreign key's checks, and housekeeping's purge of retired policies no task
-- follows any more.
CREATE INDEX tasks_sla_policy_idx ON tasks (workspace_id, sla_policy_id)
    WHERE sla_policy_id IS NOT NULL;
CREATE INDEX tasks_sla_breached_idx ON tasks (workspace_id, sla_breached_at)
    WHERE sla_breached_at IS NOT NULL;

-- `secs` of business time after `start`: in the windows [day + opens, day + closes) of the
-- `days` (ISO) in `zone`, or around the clock when `days` is NULL.
CREATE FUNCTION sla_add(start timestamptz, secs double precision, zone text, days smallint[],
                        opens time, closes time) RETURNS timestamptz
    LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    left_secs double precision := secs;
    day date := (start AT TIME ZONE zone)::date;
    window_start timestamptz;
    window_end timestamptz;
BEGIN
    IF days IS NULL THEN
        RETURN start + make_interval(secs => secs);
    END IF;
    FOR i IN 0 .. 3660 LOOP
        IF extract(isodow FROM day)::smallint = ANY (days) THEN
            window_start := greatest(start, (day + opens) AT TIME ZONE zone);
            window_end := (day + closes) AT TIME ZONE zone;
            IF window_start < window_end THEN
                IF extract(epoch FROM window_end - window_start) >= left_secs THEN
                    RETURN window_start + make_interval(secs => left_secs);
                END IF;
                left_secs := left_secs - extract(epoch FROM window_end - window_start);
            END IF;
        END IF;
        day := day + 1;
    END LOOP;
    RAISE EXCEPTION 'business time of % seconds runs past ten years', secs;
END $$;

-- The business time, in seconds, from `from_at` to `to_at` (0 if `to_at` is not later).
CREATE FUNCTION sla_between(from_at timestamptz, to_at timestamptz, zone text, days smallint[],
                            opens time, closes time) RETURNS double precision
    LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    total double precision := 0;
    day date := (from_at AT TIME ZONE zone)::date;
    window_start timestamptz;
    window_end timestamptz;
BEGIN
    IF to_at <= from_at THEN
        RETURN 0;
    END IF;
    IF days IS NULL THEN
        RETURN extract(epoch FROM to_at - from_at);
    END IF;
    WHILE (day + opens) AT TIME ZONE zone < to_at LOOP
        IF extract(isodow FROM day)::smallint = ANY (days) THEN
            window_start := greatest(from_at, (day + opens) AT TIME ZONE zone);
            window_end := least(to_at, (day + closes) AT TIME ZONE zone);
            IF window_start < window_end THEN
                total := total + extract(epoch FROM window_end - window_start);
            END IF;
        END IF;
        day := day + 1;
    END LOOP;
    RETURN total;
END $$;

-- A new task takes the first current policy of its workspace that matches its kind and priority:
-- CreateTask's statement (src/db/tasks/create.sql) names it in `sla_policy_id`, so that a task no
-- policy matches costs an index probe and no trigger; this trigger then starts its clocks.
CREATE FUNCTION tasks_start_sla() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    policy sla_policies;
    zone text;
BEGIN
    SELECT * INTO STRICT policy FROM sla_policies
     WHERE workspace_id = NEW.workspace_id AND id = NEW.sla_policy_id;
    SELECT time_zone INTO zone FROM workspaces WHERE id = NEW.workspace_id;
    NEW.sla_policy_id := policy.id;
    NEW.sla_policy := policy.name;
    NEW.sla_started_at := CASE policy.counted_from
        WHEN 'SOURCE_OCCURRED_AT' THEN coalesce(NEW.source_occurred_at, NEW.created_at)
        ELSE NEW.created_at END;
    IF policy.first_response_secs IS NOT NULL THEN
        NEW.sla_response_due_at := sla_add(NEW.sla_started_at, policy.first_response_secs, zone,
            policy.business_days, policy.business_opens, policy.business_closes);
    END IF;
    IF policy.resolution_secs IS NOT NULL THEN
        NEW.sla_resolution_due_at := sla_add(NEW.sla_started_at, policy.resolution_secs, zone,
            policy.business_days, policy.business_opens, policy.business_closes);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER tasks_sla_on_insert BEFORE INSERT ON tasks
    FOR EACH ROW WHEN (NEW.sla_policy_id IS NOT NULL) EXECUTE FUNCTION tasks_start_sla();

-- A status change meets, pauses, resumes or restarts the task's clocks. A clock is met by the
-- first change that meets it (late: the breach is recorded); a pause keeps the business time each
-- running clock has left (one already past its due stays breached and is not paused); leaving the
-- paused statuses sets new dues from what was left; a reopen runs the resolution clock again
-- toward its due.
CREATE FUNCTION tasks_move_sla() RETURNS trigger
    LANGUAGE plpgsql AS $$
DECLARE
    policy sla_policies;
    zone text;
    terminal constant text[] := ARRAY['COMPLETED', 'SKIPPED', 'CANCELLED'];
    pausing boolean;
BEGIN
    SELECT * INTO policy FROM sla_policies
     WHERE workspace_id = NEW.workspace_id AND id = NEW.sla_policy_id;
    SELECT time_zone INTO zone FROM workspaces WHERE id = NEW.workspace_id;
    pausing := NEW.status = ANY (policy.pause_statuses);
    IF NEW.sla_paused_since IS NOT NULL AND NOT pausing THEN
        IF NEW.sla_response_left IS NOT NULL THEN
            NEW.sla_response_due_at := sla_add(now(), extract(epoch FROM NEW.sla_response_left),
                zone, policy.business_days, policy.business_opens, policy.business_closes);
        END IF;
        IF NEW.sla_resolution_left IS NOT NULL THEN
            NEW.sla_resolution_due_at := sla_add(now(),
                extract(epoch FROM NEW.sla_resolution_left), zone, policy.business_days,
                policy.business_opens, policy.business_closes);
        END IF;
        NEW.sla_response_left := NULL;
        NEW.sla_resolution_left := NULL;
        NEW.sla_paused_since := NULL;
    END IF;
    IF NEW.status = ANY (terminal) AND NEW.sla_resolution_met_at IS NULL THEN
        NEW.sla_resolution_met_at := now();
    ELSIF NOT NEW.status = ANY (terminal) AND OLD.status = ANY (terminal) THEN
        NEW.sla_resolution_met_at := NULL;
    END IF;
    IF NEW.status NOT IN ('NEW', 'OPEN') AND NEW.sla_response_met_at IS NULL THEN
        NEW.sla_response_met_at := now();
    END IF;
    IF NEW.sla_response_met_at > NEW.sla_response_due_at
       OR NEW.sla_resolution_met_at > NEW.sla_resolution_due_at THEN
        NEW.sla_breached_at := coalesce(NEW.sla_breached_at, least(
            CASE WHEN NEW.sla_response_met_at > NEW.sla_response_due_at
                 THEN NEW.sla_response_due_at END,
            CASE WHEN NEW.sla_resolution_met_at > NEW.sla_resolution_due_at
                 THEN NEW.sla_resolution_due_at END));
    END IF;
    IF pausing AND NEW.sla_paused_since IS NULL THEN
        NEW.sla_paused_since := now();
        IF NEW.sla_response_met_at IS NULL AND NEW.sla_response_due_at > now() THEN
            NEW.sla_response_left := make_interval(secs => sla_between(now(),
                NEW.sla_response_due_at, zone, policy.business_days, policy.business_opens,
                policy.business_closes));
            NEW.sla_response_due_at := NULL;
        END IF;
        IF NEW.sla_resolution_met_at IS NULL AND NEW.sla_resolution_due_at > now() THEN
            NEW.sla_resolution_left := make_interval(secs => sla_between(now(),
                NEW.sla_resolution_due_at, zone, policy.business_days, policy.business_opens,
                policy.business_closes));
            NEW.sla_resolution_due_at := NULL;
        END IF;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER tasks_sla_on_status BEFORE UPDATE OF status ON tasks
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status AND NEW.sla_policy_id IS NOT NULL)
    EXECUTE FUNCTION tasks_move_sla();

-- SLA timers: one per clock and stage (AT_RISK, BREACHED) of a task, at the moment it comes;
-- rescheduled whenever the clock's due or its being met changes. The task is locked (being
-- written), so this keeps the task -> timer lock order every writer of timers keeps.
ALTER TABLE task_timers DROP CONSTRAINT task_timers_action_check;
ALTER TABLE task_timers ADD CONSTRAINT task_timers_action_check
    CHECK (action IN ('REOPEN', 'ESCALATE', 'REASSIGN', 'REMIND', 'WAKE', 'SLA'));

CREATE FUNCTION sla_schedule(task tasks, clock text, due timestamptz, met timestamptz)
    RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    at_risk bigint;
BEGIN
    UPDATE task_timers SET state = 'CANCELLED', settled_at = now(),
                           outcome = 'the SLA clock was met, paused or moved'
     WHERE workspace_id = task.workspace_id AND task_id = task.id AND state = 'PENDING'
       AND action = 'SLA' AND params->>'clock' = clock;
    IF due IS NULL OR met IS NOT NULL THEN
        RETURN;
    END IF;
    SELECT at_risk_secs INTO at_risk FROM sla_policies
     WHERE workspace_id = task.workspace_id AND id = task.sla_policy_id;
    INSERT INTO task_timers (workspace_id, id, task_id, action, params, fire_at,
                             created_by_type, created_by_id)
    VALUES (task.workspace_id, gen_random_uuid(), task.id, 'SLA',
            jsonb_build_object('clock', clock, 'stage', 'BREACHED'), due, 'SYSTEM', 'sla');
    IF at_risk IS NOT NULL AND due - make_interval(secs => at_risk) > now() THEN
        INSERT INTO task_timers (workspace_id, id, task_id, action, params, fire_at,
                                 created_by_type, created_by_id)
        VALUES (task.workspace_id, gen_random_uuid(), task.id, 'SLA',
                jsonb_build_object('clock', clock, 'stage', 'AT_RISK'),
                due - make_interval(secs => at_risk), 'SYSTEM', 'sla');
    END IF;
END $$;

CREATE FUNCTION tasks_schedule_sla() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT'
       OR NEW.sla_response_due_at IS DISTINCT FROM OLD.sla_response_due_at
       OR NEW.sla_response_met_at IS DISTINCT FROM OLD.sla_response_met_at THEN
        PERFORM sla_schedule(NEW, 'FIRST_RESPONSE', NEW.sla_response_due_at,
                             NEW.sla_response_met_at);
    END IF;
    IF TG_OP = 'INSERT'
       OR NEW.sla_resolution_due_at IS DISTINCT FROM OLD.sla_resolution_due_at
       OR NEW.sla_resolution_met_at IS DISTINCT FROM OLD.sla_resolution_met_at THEN
        PERFORM sla_schedule(NEW, 'RESOLUTION', NEW.sla_resolution_due_at,
                             NEW.sla_resolution_met_at);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER tasks_sla_timers_on_insert AFTER INSERT ON tasks
    FOR EACH ROW WHEN (NEW.sla_policy_id IS NOT NULL)
    EXECUTE FUNCTION tasks_schedule_sla();
CREATE TRIGGER tasks_sla_timers_on_update AFTER UPDATE ON tasks
    FOR EACH ROW WHEN (NEW.sla_policy_id IS NOT NULL AND (
        OLD.sla_response_due_at IS DISTINCT FROM NEW.sla_response_due_at
        OR OLD.sla_response_met_at IS DISTINCT FROM NEW.sla_response_met_at
        OR OLD.sla_resolution_due_at IS DISTINCT FROM NEW.sla_resolution_due_at
        OR OLD.sla_resolution_met_at IS DISTINCT FROM NEW.sla_resolution_met_at))
    EXECUTE FUNCTION tasks_schedule_sla();

ALTER TABLE task_events DROP CONSTRAINT task_events_kind_check;
ALTER TABLE task_events ADD CONSTRAINT task_events_kind_check CHECK (kind IN (
    'TASK_CREATED', 'TASK_UPDATED', 'TASK_STARTED', 'TASK_SUBMITTED_FOR_REVIEW',
    'TASK_COMPLETED', 'TASK_SKIPPED', 'TASK_CANCELLED', 'TASK_REOPENED', 'TASK_REASSIGNED',
    'TASK_DELETED', 'ASSIGNMENT_CREATED', 'ASSIGNMENT_DELETED', 'ASSIGNMENT_FINISHED',
    'ASSIGNMENT_OPENED', 'TASK_ACTION_SCHEDULED', 'TASK_ACTION_CANCELLED', 'REMINDER_DUE',
    'TASK_SNOOZED', 'TASK_UNSNOOZED', 'SLA_AT_RISK', 'SLA_BREACHED'))
    NOT VALID;
ALTER TABLE task_events VALIDATE CONSTRAINT task_events_kind_check;
