//! Test databases: a template migrated once per migrations fingerprint, and a fresh copy of it per
//! test, dropped when the test ends, so tests run in parallel without sharing state.

use std::{path::Path, time::Duration};

use docket::config::DatabaseConfig;
use sha2::{Digest, Sha256};
use tokio::sync::OnceCell;
use tokio_postgres::{NoTls, error::SqlState};

/// The PostgreSQL server tests use; any database on it works, it is only connected to for
/// CREATE/DROP DATABASE.
pub fn server_url() -> String {
    std::env::var("DOCKET_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// `server_url()` pointed at another database.
pub fn url_for(database: &str) -> String {
    let mut url = url::Url::parse(&server_url()).expect("DOCKET_TEST_DATABASE_URL is a URL");
    url.set_path(database);
    url.to_string()
}

/// `host:port` of the test server, for the TCP proxy.
pub fn server_socket_addr() -> String {
    let url = url::Url::parse(&server_url()).expect("DOCKET_TEST_DATABASE_URL is a URL");
    format!(
        "{}:{}",
        url.host_str().unwrap_or("127.0.0.1"),
        url.port().unwrap_or(5432)
    )
}

pub fn database_config(url: String) -> DatabaseConfig {
    DatabaseConfig {
        database_url: url,
        maintenance_db: url::Url::parse(&server_url())
            .ok()
            .map(|u| u.path().trim_start_matches('/').to_owned())
            .filter(|db| !db.is_empty())
            .unwrap_or_else(|| "postgres".to_owned()),
        // Small and quick: many test servers share one PostgreSQL.
        pool_size: 4,
        statement_timeout: Duration::from_secs(10),
        connect_timeout: Duration::from_secs(2),
        ..super::app::defaults().database
    }
}

/// A connection to the test server's maintenance database, for administration.
pub async fn admin() -> tokio_postgres::Client {
    connect(&server_url()).await
}

pub async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to the test PostgreSQL at {url}: {e}"));
    tokio::spawn(connection);
    client
}

/// A database of its own for one test, dropped (with any sessions still in it) when this is.
pub struct TestDb {
    pub name: String,
}

impl TestDb {
    /// A fresh, fully migrated database.
    pub async fn migrated() -> Self {
        let template = template().await;
        let db = Self::unique_name();
        let statement = format!(
            "CREATE DATABASE {} TEMPLATE {}",
            quote(&db.name),
            quote(template)
        );
        retry_while_in_use(&admin().await, &statement).await;
        db
    }

    /// A name for a database that does not exist yet (and is dropped at the end if created).
    pub fn unique_name() -> Self {
        Self {
            name: format!("docket_test_{}", uuid::Uuid::new_v4().simple()),
        }
    }

    pub fn url(&self) -> String {
        url_for(&self.name)
    }

    pub async fn exists(&self) -> bool {
        admin()
            .await
            .query_opt(
                "SELECT 1 FROM pg_database WHERE datname = $1",
                &[&self.name],
            )
            .await
            .expect("query pg_database")
            .is_some()
    }

    /// Terminates every session connected to this database; returns how many there were.
    pub async fn terminate_connections(&self) -> i64 {
        admin()
            .await
            .query_one(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
                 WHERE datname = $1 AND pid <> pg_backend_pid()",
                &[&self.name],
            )
            .await
            .expect("terminate backends")
            .get(0)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let statement = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote(&self.name));
        // Drop runs inside the test's runtime, which cannot be blocked on; a short-lived runtime on
        // its own thread does the async work.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let (client, connection) = tokio_postgres::connect(&server_url(), NoTls).await?;
                tokio::spawn(connection);
                client.batch_execute(&statement).await
            })?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) && !std::thread::panicking() {
            eprintln!("warning: could not drop test database {}", self.name);
        }
    }
}

/// The migrated template's name. Built once per migrations fingerprint under an advisory lock (so
/// parallel test processes agree), in a scratch database renamed into place only when complete.
async fn template() -> &'static str {
    static TEMPLATE: OnceCell<String> = OnceCell::const_new();
    TEMPLATE
        .get_or_init(|| async {
            let name = format!("docket_tpl_{}", migrations_fingerprint());
            let admin = admin().await;
            admin
                .batch_execute("SELECT pg_advisory_lock(7368455)")
                .await
                .expect("template lock");
            let exists = admin
                .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
                .await
                .expect("query pg_database")
                .is_some();
            if !exists {
                let building = format!("{name}_building");
                for statement in [
                    format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote(&building)),
                    format!("CREATE DATABASE {}", quote(&building)),
                ] {
                    admin
                        .batch_execute(&statement)
                        .await
                        .expect("create template database");
                }
                docket::db::prepare(&database_config(url_for(&building)))
                    .await
                    .expect("migrate the template database");
                let rename = format!(
                    "ALTER DATABASE {} RENAME TO {}",
                    quote(&building),
                    quote(&name)
                );
                retry_while_in_use(&admin, &rename).await;
            }
            admin
                .batch_execute("SELECT pg_advisory_unlock(7368455)")
                .await
                .expect("template unlock");
            name
        })
        .await
}

/// Runs a statement that fails while some session is still connected to the database it names
/// (a just-closed connection takes a moment to leave the server).
async fn retry_while_in_use(client: &tokio_postgres::Client, statement: &str) {
    for _ in 0..100 {
        match client.batch_execute(statement).await {
            Ok(()) => return,
            Err(e) if e.code() == Some(&SqlState::OBJECT_IN_USE) => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("{statement}: {e}"),
        }
    }
    panic!("{statement}: database still in use after 5 s");
}

fn migrations_fingerprint() -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut files = Vec::new();
    collect_files(&root, &mut files);
    files.sort();
    let mut hasher = Sha256::new();
    for file in files {
        hasher.update(
            file.strip_prefix(&root)
                .unwrap_or(&file)
                .to_string_lossy()
                .as_bytes(),
        );
        hasher.update(std::fs::read(&file).expect("read migration"));
    }
    hasher
        .finalize()
        .iter()
        .take(6)
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn collect_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read migrations dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            collect_files(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn quote(identifier: &str) -> String {
    docket::db::pool::quote_identifier(identifier)
}

/// Holds the migration lock on `db`, as another instance migrating would, until
/// [`MigrationLock::release`] (or the end of the test).
pub struct MigrationLock(tokio_postgres::Client);

impl MigrationLock {
    pub async fn hold(db: &TestDb) -> Self {
        let holder = connect(&db.url()).await;
        holder
            .execute(
                "SELECT pg_advisory_lock($1)",
                &[&docket::db::migrations::MIGRATION_LOCK_KEY],
            )
            .await
            .expect("hold the migration lock");
        Self(holder)
    }

    pub async fn release(self) {
        self.0
            .execute(
                "SELECT pg_advisory_unlock($1)",
                &[&docket::db::migrations::MIGRATION_LOCK_KEY],
            )
            .await
            .expect("release the migration lock");
    }
}
