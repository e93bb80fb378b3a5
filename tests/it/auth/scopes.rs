//! Authentication and scopes for every Docket RPC, workspace settings, and token bookkeeping. The
//! RPC list comes from the protos (`required_scope` options), so a new RPC is covered by itself;
//! its cross-workspace behaviour is checked in `tenancy.rs`.

use std::{collections::HashMap, time::Duration};

use docket::{
    auth::{Scope, ScopeSet},
    grpc::{
        auth::required_scope,
        pb::{self, methods::METHOD_SCOPES, workspace_service_client::WorkspaceServiceClient},
    },
};
use tonic::{Code, Request};

use crate::helpers::{
    app::TestApp,
    database::connect,
    raw::{assert_error, call},
    rpc::authorized,
    seed,
};

/// How an RPC is shown never to reach into another workspace.
#[tokio::test(flavor = "multi_thread")]
async fn every_rpc_refuses_missing_or_invalid_credentials() {
    let app = TestApp::spawn().await;
    let (workspace, _) = seed::workspace(&app.db, "acme").await;
    let (revoked, revoked_id) = seed::service_token(&app.db, workspace.id, Scope::ALL).await;
    docket::domain::tokens::revoke(&mut seed::diesel(&app.db).await, workspace.id, revoked_id)
        .await
        .expect("revoke");
    let channel = app.channel().await;
    let bad_tokens: &[(&str, Option<&str>)] = &[
        ("no credentials", None),
        (
            "unknown API token",
            Some("dkt_00000000000000000000000000000000"),
        ),
        ("revoked API token", Some(revoked.as_str())),
        ("not a token", Some("hello")),
        (
            "a JWT when none is configured",
            Some("eyJhbGciOiJIUzI1NiJ9.e30.c2ln"),
        ),
    ];
    for (path, _) in METHOD_SCOPES {
        for (case, token) in bad_tokens {
            let status = call(channel.clone(), path, *token, Vec::new())
                .await
                .expect_err(path);
            assert_error(
                &status,
                Code::Unauthenticated,
                "UNAUTHENTICATED",
                &format!("{path}, {case}"),
            );
        }
    }
    // A header that is not Bearer at all.
    let mut client = WorkspaceServiceClient::new(channel);
    let mut request = Request::new(pb::GetWorkspaceRequest {});
    request.metadata_mut().insert(
        "authorization",
        "Basic YWRtaW46YWRtaW4=".parse().expect("ascii"),
    );
    let status = client.get_workspace(request).await.expect_err("basic auth");
    assert_error(
        &status,
        Code::Unauthenticated,
        "UNAUTHENTICATED",
        "Basic scheme",
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_rpc_requires_its_scope() {
    let app = TestApp::spawn().await;
    let (workspace, _) = seed::workspace(&app.db, "acme").await;
    let channel = app.channel().await;
    let mut lacking: HashMap<Scope, String> = HashMap::new();
    for (path, _) in METHOD_SCOPES {
        let required = required_scope(path).expect("a Docket RPC");
        let token = match lacking.get(&required) {
            Some(token) => token.clone(),
            None => {
                // Every scope that does not grant the required one.
                let others: Vec<Scope> = Scope::ALL
                    .iter()
                    .copied()
                    .filter(|s| !std::iter::once(*s).collect::<ScopeSet>().allows(required))
                    .collect();
                let (secret, _) = seed::service_token(&app.db, workspace.id, &others).await;
                lacking.insert(required, secret.clone());
                secret
            }
        };
        let status = call(channel.clone(), path, Some(&token), Vec::new())
            .await
            .expect_err(path);
        assert_error(&status, Code::PermissionDenied, "MISSING_SCOPE", path);
        assert!(
            status.message().contains(required.as_str()),
            "{path}: {}",
            status.message()
        );
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn settings_updates_follow_the_mask_and_reject_unknown_paths() {
    let app = TestApp::spawn().await;
    let (_, token) = seed::workspace(&app.db, "acme").await;
    let mut client = WorkspaceServiceClient::new(app.channel().await);
    let update = |paths: &[&str], enabled: bool| pb::UpdateWorkspaceSettingsRequest {
        settings: Some(pb::WorkspaceSettings {
            assignments_enabled: enabled,
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: paths.iter().map(|p| p.to_string()).collect(),
        }),
    };
    let off = client
        .update_workspace_settings(authorized(update(&["assignments_enabled"], false), &token))
        .await
        .expect("mask with the setting")
        .into_inner();
    assert_eq!(
        off.workspace
            .and_then(|w| w.settings)
            .map(|s| s.assignments_enabled),
        Some(false)
    );

    let status = client
        .update_workspace_settings(authorized(
            update(&["assignments_enabled", "colour"], true),
            &token,
        ))
        .await
        .expect_err("unknown path");
    assert_error(
        &status,
        Code::InvalidArgument,
        "VALIDATION_ERROR",
        "unknown mask path",
    );
    let bad = tonic_types::StatusExt::get_details_bad_request(&status).expect("BadRequest");
    assert_eq!(bad.field_violations[0].field, "update_mask.paths[1]");

    let status = client
        .update_workspace_settings(authorized(
            pb::UpdateWorkspaceSettingsRequest::default(),
            &token,
        ))
        .await
        .expect_err("no settings");
    assert_error(
        &status,
        Code::InvalidArgument,
        "VALIDATION_ERROR",
        "missing settings",
    );

    let still_off = client
        .get_workspace(authorized(pb::GetWorkspaceRequest {}, &token))
        .await
        .expect("get");
    let settings = still_off.into_inner().workspace.and_then(|w| w.settings);
    assert_eq!(
        settings.map(|s| s.assignments_enabled),
        Some(false),
        "rejected updates change nothing"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revoked_token_stops_working_within_the_cache_ttl() {
    let app = TestApp::spawn().await;
    let (workspace, _) = seed::workspace(&app.db, "acme").await;
    let (token, token_id) =
        seed::service_token(&app.db, workspace.id, &[Scope::WorkspaceAdmin]).await;
    let mut client = WorkspaceServiceClient::new(app.channel().await);
    client
        .get_workspace(authorized(pb::GetWorkspaceRequest {}, &token))
        .await
        .expect("valid token");

    docket::domain::tokens::revoke(&mut seed::diesel(&app.db).await, workspace.id, token_id)
        .await
        .expect("revoke");
    let revoked_at = tokio::time::Instant::now();
    // The test server caches for 300 ms (DOCKET_AUTH_CACHE_TTL); allow generous slack.
    loop {
        match client
            .get_workspace(authorized(pb::GetWorkspaceRequest {}, &token))
            .await
        {
            Err(status) => {
                assert_error(&status, Code::Unauthenticated, "UNAUTHENTICATED", "revoked");
                break;
            }
            Ok(_) => assert!(
                revoked_at.elapsed() < Duration::from_secs(3),
                "revoked token still accepted after {:?}",
                revoked_at.elapsed()
            ),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn token_use_is_recorded() {
    let app = TestApp::spawn().await;
    let (workspace, token) = seed::workspace(&app.db, "acme").await;
    let mut client = WorkspaceServiceClient::new(app.channel().await);
    client
        .get_workspace(authorized(pb::GetWorkspaceRequest {}, &token))
        .await
        .expect("call");
    let used: i64 = connect(&app.db.url())
        .await
        .query_one(
            "SELECT count(*) FROM api_tokens WHERE workspace_id = $1 AND last_used_at IS NOT NULL",
            &[&workspace.id],
        )
        .await
        .expect("query")
        .get(0);
    assert_eq!(used, 1);
    app.stop().await;
}

/// Hole 0 of issue 9: recording one token's use once stamped every stale token of every
/// workspace (a raw SQL `OR` spliced into the filter without parentheses).
#[tokio::test(flavor = "multi_thread")]
async fn recording_use_touches_only_the_token_used() {
    let app = TestApp::spawn().await;
    let (mine, token) = seed::workspace(&app.db, "mine").await;
    let (theirs, _) = seed::workspace(&app.db, "theirs").await;
    seed::service_token(&app.db, mine.id, &[Scope::TasksRead]).await;
    seed::service_token(&app.db, theirs.id, &[Scope::TasksRead]).await;
    let db = connect(&app.db.url()).await;
    // Every token last used long ago, so each is stale for the once-a-minute rule.
    db.execute("UPDATE api_tokens SET last_used_at = '2001-01-01'", &[])
        .await
        .expect("age the tokens");
    WorkspaceServiceClient::new(app.channel().await)
        .get_workspace(authorized(pb::GetWorkspaceRequest {}, &token))
        .await
        .expect("call");
    let stamped: Vec<(uuid::Uuid, String)> = db
        .query(
            "SELECT workspace_id, display_prefix FROM api_tokens WHERE last_used_at > '2001-01-01'",
            &[],
        )
        .await
        .expect("query")
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    assert_eq!(stamped.len(), 1, "only the token used: {stamped:?}");
    assert_eq!(stamped[0].0, mine.id);
    assert!(token.starts_with(&stamped[0].1));
    app.stop().await;
}
