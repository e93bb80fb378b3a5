//! `docket admin`: operators create workspaces and tokens from the command line, with `--json` for
//! scripts; the tokens it prints work against a server, and revoked ones stop working.

use std::time::Duration;

use docket::grpc::pb::{self, workspace_service_client::WorkspaceServiceClient};
use serde_json::Value;
use tonic::Code;
use uuid::Uuid;

use crate::{
    helpers::rpc::authorized,
    helpers::{app::TestApp, database::TestDb, process::docket, raw::assert_error, seed},
};

/// Runs `docket admin ARGS` against the database; returns (exit code, stdout, stderr).
async fn admin(db: &TestDb, args: &[&str]) -> (i32, String, String) {
    let url = db.url();
    let mut all = vec!["admin"];
    all.extend_from_slice(args);
    let output = docket(&all, &[("DATABASE_URL", &url)])
        .output()
        .await
        .expect("run docket admin");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

async fn admin_json(db: &TestDb, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let (code, stdout, stderr) = admin(db, &all).await;
    assert_eq!(code, 0, "{args:?}: {stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {stdout}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn workspaces_and_tokens_from_the_command_line() {
    let db = TestDb::unique_name();
    let created = admin_json(&db, &["workspace", "create", "--name", "acme"]).await;
    let workspace = created["workspace_id"]
        .as_str()
        .expect("workspace_id")
        .to_owned();
    let admin_secret = created["token"]["secret"]
        .as_str()
        .expect("secret")
        .to_owned();
    assert!(admin_secret.starts_with("dkt_"));
    assert_eq!(
        created["token"]["scopes"].as_array().map(Vec::len),
        Some(5),
        "{created}"
    );

    let billing = admin_json(
        &db,
        &[
            "token",
            "create",
            "--workspace",
            &workspace,
            "--service",
            "billing",
            "--scopes",
            "tasks:read,directory:read",
        ],
    )
    .await;
    let billing_id = billing["id"].as_str().expect("id").to_owned();
    assert_eq!(billing["service"], "billing");

    let listed = admin_json(&db, &["token", "list", "--workspace", &workspace]).await;
    let tokens = listed["tokens"].as_array().expect("tokens");
    assert_eq!(tokens.len(), 2);
    assert!(
        !listed.to_string().contains("secret"),
        "listings never show secrets: {listed}"
    );

    let (code, stdout, _) = admin(&db, &["workspace", "create", "--name", "text-mode"]).await;
    assert_eq!(code, 0);
    assert!(
        stdout.contains("secret dkt_") && stdout.contains("shown only now"),
        "{stdout}"
    );

    // The printed tokens work against a server on that database...
    let url = db.url();
    let app = TestApp::builder().on(db, url).spawn().await;
    let mut client = WorkspaceServiceClient::new(app.channel().await);
    let seen = client
        .get_workspace(authorized(pb::GetWorkspaceRequest {}, &admin_secret))
        .await
        .expect("admin token");
    assert_eq!(
        seen.into_inner().workspace.map(|w| w.id),
        Some(workspace.clone())
    );

    // ...and revoking one stops it.
    let revoked = admin_json(
        &app.db,
        &[
            "token",
            "revoke",
            "--workspace",
            &workspace,
            "--id",
            &billing_id,
        ],
    )
    .await;
    assert!(revoked["revoked_at"].is_string(), "{revoked}");

    // A user token dies with its user's deactivation.
    let workspace_id: Uuid = workspace.parse().expect("uuid");
    let user = seed::user(&app.db, workspace_id, true).await;
    let user_token = admin_json(
        &app.db,
        &[
            "token",
            "create",
            "--workspace",
            &workspace,
            "--user",
            &user.to_string(),
            "--scopes",
            "workspace:admin",
        ],
    )
    .await;
    let user_secret = user_token["secret"].as_str().expect("secret").to_owned();
    client
        .get_workspace(authorized(pb::GetWorkspaceRequest {}, &user_secret))
        .await
        .expect("user token");
    seed::set_user_active(&app.db, workspace_id, user, false).await;
    let deactivated = tokio::time::Instant::now();
    loop {
        match client
            .get_workspace(authorized(pb::GetWorkspaceRequest {}, &user_secret))
            .await
        {
            Err(status) => {
                assert_error(
                    &status,
                    Code::Unauthenticated,
                    "UNAUTHENTICATED",
                    "deactivated user",
                );
                break;
            }
            Ok(_) => assert!(
                deactivated.elapsed() < Duration::from_secs(3),
                "still accepted"
            ),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_admin_commands_fail_with_one_clear_line() {
    let db = TestDb::migrated().await;
    let created = admin_json(&db, &["workspace", "create", "--name", "acme"]).await;
    let workspace = created["workspace_id"]
        .as_str()
        .expect("workspace_id")
        .to_owned();
    let stranger = Uuid::new_v4().to_string();
    let cases: &[(&[&str], i32, &str)] = &[
        (
            &[
                "token",
                "create",
                "--workspace",
                &workspace,
                "--user",
                &stranger,
                "--scopes",
                "tasks:read",
            ],
            1,
            "unknown to this workspace",
        ),
        (
            &[
                "token",
                "create",
                "--workspace",
                &stranger,
                "--service",
                "x",
                "--scopes",
                "tasks:read",
            ],
            1,
            "workspace not found",
        ),
        (
            &[
                "token",
                "create",
                "--workspace",
                &workspace,
                "--service",
                "Bad Name",
                "--scopes",
                "tasks:read",
            ],
            1,
            "--service",
        ),
        (
            &[
                "token",
                "revoke",
                "--workspace",
                &workspace,
                "--id",
                &stranger,
            ],
            1,
            "no API token",
        ),
        (
            &["token", "list", "--workspace", &stranger],
            1,
            "workspace not found",
        ),
        (&["workspace", "create", "--name", " "], 1, "--name"),
        (
            &[
                "token",
                "create",
                "--workspace",
                &workspace,
                "--service",
                "x",
                "--scopes",
                "tasks:fly",
            ],
            2,
            "unknown scope",
        ),
        (
            &[
                "token",
                "create",
                "--workspace",
                &workspace,
                "--user",
                &stranger,
                "--service",
                "x",
                "--scopes",
                "tasks:read",
            ],
            2,
            "cannot be used with",
        ),
    ];
    for (args, expected_code, expected_text) in cases {
        let (code, _, stderr) = admin(&db, args).await;
        assert_eq!(code, *expected_code, "{args:?}: {stderr}");
        assert!(
            stderr.contains(expected_text),
            "{args:?}: {expected_text:?} not in {stderr}"
        );
        if *expected_code == 1 {
            assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: {stderr}");
        }
    }
}
