DROP TRIGGER workspaces_drop_task_number_sequence ON workspaces;
DROP TRIGGER workspaces_create_task_number_sequence ON workspaces;
DO $$
DECLARE
    workspace record;
BEGIN
    FOR workspace IN SELECT id FROM workspaces LOOP
        EXECUTE format('DROP SEQUENCE IF EXISTS %I', task_number_sequence(workspace.id));
    END LOOP;
END $$;
DROP FUNCTION drop_task_number_sequence();
DROP FUNCTION create_task_number_sequence();
DROP FUNCTION next_task_number(uuid);
DROP FUNCTION task_number_sequence(uuid);
