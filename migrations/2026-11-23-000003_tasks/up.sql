-- Tasks as the contract describes them. Enumerations are text with CHECK constraints that list the
-- same values as the proto enums, so the database refuses anything the API could not express.
CREATE TABLE tasks (
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id uuid NOT NULL,
    -- Per-workspace, starts at 1, unique and increasing (gaps allowed).
    number bigint NOT NULL CHECK (number > 0),
    title text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 500),
    -- The body in the format it was written in and in the other two, all rendered once on write
    -- (reads far outnumber writes). The 256 KiB limit applies to the written form, in code.
    body_format text NOT NULL DEFAULT 'PLAIN' CHECK (body_format IN ('PLAIN', 'HTML', 'DELTA')),
    body_plain text NOT NULL DEFAULT '',
    body_html text NOT NULL DEFAULT '',
    body_delta text NOT NULL DEFAULT '{"ops":[]}',
    kind text NOT NULL CHECK (kind ~ '^[A-Z][A-Z0-9_]{0,63}$'),
    priority text NOT NULL DEFAULT 'NORMAL'
        CHECK (priority IN ('URGENT', 'HIGH', 'NORMAL', 'LOW')),
    status text NOT NULL DEFAULT 'NEW'
        CHECK (status IN ('NEW', 'OPEN', 'IN_PROGRESS', 'IN_REVIEW', 'COMPLETED', 'SKIPPED', 'CANCELLED')),
    -- `due` is a date or a date-time, never both.
    due_date date,
    due_at timestamptz,
    tags text[] NOT NULL DEFAULT '{}' CHECK (cardinality(tags) <= 32),
    external_id text CHECK (char_length(external_id) BETWEEN 1 AND 200),
    correlation_id text CHECK (char_length(correlation_id) BETWEEN 1 AND 200),
    sequence_id uuid,
    completion_policy text NOT NULL CHECK (completion_policy IN ('MANUAL', 'ANY', 'ALL')),
    -- PERSONAL (false) or DISTRIBUTED (true) as created; RECEIVED is how a recipient sees the latter.
    distributed boolean NOT NULL,
    created_by_type text NOT NULL CHECK (created_by_type IN ('USER', 'API_TOKEN', 'SYSTEM')),
    created_by_id text NOT NULL CHECK (char_length(created_by_id) BETWEEN 1 AND 200),
    outcome_disposition text CHECK (outcome_disposition IN ('ANSWERED', 'VOICEMAIL_LEFT', 'NO_ANSWER')),
    outcome_note text CHECK (char_length(outcome_note) <= 10000),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    first_started_at timestamptz,
    first_terminated_at timestamptz,
    completed_at timestamptz,
    skipped_at timestamptz,
    cancelled_at timestamptz,
    reopened_at timestamptz,
    reopen_reason text CHECK (char_length(reopen_reason) <= 1000),
    -- Bumped on every change; the etag is derived from it.
    version bigint NOT NULL DEFAULT 1,
    PRIMARY KEY (workspace_id, id),
    CONSTRAINT tasks_number_key UNIQUE (workspace_id, number),
    CONSTRAINT tasks_due_one_form CHECK (due_date IS NULL OR due_at IS NULL)
);

CREATE UNIQUE INDEX tasks_external_id_key ON tasks (workspace_id, external_id)
    WHERE external_id IS NOT NULL;
CREATE INDEX tasks_sequence_idx ON tasks (workspace_id, sequence_id)
    WHERE sequence_id IS NOT NULL;

-- Records a task is linked to ({object, record_id}, e.g. people/<uuid>). Record ids come from other
-- systems and are not always UUIDs, hence text.
CREATE TABLE task_linked_records (
    workspace_id uuid NOT NULL,
    task_id uuid NOT NULL,
    object text NOT NULL CHECK (object ~ '^[a-z][a-z0-9_-]{0,63}$'),
    record_id text NOT NULL CHECK (char_length(record_id) BETWEEN 1 AND 200),
    PRIMARY KEY (workspace_id, task_id, object, record_id),
    FOREIGN KEY (workspace_id, task_id) REFERENCES tasks (workspace_id, id) ON DELETE CASCADE
);

CREATE INDEX task_linked_records_record_idx ON task_linked_records (workspace_id, object, record_id);
