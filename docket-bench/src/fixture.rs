//! What the benchmark runs against: workspaces and tokens made as an operator makes them (the
//! `docket admin` command, which prints them as JSON), users and large workspaces' tasks written
//! in bulk with SQL, the large workspaces seeded once and found again by name on later runs.

use std::path::PathBuf;

use tokio_postgres::NoTls;
use uuid::Uuid;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A workspace to load: its id, an all-scope service token, and a user with a tasks:write token
/// (a user's create writes the task and its assignment, as the database ceiling's SQL does).
pub struct Workspace {
    pub id: Uuid,
    /// The user `user_token` acts as.
    pub user_id: Uuid,
    pub admin_token: String,
    pub user_token: String,
}

/// User `n` (1 to 50) of a seeded workspace.
pub fn user_of(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

pub struct Fixture {
    url: String,
    /// The `docket` binary whose `admin` command makes workspaces and tokens.
    docket: PathBuf,
    sql: tokio_postgres::Client,
}

impl Fixture {
    pub async fn connect(url: &str, docket: PathBuf) -> Result<Self, BoxError> {
        let (sql, connection) = tokio_postgres::connect(url, NoTls).await?;
        tokio::spawn(connection);
        Ok(Self {
            url: url.to_owned(),
            docket,
            sql,
        })
    }

    /// Runs `docket admin --json <args>` against the database; its one JSON object.
    async fn admin(&self, args: &[&str]) -> Result<serde_json::Value, BoxError> {
        let output = tokio::process::Command::new(&self.docket)
            .args(["admin", "--json"])
            .args(args)
            .env("DATABASE_URL", &self.url)
            .output()
            .await
            .map_err(|e| format!("cannot run {}: {e}", self.docket.display()))?;
        if !output.status.success() {
            let said = String::from_utf8_lossy(&output.stderr);
            return Err(format!("docket admin {}: {}", args.join(" "), said.trim()).into());
        }
        Ok(serde_json::from_slice(&output.stdout)?)
    }

    /// A token of `owner` (`--user <id>` or `--service <name>`) in the workspace.
    async fn token(
        &self,
        workspace: Uuid,
        owner: [&str; 2],
        scopes: &str,
    ) -> Result<String, BoxError> {
        let workspace = workspace.to_string();
        let mut args = vec![
            "token",
            "create",
            "--workspace",
            &workspace,
            "--scopes",
            scopes,
        ];
        args.extend(owner);
        secret(&self.admin(&args).await?)
    }

    /// A new workspace named `name` with its user and tokens.
    pub async fn workspace(&self, name: &str) -> Result<Workspace, BoxError> {
        let created = self.admin(&["workspace", "create", "--name", name]).await?;
        let workspace_id: Uuid = created["workspace_id"]
            .as_str()
            .ok_or("docket admin printed no workspace_id")?
            .parse()?;
        let admin_token = secret(&created["token"])?;
        let user_id = Uuid::new_v4();
        self.sql
            .execute(
                "INSERT INTO users (workspace_id, id, first_name, last_name, email)
                 VALUES ($1, $2, 'Bench', 'User', 'bench@example.com')",
                &[&workspace_id, &user_id],
            )
            .await?;
        let user = user_id.to_string();
        let user_token = self
            .token(workspace_id, ["--user", &user], "tasks:write")
            .await?;
        Ok(Workspace {
            id: workspace_id,
            user_id,
            admin_token,
            user_token,
        })
    }

    /// A channel of the workspace's user (its admin) and `members` new users; its id.
    pub async fn channel(&self, workspace: &Workspace, members: i64) -> Result<Uuid, BoxError> {
        let channel = Uuid::new_v4();
        self.sql
            .execute(
                "WITH users AS (INSERT INTO users (workspace_id, id, first_name, last_name, email) \
                 SELECT $1, gen_random_uuid(), 'Member', g::text, 'member' || g || '@example.com' \
                 FROM generate_series(1, $3::bigint) g RETURNING workspace_id, id), \
                 made AS (INSERT INTO channels (workspace_id, id, name) \
                 VALUES ($1, $2, 'Everyone') RETURNING workspace_id, id) \
                 INSERT INTO channel_members (workspace_id, channel_id, user_id, admin) \
                 SELECT made.workspace_id, made.id, users.id, false FROM made, users \
                 UNION ALL SELECT made.workspace_id, made.id, $4, true FROM made",
                &[&workspace.id, &channel, &members, &workspace.user_id],
            )
            .await?;
        Ok(channel)
    }

    /// Deletes the workspaces whose names start with `prefix`, with all they hold: their tasks
    /// (and so their assignments) first, since an assignment keeps its user from being deleted,
    /// and their events, which no foreign key ties to a workspace.
    pub async fn remove(&self, prefix: &str) -> Result<(), BoxError> {
        for statement in [
            "DELETE FROM tasks WHERE workspace_id IN \
             (SELECT id FROM workspaces WHERE starts_with(name, $1))",
            "DELETE FROM task_events WHERE workspace_id IN \
             (SELECT id FROM workspaces WHERE starts_with(name, $1))",
            "DELETE FROM workspaces WHERE starts_with(name, $1)",
        ] {
            self.sql.execute(statement, &[&prefix]).await?;
        }
        Ok(())
    }

    /// An all-scope token of the workspace named `name`, which holds `tasks` seeded tasks: made
    /// and seeded on the first run (a minute for a million), found again on later ones. Its
    /// tasks are by 50 users, every filter column varied; each is assigned to its author. A second
    /// workspace holds as many, each with the tag `elsewhere`, which the first has on one task in
    /// 10,000, so a tag filter must not walk other workspaces' tasks.
    pub async fn seeded(&self, name: &str, tasks: i64) -> Result<String, BoxError> {
        let existing = self
            .sql
            .query_opt("SELECT id FROM workspaces WHERE name = $1", &[&name])
            .await?;
        if let Some(row) = existing {
            // A new token for this run: secrets are not stored.
            let all = "tasks:read,tasks:write,directory:read,directory:write,workspace:admin";
            return self.token(row.get(0), ["--service", "bench"], all).await;
        }
        // Named only once seeded, so a run cut short leaves nothing a later run would take for a
        // seeded workspace.
        let seeding = format!("{name}-seeding-{}", Uuid::new_v4().simple());
        let target = self.workspace(&seeding).await?;
        let other = self.workspace(&format!("{seeding}-elsewhere")).await?;
        eprintln!("docket-bench: seeding {tasks} tasks into {name} (once; later runs reuse it)");
        self.sql.batch_execute(UUID_V7).await?;
        for (workspace, rare_tag) in [(target.id, 10_000_i64), (other.id, 1)] {
            self.sql.execute(SEED_USERS, &[&workspace]).await?;
            self.sql
                .execute(SEED_TASKS, &[&workspace, &tasks, &rare_tag])
                .await?;
            self.sql.execute(SEED_ASSIGNMENTS, &[&workspace]).await?;
            self.numbered(workspace, tasks).await?;
        }
        self.sql
            .batch_execute("VACUUM ANALYZE tasks, assignments, task_linked_records")
            .await?;
        self.name_seeded(target, name).await
    }
}

impl Fixture {
    /// An all-scope token of the workspace named `name`, which holds `tasks` tasks with plain
    /// bodies of `body_bytes` bytes: made on the first run, found again on later ones.
    pub async fn with_bodies(
        &self,
        name: &str,
        tasks: i64,
        body_bytes: i32,
    ) -> Result<String, BoxError> {
        let existing = self
            .sql
            .query_opt("SELECT 1 FROM workspaces WHERE name = $1", &[&name])
            .await?;
        if existing.is_some() {
            return self.seeded(name, 0).await;
        }
        let seeding = format!("{name}-seeding-{}", Uuid::new_v4().simple());
        let target = self.workspace(&seeding).await?;
        self.sql
            .execute(
                "INSERT INTO tasks (workspace_id, id, number, title, body_plain, kind, \
                 completion_policy, distributed, created_by_type, created_by_id) \
                 SELECT $1, gen_random_uuid(), i, 'Task ' || i, repeat(md5(i::text), $3::int / 32), \
                 'GENERAL', 'MANUAL', false, 'API_TOKEN', 'bench' FROM generate_series(1, $2::bigint) i",
                &[&target.id, &tasks, &body_bytes],
            )
            .await?;
        self.numbered(target.id, tasks).await?;
        self.name_seeded(target, name).await
    }

    /// Continues the workspace's task numbers after the `tasks` seeded ones.
    async fn numbered(&self, workspace: Uuid, tasks: i64) -> Result<(), BoxError> {
        self.sql
            .execute(
                "SELECT setval(task_number_sequence($1)::regclass, $2)",
                &[&workspace, &tasks],
            )
            .await?;
        Ok(())
    }

    /// Gives a seeded workspace its name, which later runs find it by; returns its admin token.
    async fn name_seeded(&self, target: Workspace, name: &str) -> Result<String, BoxError> {
        self.sql
            .execute(
                "UPDATE workspaces SET name = $1 WHERE id = $2",
                &[&name, &target.id],
            )
            .await?;
        Ok(target.admin_token)
    }
}

/// Users 1 to 50 of the workspace ($1).
/// The secret of a token `docket admin --json` printed.
fn secret(token: &serde_json::Value) -> Result<String, BoxError> {
    Ok(token["secret"]
        .as_str()
        .ok_or("docket admin printed no secret")?
        .to_owned())
}

const SEED_USERS: &str = "
INSERT INTO users (workspace_id, id, first_name, last_name, email)
SELECT $1, ('00000000-0000-0000-0000-' || lpad(to_hex(u), 12, '0'))::uuid, 'U' || u, 'L' || u,
       'u' || u || '@example.com'
FROM generate_series(1, 50) u";

/// $2 tasks in workspace $1; one task in $3 carries the tag `elsewhere`.
const SEED_TASKS: &str = "
INSERT INTO tasks (workspace_id, id, number, title, body_plain, body_html, body_delta, kind,
                   priority, status, due_date, tags, correlation_id, completion_policy,
                   distributed, created_by_type, created_by_id, created_at, updated_at)
SELECT $1, pg_temp.uuid_v7(timestamptz '2025-01-01' + i * interval '1 second'), i,
       'Task ' || i || ' call ' || (ARRAY['acme', 'globex', 'initech', 'umbrella'])[1 + i % 4],
       'Call the customer back about the renewal ' || i,
       '<p>Call the customer back about the renewal ' || i || '</p>',
       '{\"ops\":[{\"insert\":\"Call the customer back about the renewal ' || i || '\\n\"}]}',
       (ARRAY['CALL', 'EMAIL_REPLY', 'GENERAL'])[1 + i % 3],
       (ARRAY['URGENT', 'HIGH', 'NORMAL', 'LOW'])[1 + i % 4],
       (ARRAY['NEW', 'OPEN', 'IN_PROGRESS', 'IN_REVIEW', 'COMPLETED', 'SKIPPED', 'CANCELLED'])[1 + i % 7],
       CASE WHEN i % 5 = 0 THEN date '2026-01-01' + (i % 365)::int END,
       CASE WHEN i % $3 = 0 THEN ARRAY['elsewhere'] WHEN i % 10 = 1 THEN ARRAY['vip'] ELSE '{}' END,
       CASE WHEN i % 100 = 0 THEN 'corr-' || (i / 100) END,
       'ANY', false,
       'USER', '00000000-0000-0000-0000-' || lpad(to_hex(1 + i % 50), 12, '0'),
       timestamptz '2025-01-01' + i * interval '1 second',
       timestamptz '2025-01-01' + i * interval '1 second'
FROM generate_series(1, $2::bigint) i";

/// Each task of workspace $1 assigned to its author.
const SEED_ASSIGNMENTS: &str = "
INSERT INTO assignments (workspace_id, id, task_id, user_id, progress_status)
SELECT workspace_id, pg_temp.uuid_v7(created_at), id, created_by_id::uuid, 'OPEN' FROM tasks
WHERE workspace_id = $1";

/// A version 7 UUID for a time, as Docket gives its tasks and assignments (`Uuid::now_v7`): its
/// first 48 bits are the Unix time in milliseconds, so that ids made together sort together.
/// Seeding random (version 4) ids instead would scatter each page of tasks' assignments over the
/// whole index, which no Docket database looks like.
const UUID_V7: &str = "
CREATE OR REPLACE FUNCTION pg_temp.uuid_v7(at timestamptz) RETURNS uuid LANGUAGE sql VOLATILE
RETURN encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid())
    PLACING substring(int8send(floor(extract(epoch FROM at) * 1000)::bigint) FROM 3) FROM 1 FOR 6),
    52, 1), 53, 1), 'hex')::uuid";
