//! JWT bearer tokens: accepted when signed with the configured key for an active user of the
//! workspace, refused in every other case.

use std::time::Duration;

use docket::{
    config::AuthConfig,
    grpc::pb::{self, workspace_service_client::WorkspaceServiceClient},
};
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};
use tonic::{Code, transport::Channel};
use uuid::Uuid;

use crate::{
    helpers::rpc::authorized,
    helpers::{
        app::{TestApp, auth_config},
        raw::assert_error,
        seed,
    },
};

const SECRET: &str = "a-test-secret-that-is-at-least-32-bytes-long";
const ISSUER: &str = "https://idp.example.test";
const AUDIENCE: &str = "docket";

fn hs256_config() -> AuthConfig {
    AuthConfig {
        jwt_hs256_secret: Some(SECRET.into()),
        jwt_issuer: Some(ISSUER.into()),
        jwt_audience: Some(AUDIENCE.into()),
        ..auth_config()
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

fn claims(user: Uuid, workspace: Uuid) -> Value {
    json!({
        "sub": user.to_string(),
        "workspace_id": workspace.to_string(),
        "scope": "workspace:admin tasks:read",
        "exp": now() + 300,
        "iss": ISSUER,
        "aud": AUDIENCE,
    })
}

fn hs256(claims: &Value, secret: &str) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("sign")
}

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/jwt")
        .join(name)
}

async fn get_workspace(channel: &Channel, token: &str) -> Result<pb::Workspace, tonic::Status> {
    let mut client = WorkspaceServiceClient::new(channel.clone());
    let response = client
        .get_workspace(authorized(pb::GetWorkspaceRequest {}, token))
        .await?;
    Ok(response.into_inner().workspace.expect("workspace"))
}

#[tokio::test(flavor = "multi_thread")]
async fn hs256_tokens_are_accepted_only_when_everything_checks_out() {
    let app = TestApp::builder().auth(hs256_config()).spawn().await;
    let (workspace, _) = seed::workspace(&app.db, "acme").await;
    let (other_workspace, _) = seed::workspace(&app.db, "other").await;
    let user = seed::user(&app.db, workspace.id, true).await;
    let inactive = seed::user(&app.db, workspace.id, false).await;
    let channel = app.channel().await;

    let valid = claims(user, workspace.id);
    let seen = get_workspace(&channel, &hs256(&valid, SECRET))
        .await
        .expect("a valid JWT");
    assert_eq!(seen.id, workspace.id.to_string());

    let with = |key: &str, value: Value| {
        let mut claims = valid.clone();
        claims[key] = value;
        claims
    };
    let without = |key: &str| {
        let mut claims = valid.clone();
        claims.as_object_mut().expect("object").remove(key);
        claims
    };
    let none_alg = {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!(
            "{}.{}.",
            b64.encode(r#"{"alg":"none","typ":"JWT"}"#),
            b64.encode(valid.to_string())
        )
    };
    let refused: Vec<(&str, String)> = vec![
        ("expired", hs256(&with("exp", json!(now() - 120)), SECRET)),
        (
            "signed with another secret",
            hs256(&valid, "another-secret-that-is-also-32-bytes-long!"),
        ),
        ("alg none", none_alg),
        (
            "wrong audience",
            hs256(&with("aud", json!("someone-else")), SECRET),
        ),
        ("no audience", hs256(&without("aud"), SECRET)),
        (
            "wrong issuer",
            hs256(&with("iss", json!("https://evil.example")), SECRET),
        ),
        (
            "no workspace claim",
            hs256(&without("workspace_id"), SECRET),
        ),
        ("no expiry", hs256(&without("exp"), SECRET)),
        (
            "sub not a uuid",
            hs256(&with("sub", json!("alice")), SECRET),
        ),
        (
            "unknown user",
            hs256(&with("sub", json!(Uuid::new_v4().to_string())), SECRET),
        ),
        (
            "deactivated user",
            hs256(&claims(inactive, workspace.id), SECRET),
        ),
        (
            "user of another workspace",
            hs256(
                &with("workspace_id", json!(other_workspace.id.to_string())),
                SECRET,
            ),
        ),
        ("truncated", hs256(&valid, SECRET)[..40].to_owned()),
    ];
    for (case, token) in refused {
        let status = get_workspace(&channel, &token).await.expect_err(case);
        assert_error(&status, Code::Unauthenticated, "UNAUTHENTICATED", case);
        assert!(
            !status.message().contains("expired") && !status.message().contains("audience"),
            "{case}: says too much: {}",
            status.message()
        );
    }

    let reader = hs256(&with("scope", json!("tasks:read")), SECRET);
    let status = get_workspace(&channel, &reader)
        .await
        .expect_err("lacks workspace:admin");
    assert_error(
        &status,
        Code::PermissionDenied,
        "MISSING_SCOPE",
        "scope claim",
    );
    app.stop().await;
}

/// Hole 4 of issue 9: a token not valid yet (`nbf` in the future) was accepted on every RPC.
#[tokio::test(flavor = "multi_thread")]
async fn tokens_not_valid_yet_are_refused() {
    let app = TestApp::builder().auth(hs256_config()).spawn().await;
    let (workspace, _) = seed::workspace(&app.db, "acme").await;
    let user = seed::user(&app.db, workspace.id, true).await;
    let channel = app.channel().await;
    let starting = |nbf: i64| {
        let mut claims = claims(user, workspace.id);
        claims["nbf"] = json!(nbf);
        claims["exp"] = json!(nbf + 3600);
        hs256(&claims, SECRET)
    };
    for (case, nbf) in [
        ("in an hour", now() + 3600),
        ("in three years", now() + 3 * 365 * 86_400),
    ] {
        let status = get_workspace(&channel, &starting(nbf))
            .await
            .expect_err(case);
        assert_error(&status, Code::Unauthenticated, "UNAUTHENTICATED", case);
    }
    get_workspace(&channel, &starting(now() - 10))
        .await
        .expect("valid since ten seconds ago");
    app.stop().await;
}

/// The clock skew allowed around `exp` and `nbf` is DOCKET_JWT_LEEWAY (30 s by default).
#[tokio::test(flavor = "multi_thread")]
async fn clock_skew_allowed_is_a_setting() {
    for (leeway, accepted) in [(Duration::from_secs(30), true), (Duration::ZERO, false)] {
        let app = TestApp::builder()
            .auth(AuthConfig {
                jwt_leeway: leeway,
                ..hs256_config()
            })
            .spawn()
            .await;
        let (workspace, _) = seed::workspace(&app.db, "acme").await;
        let user = seed::user(&app.db, workspace.id, true).await;
        let channel = app.channel().await;
        let skewed = |key: &str, at: i64| {
            let mut claims = claims(user, workspace.id);
            claims[key] = json!(at);
            hs256(&claims, SECRET)
        };
        // Expired five seconds ago, and not valid for another five seconds.
        for token in [skewed("exp", now() - 5), skewed("nbf", now() + 5)] {
            let result = get_workspace(&channel, &token).await;
            assert_eq!(result.is_ok(), accepted, "leeway {leeway:?}: {result:?}");
        }
        app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn deactivating_a_user_locks_their_jwt_out_within_the_cache_ttl() {
    let app = TestApp::builder().auth(hs256_config()).spawn().await;
    let (workspace, _) = seed::workspace(&app.db, "acme").await;
    let user = seed::user(&app.db, workspace.id, true).await;
    let channel = app.channel().await;
    let token = hs256(&claims(user, workspace.id), SECRET);
    get_workspace(&channel, &token).await.expect("active user");

    seed::set_user_active(&app.db, workspace.id, user, false).await;
    let deactivated = tokio::time::Instant::now();
    while get_workspace(&channel, &token).await.is_ok() {
        assert!(
            deactivated.elapsed() < Duration::from_secs(3),
            "still accepted"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn es256_and_rs256_public_keys_verify_their_own_algorithm_only() {
    for (public, private, algorithm) in [
        ("es256-public.pem", "es256-private.pem", Algorithm::ES256),
        ("rs256-public.pem", "rs256-private.pem", Algorithm::RS256),
    ] {
        let config = AuthConfig {
            jwt_public_key_file: Some(fixture(public)),
            ..auth_config()
        };
        let app = TestApp::builder().auth(config).spawn().await;
        let (workspace, _) = seed::workspace(&app.db, "acme").await;
        let user = seed::user(&app.db, workspace.id, true).await;
        let channel = app.channel().await;
        let pem = std::fs::read(fixture(private)).expect("private key");
        let key = match algorithm {
            Algorithm::ES256 => EncodingKey::from_ec_pem(&pem),
            _ => EncodingKey::from_rsa_pem(&pem),
        }
        .expect("key");
        let claims = claims(user, workspace.id);
        let token = encode(&Header::new(algorithm), &claims, &key).expect("sign");
        get_workspace(&channel, &token)
            .await
            .unwrap_or_else(|e| panic!("{algorithm:?}: {e:?}"));

        // The classic confusion attack: HS256 "signed" with the public key's text.
        let public_pem = std::fs::read_to_string(fixture(public)).expect("public key");
        let forged = hs256(&claims, &public_pem);
        let status = get_workspace(&channel, &forged)
            .await
            .expect_err("alg confusion");
        assert_error(
            &status,
            Code::Unauthenticated,
            "UNAUTHENTICATED",
            "HS256 with public key",
        );
        app.stop().await;
    }
}

#[test]
fn weak_or_conflicting_jwt_configuration_is_refused() {
    use docket::auth::JwtVerifier;
    let short = AuthConfig {
        jwt_hs256_secret: Some("short".into()),
        ..auth_config()
    };
    assert!(JwtVerifier::from_config(&short).is_err());
    let both = AuthConfig {
        jwt_hs256_secret: Some(SECRET.into()),
        jwt_public_key_file: Some(fixture("es256-public.pem")),
        ..auth_config()
    };
    assert!(JwtVerifier::from_config(&both).is_err());
    let not_a_key = AuthConfig {
        jwt_public_key_file: Some(fixture("README.md")),
        ..auth_config()
    };
    assert!(JwtVerifier::from_config(&not_a_key).is_err());
    assert!(
        JwtVerifier::from_config(&auth_config())
            .expect("no JWT")
            .is_none()
    );
}

/// A JWT may live no longer than DOCKET_JWT_MAX_LIFETIME (24 h by default): from now, and from
/// its `iat` when it has one. One that would stay valid for years is refused.
#[tokio::test(flavor = "multi_thread")]
async fn a_jwt_that_lives_too_long_is_refused() {
    let app = TestApp::builder().auth(hs256_config()).spawn().await;
    let (workspace, _) = seed::workspace(&app.db, "acme").await;
    let user = seed::user(&app.db, workspace.id, true).await;
    let channel = app.channel().await;
    let with = |changes: &[(&str, i64)]| {
        let mut claims = claims(user, workspace.id);
        for (key, value) in changes {
            claims[*key] = json!(value);
        }
        hs256(&claims, SECRET)
    };
    let day = 24 * 3600;
    let year_5000 = 95_617_584_000;
    for (case, token) in [
        ("expiring in the year 5000", with(&[("exp", year_5000)])),
        ("expiring in two days", with(&[("exp", now() + 2 * day)])),
        (
            "issued two days before it expires",
            with(&[("iat", now() - day), ("exp", now() + day)]),
        ),
    ] {
        let status = get_workspace(&channel, &token).await.expect_err(case);
        assert_error(&status, Code::Unauthenticated, "UNAUTHENTICATED", case);
    }
    get_workspace(
        &channel,
        &with(&[("iat", now()), ("exp", now() + day - 60)]),
    )
    .await
    .expect("a day's token");
    app.stop().await;
}
