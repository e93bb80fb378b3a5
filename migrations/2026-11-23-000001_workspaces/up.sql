-- The tenant. Every other row carries workspace_id first in its keys so the schema could later be
-- distributed (sharded) by workspace.
CREATE TABLE workspaces (
    id uuid PRIMARY KEY,
    name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    -- Feature switches (contract: "Workspace settings include feature switches").
    assignments_enabled boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
