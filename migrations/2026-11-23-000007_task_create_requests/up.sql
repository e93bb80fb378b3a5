-- CreateTask idempotency. A request_id names one create per caller (workspace and actor); the
-- hash of the request tells a retry (same payload: answer with the task it created) from a reuse
-- (another payload: REQUEST_ID_REUSED). The primary key makes concurrent retries wait for the first
-- and then see its row. task_id deliberately has no foreign key: a retry after the task was
-- deleted must say so (TASK_NOT_FOUND), not quietly create it again.
CREATE TABLE task_create_requests (
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    actor_type text NOT NULL,
    actor_id text NOT NULL,
    request_id text NOT NULL CHECK (char_length(request_id) BETWEEN 1 AND 200),
    payload_hash bytea NOT NULL CHECK (octet_length(payload_hash) = 32),
    task_id uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workspace_id, actor_type, actor_id, request_id)
);
