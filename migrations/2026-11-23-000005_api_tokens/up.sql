-- API tokens: only the SHA-256 of the secret is stored. A token acts as a user of its workspace or
-- as a named service, never both.
CREATE TABLE api_tokens (
    workspace_id uuid NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    id uuid NOT NULL,
    -- SHA-256 of the whole secret; what a presented token is looked up by.
    token_hash bytea NOT NULL CHECK (octet_length(token_hash) = 32),
    -- The first characters of the secret, so operators can tell tokens apart in listings.
    display_prefix text NOT NULL CHECK (char_length(display_prefix) BETWEEN 4 AND 16),
    user_id uuid,
    service_name text CHECK (service_name ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
    scopes text[] NOT NULL CHECK (
        cardinality(scopes) >= 1
        AND scopes <@ ARRAY['tasks:read', 'tasks:write', 'directory:read', 'directory:write',
                            'workspace:admin']::text[]
    ),
    created_at timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at timestamptz,
    PRIMARY KEY (workspace_id, id),
    CONSTRAINT api_tokens_token_hash_key UNIQUE (token_hash),
    CONSTRAINT api_tokens_one_actor CHECK ((user_id IS NULL) <> (service_name IS NULL)),
    FOREIGN KEY (workspace_id, user_id) REFERENCES users (workspace_id, id) ON DELETE CASCADE
);
