//! DirectoryService: idempotent upserts, deactivation, channels and members, and streamed lists
//! that resume from any cursor without duplicates or gaps.

use docket::grpc::pb::{self};
use tonic::Code;
use uuid::Uuid;

use crate::helpers::{
    app::TestApp,
    database::connect,
    raw::assert_error,
    rpc::{Directory, authorized},
    seed,
};

#[tokio::test(flavor = "multi_thread")]
async fn user_upserts_are_idempotent_and_keep_or_set_the_active_flag() {
    let app = TestApp::spawn().await;
    let (_, token) = seed::workspace(&app.db, "acme").await;
    let mut dir = Directory::new(&app, token).await;
    let id = Uuid::new_v4();

    let first = dir.upsert_user(id, "Ada", "Lovelace", None).await;
    assert!(first.created);
    let user = first.user.expect("user");
    assert!(user.active, "new users are active");

    let replay = dir.upsert_user(id, "Ada", "Lovelace", None).await;
    assert!(!replay.created);
    assert_eq!(
        replay.user.as_ref(),
        Some(&user),
        "a replayed upsert changes nothing, not even updated_at"
    );

    let renamed = dir.upsert_user(id, "Ada", "King", None).await;
    assert!(!renamed.created);
    let renamed = renamed.user.expect("user");
    assert_eq!(renamed.last_name, "King");
    let at = |t: &Option<prost_types::Timestamp>| t.as_ref().map(|t| (t.seconds, t.nanos));
    assert!(at(&renamed.updated_at) > at(&user.updated_at));
    assert_eq!(renamed.created_at, user.created_at);

    let request = pb::DeactivateUserRequest {
        user_id: id.to_string(),
    };
    let deactivated = dir
        .client
        .deactivate_user(authorized(request.clone(), &dir.token))
        .await
        .expect("deactivate");
    assert!(!deactivated.into_inner().user.expect("user").active);
    let again = dir
        .client
        .deactivate_user(authorized(request, &dir.token))
        .await
        .expect("deactivate twice");
    assert!(!again.into_inner().user.expect("user").active);

    let kept = dir
        .upsert_user(id, "Ada", "King", None)
        .await
        .user
        .expect("user");
    assert!(
        !kept.active,
        "an upsert without `active` keeps the user inactive"
    );
    let back = dir
        .upsert_user(id, "Ada", "King", Some(true))
        .await
        .user
        .expect("user");
    assert!(back.active, "active: true reactivates");

    let got = dir
        .client
        .get_user(authorized(
            pb::GetUserRequest {
                user_id: id.to_string(),
            },
            &dir.token,
        ))
        .await
        .expect("get")
        .into_inner()
        .user
        .expect("user");
    assert_eq!(got, back);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn user_requests_are_validated_and_missing_users_not_found() {
    let app = TestApp::spawn().await;
    let (_, token) = seed::workspace(&app.db, "acme").await;
    let mut dir = Directory::new(&app, token).await;

    let status = dir
        .client
        .get_user(authorized(
            pb::GetUserRequest {
                user_id: Uuid::new_v4().to_string(),
            },
            &dir.token,
        ))
        .await
        .expect_err("missing");
    assert_error(&status, Code::NotFound, "USER_NOT_FOUND", "unknown user");

    let bad = pb::UpsertUserRequest {
        user_id: "42".into(),
        first_name: "x".repeat(201),
        last_name: String::new(),
        email: "no-at-sign".into(),
        active: None,
    };
    let status = dir
        .client
        .upsert_user(authorized(bad, &dir.token))
        .await
        .expect_err("invalid");
    assert_error(
        &status,
        Code::InvalidArgument,
        "VALIDATION_ERROR",
        "bad upsert",
    );
    let fields: Vec<String> = tonic_types::StatusExt::get_details_bad_request(&status)
        .expect("BadRequest")
        .field_violations
        .into_iter()
        .map(|v| v.field)
        .collect();
    assert_eq!(fields, ["user_id", "first_name", "email"]);
    let users: i64 = connect(&app.db.url())
        .await
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(users, 0, "nothing written");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn list_users_streams_ten_thousand_and_resumes_from_any_cursor() {
    let app = TestApp::spawn().await;
    let (workspace, token) = seed::workspace(&app.db, "acme").await;
    connect(&app.db.url())
        .await
        .execute(
            "INSERT INTO users (workspace_id, id, first_name, last_name, email, active)
             SELECT $1, gen_random_uuid(), 'User', 'No ' || n, 'user' || n || '@example.com', n % 10 <> 0
               FROM generate_series(1, 10000) AS n",
            &[&workspace.id],
        )
        .await
        .expect("seed users");
    let mut dir = Directory::new(&app, token).await;

    let all = dir.list_users(true, "", 0).await.expect("list all");
    assert_eq!(all.len(), 10_000);
    let ids: Vec<String> = all
        .iter()
        .map(|item| item.user.as_ref().expect("user").id.clone())
        .collect();
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(ids, sorted, "ordered by id, no duplicates");

    for midway in [0, 1, 4_321, 9_998, 9_999] {
        let rest = dir
            .list_users(true, &all[midway].cursor, 0)
            .await
            .expect("resume");
        let rest_ids: Vec<&str> = rest
            .iter()
            .map(|item| item.user.as_ref().expect("user").id.as_str())
            .collect();
        let expected: Vec<&str> = ids[midway + 1..].iter().map(String::as_str).collect();
        assert_eq!(rest_ids, expected, "resuming after item {midway}");
    }

    let page = dir
        .list_users(true, &all[99].cursor, 250)
        .await
        .expect("limited");
    assert_eq!(page.len(), 250);
    assert_eq!(
        page[0].user.as_ref().map(|u| u.id.as_str()),
        Some(ids[100].as_str())
    );

    let active = dir.list_users(false, "", 0).await.expect("active only");
    assert_eq!(active.len(), 9_000);
    assert!(
        active
            .iter()
            .all(|item| item.user.as_ref().is_some_and(|u| u.active))
    );

    // A cursor belongs to its query, and must arrive intact.
    let foreign = dir
        .list_users(false, &all[10].cursor, 0)
        .await
        .expect_err("cursor of another query");
    assert_error(
        &foreign,
        Code::InvalidArgument,
        "VALIDATION_ERROR",
        "foreign cursor",
    );
    let mut tampered = all[10].cursor.clone();
    tampered.insert(5, 'x');
    let status = dir
        .list_users(true, &tampered, 0)
        .await
        .expect_err("tampered cursor");
    assert_error(
        &status,
        Code::InvalidArgument,
        "VALIDATION_ERROR",
        "tampered cursor",
    );
    let status = dir
        .list_users(true, "", -1)
        .await
        .expect_err("negative limit");
    assert_error(
        &status,
        Code::InvalidArgument,
        "VALIDATION_ERROR",
        "negative limit",
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn channel_membership_changes_are_counted_and_all_or_nothing() {
    let app = TestApp::spawn().await;
    let (_, token) = seed::workspace(&app.db, "acme").await;
    let mut dir = Directory::new(&app, token).await;
    let (ada, alan, grace) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    for (id, name) in [(ada, "Ada"), (alan, "Alan"), (grace, "Grace")] {
        dir.upsert_user(id, name, "Test", None).await;
    }
    let channel = Uuid::new_v4();
    assert!(dir.upsert_channel(channel, "Support").await.created);
    let renamed = dir.upsert_channel(channel, "Customer support").await;
    assert!(!renamed.created);
    assert_eq!(
        renamed.channel.as_ref().map(|c| c.name.as_str()),
        Some("Customer support")
    );

    let added = dir
        .add_members(channel, &[(ada, true), (alan, false)])
        .await
        .expect("add");
    assert_eq!((added.added_count, added.updated_count), (2, 0));
    let counts = added.channel.expect("channel");
    assert_eq!((counts.member_count, counts.admin_count), (2, 1));

    let promoted = dir
        .add_members(channel, &[(alan, true), (grace, false)])
        .await
        .expect("upsert members");
    assert_eq!((promoted.added_count, promoted.updated_count), (1, 1));
    let replay = dir
        .add_members(channel, &[(alan, true)])
        .await
        .expect("replay");
    assert_eq!((replay.added_count, replay.updated_count), (0, 0));

    let status = dir
        .add_members(channel, &[(ada, false), (Uuid::new_v4(), false)])
        .await
        .expect_err("unknown user");
    assert_error(&status, Code::NotFound, "UNKNOWN_USER_ID", "unknown member");
    let status = dir
        .add_members(channel, &[(ada, false), (ada, true)])
        .await
        .expect_err("duplicate");
    assert_error(
        &status,
        Code::InvalidArgument,
        "VALIDATION_ERROR",
        "duplicate member",
    );
    let status = dir
        .add_members(Uuid::new_v4(), &[(ada, false)])
        .await
        .expect_err("unknown channel");
    assert_error(
        &status,
        Code::NotFound,
        "CHANNEL_NOT_FOUND",
        "unknown channel",
    );

    let members = dir.members(channel, "", 0).await.expect("members");
    let listed: Vec<(String, bool)> = members
        .iter()
        .map(|m| {
            let member = m.member.as_ref().expect("member");
            (
                member.user.as_ref().expect("user").first_name.clone(),
                member.admin,
            )
        })
        .collect();
    let mut expected = vec![
        (ada, "Ada".to_owned(), true),
        (alan, "Alan".into(), true),
        (grace, "Grace".into(), false),
    ];
    expected.sort_by_key(|(id, _, _)| *id);
    let expected: Vec<(String, bool)> = expected
        .into_iter()
        .map(|(_, name, admin)| (name, admin))
        .collect();
    assert_eq!(
        listed, expected,
        "the failed calls changed nothing; ordered by user id"
    );

    let rest = dir
        .members(channel, &members[0].cursor, 1)
        .await
        .expect("resume");
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].member, members[1].member);

    let request = pb::RemoveChannelMembersRequest {
        channel_id: channel.to_string(),
        user_ids: vec![ada.to_string(), Uuid::new_v4().to_string()],
    };
    let removed = dir
        .client
        .remove_channel_members(authorized(request, &dir.token))
        .await
        .expect("remove")
        .into_inner();
    assert_eq!(removed.removed_count, 1, "non-members are ignored");
    let counts = removed.channel.expect("channel");
    assert_eq!((counts.member_count, counts.admin_count), (2, 1));

    let got = dir
        .client
        .get_channel(authorized(
            pb::GetChannelRequest {
                channel_id: channel.to_string(),
            },
            &dir.token,
        ))
        .await
        .expect("get channel")
        .into_inner()
        .channel
        .expect("channel");
    assert_eq!(got.member_count, 2);
    app.stop().await;
}
