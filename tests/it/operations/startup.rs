//! Starting the real binary: it creates a missing database and migrates it, and a bad
//! DATABASE_URL fails at once with one line naming the real reason. Unreachable is not bad:
//! `serve` waits for the database (see `startup_waits`); `migrate` fails at once.

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use crate::helpers::{
    database::{TestDb, connect, server_url},
    process::{DocketProcess, docket},
};

pub(crate) fn migration_count() -> i64 {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    std::fs::read_dir(dir)
        .expect("migrations dir")
        .filter(|e| e.as_ref().is_ok_and(|e| e.path().is_dir()))
        .count() as i64
}

async fn applied_migrations(db: &TestDb) -> i64 {
    connect(&db.url())
        .await
        .query_one("SELECT count(*) FROM __diesel_schema_migrations", &[])
        .await
        .expect("migrations table")
        .get(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_creates_the_missing_database_migrates_and_serves() {
    let db = TestDb::unique_name();
    assert!(!db.exists().await);
    let url = db.url();
    let mut docket = DocketProcess::start(&[("DATABASE_URL", &url)]).await;

    docket.wait_until_serving().await;
    assert!(db.exists().await, "serve created the database");
    assert_eq!(applied_migrations(&db).await, migration_count());

    docket.signal(Signal::SIGTERM);
    assert!(docket.exit_status(Duration::from_secs(10)).await.success());
}

#[tokio::test(flavor = "multi_thread")]
async fn migrate_creates_the_database_and_is_idempotent() {
    let db = TestDb::unique_name();
    let url = db.url();
    for run in 1..=2 {
        let output = docket(&["migrate"], &[("DATABASE_URL", &url)])
            .output()
            .await
            .expect("run");
        assert!(
            output.status.success(),
            "run {run}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(
            applied_migrations(&db).await,
            migration_count(),
            "run {run}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_database_url_fails_fast_with_one_clear_line() {
    let closed_port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let dead = format!("postgres://postgres@127.0.0.1:{closed_port}/docket");
    let unknown_role =
        server_url().replacen("postgres://postgres@", "postgres://no_such_role_x@", 1);
    assert_ne!(
        unknown_role,
        server_url(),
        "test server URL must name the postgres user"
    );

    // (case, URL, what the one line says, whether `serve` fails too: it waits for an unreachable
    // database instead, see `startup_waits`).
    let cases: &[(&str, &str, &[&str], bool)] = &[
        (
            "garbage",
            "not a url at all",
            &["DATABASE_URL is not a valid PostgreSQL URL"],
            true,
        ),
        (
            "wrong scheme",
            "mysql://root@127.0.0.1/docket",
            &["postgres://"],
            true,
        ),
        (
            "dead port",
            &dead,
            &[
                "cannot connect to PostgreSQL",
                &format!("127.0.0.1:{closed_port}"),
                "refused",
            ],
            false,
        ),
        (
            "unknown role",
            &unknown_role,
            &["cannot connect to PostgreSQL", "no_such_role_x"],
            true,
        ),
    ];
    for (case, url, expected, serve_fails) in cases {
        let commands = if *serve_fails {
            &[&[][..], &["migrate"][..]][..]
        } else {
            &[&["migrate"][..]][..]
        };
        for args in commands {
            let started = Instant::now();
            let output = tokio::time::timeout(
                Duration::from_secs(10),
                docket(
                    args,
                    &[("DATABASE_URL", url), ("DOCKET_LISTEN", "127.0.0.1:0")],
                )
                .output(),
            )
            .await
            .unwrap_or_else(|_| panic!("{case} {args:?}: still running after 10 s"))
            .expect("run docket");
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(output.status.code(), Some(1), "{case} {args:?}: {stderr}");
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "{case}: took {:?}",
                started.elapsed()
            );
            let lines: Vec<_> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
            assert_eq!(
                lines.len(),
                1,
                "{case} {args:?}: one line expected, got {stderr}"
            );
            for needle in *expected {
                assert!(
                    lines[0].to_lowercase().contains(&needle.to_lowercase()),
                    "{case} {args:?}: {needle:?} missing from {:?}",
                    lines[0]
                );
            }
        }
    }
}

/// A port already taken: one line naming the address and the cause, the cause said once (every
/// error's message leaves its source to the chain `main` prints).
#[tokio::test(flavor = "multi_thread")]
async fn a_taken_port_fails_with_its_cause_said_once() {
    let db = TestDb::migrated().await;
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let output = tokio::time::timeout(
        Duration::from_secs(30),
        docket(
            &[],
            &[("DATABASE_URL", &db.url()), ("DOCKET_LISTEN", &addr)],
        )
        .output(),
    )
    .await
    .expect("docket exits")
    .expect("run docket");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let lines: Vec<_> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line expected, got {stderr}");
    assert!(
        lines[0].contains(&format!("cannot listen on {addr}")),
        "{stderr}"
    );
    assert_eq!(
        lines[0].matches("in use").count(),
        1,
        "the cause once: {stderr}"
    );
    drop(taken);
}
