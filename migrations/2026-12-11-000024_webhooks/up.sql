-- Webhooks (issue 26): a subscription is a cursor on its workspace's event log. Every server
-- runs a delivery worker; the database decides who delivers what:
--
--   * a server delivers a subscription only while it holds its lease (`leased_by`,
--     `lease_until`), taken with FOR UPDATE SKIP LOCKED and renewed as it goes: one server at a
--     time, and another takes over once a killed server's lease runs out;
--   * `position` is the cursor: every event of the workspace at or below it has been delivered
--     (or is not for this subscription); `delivered_ahead` lists the positions above it that are
--     delivered already, so that a slow or failing task does not hold back the others and a
--     server taking over does not send them again. Both move only in a statement that checks
--     the lease is still this server's;
--   * the signing secret is sealed with a server key (`secret_key_id` names which), never
--     stored in the clear; during a rotation the previous one still signs until
--     `previous_secret_until`.

CREATE TABLE webhooks (
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id uuid NOT NULL,
    url text NOT NULL CHECK (char_length(url) BETWEEN 1 AND 2000),
    description text NOT NULL DEFAULT '' CHECK (char_length(description) <= 1000),
    -- Which events: these kinds (empty: every kind), these tasks (empty: every task), as the
    -- scope sees them (PARTICIPATING: those whose audience names `audience`, the creator).
    kinds text[] NOT NULL DEFAULT '{}',
    task_ids uuid[] NOT NULL DEFAULT '{}',
    scope text NOT NULL CHECK (scope IN ('PARTICIPATING', 'WORKSPACE')),
    audience text NOT NULL,
    state text NOT NULL CHECK (state IN ('ACTIVE', 'PAUSED', 'FAILING', 'EXPIRED')),
    state_reason text NOT NULL DEFAULT '',
    secret bytea NOT NULL,
    secret_key_id text NOT NULL,
    previous_secret bytea,
    previous_secret_key_id text,
    previous_secret_until timestamptz,
    CHECK ((previous_secret IS NULL) = (previous_secret_until IS NULL)),
    position bigint NOT NULL CHECK (position >= 0),
    delivered_ahead bigint[] NOT NULL DEFAULT '{}',
    -- The current streak of failed attempts: how many, since when; reset by a success.
    attempts integer NOT NULL DEFAULT 0,
    failing_since timestamptz,
    -- When a server should next deliver (the end of a back-off; now, for a subscription
    -- with nothing to wait for).
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    leased_by uuid,
    lease_until timestamptz,
    last_success_at timestamptz,
    created_by_type text NOT NULL CHECK (created_by_type IN ('USER', 'API_TOKEN')),
    created_by_id text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    version bigint NOT NULL DEFAULT 1,
    PRIMARY KEY (workspace_id, id)
);

-- The worker's look: active subscriptions whose back-off is over.
CREATE INDEX webhooks_due ON webhooks (next_attempt_at) WHERE state = 'ACTIVE';

-- Every attempt to deliver, kept for the event retention (housekeeping purges it).
CREATE TABLE webhook_deliveries (
    workspace_id uuid NOT NULL,
    webhook_id uuid NOT NULL,
    id bigint GENERATED ALWAYS AS IDENTITY,
    -- NULL for TestWebhook's message.
    position bigint,
    purpose text NOT NULL CHECK (purpose IN ('EVENT', 'TEST', 'REDELIVERY')),
    attempt integer NOT NULL CHECK (attempt >= 1),
    at timestamptz NOT NULL,
    -- NULL when no HTTP answer came (see `error`).
    status_code integer,
    succeeded boolean NOT NULL,
    error text NOT NULL DEFAULT '',
    latency_ms integer NOT NULL,
    -- The first 1 KB of the answer's body, never shown anywhere else.
    response_excerpt text NOT NULL DEFAULT '' CHECK (octet_length(response_excerpt) <= 1024),
    next_attempt_at timestamptz,
    PRIMARY KEY (workspace_id, webhook_id, id),
    FOREIGN KEY (workspace_id, webhook_id) REFERENCES webhooks (workspace_id, id) ON DELETE CASCADE
);

CREATE INDEX webhook_deliveries_at ON webhook_deliveries (at);

-- A subscription that exhausted its retry period is paused with an event of its own, which
-- only workspace watchers (and other subscriptions of the workspace) see.
ALTER TABLE task_events
    ADD COLUMN webhook_id uuid,
    DROP CONSTRAINT task_events_subject_check,
    ADD CONSTRAINT task_events_subject_check
        CHECK (task_id IS NOT NULL OR template_id IS NOT NULL OR webhook_id IS NOT NULL);
ALTER TABLE task_events DROP CONSTRAINT task_events_kind_check;
ALTER TABLE task_events ADD CONSTRAINT task_events_kind_check CHECK (kind IN (
    'TASK_CREATED', 'TASK_UPDATED', 'TASK_STARTED', 'TASK_SUBMITTED_FOR_REVIEW',
    'TASK_COMPLETED', 'TASK_SKIPPED', 'TASK_CANCELLED', 'TASK_REOPENED', 'TASK_REASSIGNED',
    'TASK_DELETED', 'ASSIGNMENT_CREATED', 'ASSIGNMENT_DELETED', 'ASSIGNMENT_FINISHED',
    'ASSIGNMENT_OPENED', 'TASK_ACTION_SCHEDULED', 'TASK_ACTION_CANCELLED', 'REMINDER_DUE',
    'TASK_SNOOZED', 'TASK_UNSNOOZED', 'SLA_AT_RISK', 'SLA_BREACHED',
    'TEMPLATE_CREATED', 'TEMPLATE_UPDATED', 'TEMPLATE_DELETED', 'SCHEDULE_PAUSED',
    'SCHEDULE_RESUMED', 'OCCURRENCE_SKIPPED', 'SERIES_ENDED', 'WEBHOOK_FAILING'))
    NOT VALID;
ALTER TABLE task_events VALIDATE CONSTRAINT task_events_kind_check;
