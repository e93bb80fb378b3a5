//! The wire at the input edge: a body that is not the method's request message is the caller's
//! error (INVALID_ARGUMENT `MALFORMED_REQUEST`), and a request with thousands of bad values gets
//! an error small enough for every gRPC client to read.

use docket::grpc::pb::{self, directory_service_client::DirectoryServiceClient};
use prost::Message;
use tonic::{Code, Status};

use crate::{
    edge::text::record,
    helpers::rpc::authorized,
    helpers::rpc::drain,
    helpers::{
        raw::{assert_error, call, call_without_message, violated_fields},
        team::{Team, titled},
    },
};

/// Hole 2 of issue 9: a body that is not the method's request message came back INTERNAL
/// "failed to decode Protobuf message" without an ErrorInfo.
#[tokio::test(flavor = "multi_thread")]
async fn undecodable_bodies_are_invalid_argument_with_a_reason() {
    let team = Team::new().await;
    let channel = team.app.channel().await;
    let truncated = {
        let mut bytes = titled("a title long enough to cut").encode_to_vec();
        bytes.truncate(bytes.len() - 3);
        bytes
    };
    // An unknown field opening groups 200 deep: past prost's recursion limit.
    let deep: Vec<u8> = std::iter::repeat_n([0x9b_u8, 0x06], 200)
        .flatten()
        .collect();
    let payloads: [(&str, Vec<u8>); 5] = [
        (
            "random bytes",
            vec![0xff, 0x13, 0x37, 0x00, 0xde, 0xad, 0xbe, 0xef],
        ),
        ("truncated", truncated),
        (
            "varint overflow",
            vec![
                0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
            ],
        ),
        ("deep nesting", deep),
        (
            "wrong wire type",
            vec![0x0d, 0x01, 0x02, 0x03, 0x04, 0x0a, 0xff],
        ),
    ];
    // Each method with a string field holding invalid UTF-8 (0xc3 0x28): its tag, then the
    // length-prefixed bytes (UpdateWorkspaceSettings' is inside its update_mask).
    let methods: [(&str, &[u8]); 6] = [
        (
            "/docket.v1.TaskService/CreateTask",
            &[0x0a, 0x02, 0xc3, 0x28],
        ),
        ("/docket.v1.TaskService/GetTask", &[0x0a, 0x02, 0xc3, 0x28]),
        (
            "/docket.v1.TaskService/ListTasks",
            &[0x22, 0x02, 0xc3, 0x28],
        ),
        (
            "/docket.v1.DirectoryService/UpsertUser",
            &[0x0a, 0x02, 0xc3, 0x28],
        ),
        (
            "/docket.v1.AssignmentService/CreateAssignment",
            &[0x0a, 0x02, 0xc3, 0x28],
        ),
        (
            "/docket.v1.WorkspaceService/UpdateWorkspaceSettings",
            &[0x12, 0x04, 0x0a, 0x02, 0xc3, 0x28],
        ),
    ];
    for (method, invalid_utf8) in methods {
        let cases = payloads
            .iter()
            .cloned()
            .chain([("invalid UTF-8 in a string", invalid_utf8.to_vec())]);
        for (case, payload) in cases {
            let status = call(channel.clone(), method, Some(&team.admin), payload)
                .await
                .expect_err(case);
            assert_error(
                &status,
                Code::InvalidArgument,
                "MALFORMED_REQUEST",
                &format!("{method}: {case}"),
            );
        }
    }
    team.app.stop().await;
}

/// Errors tonic answers before any Docket code runs carry Docket's ErrorInfo too: a unary call
/// with no request message (INTERNAL before), a message over the 4 MiB limit, a method the
/// service does not have.
#[tokio::test(flavor = "multi_thread")]
async fn errors_raised_below_the_handlers_carry_error_info() {
    let team = Team::new().await;
    let channel = team.app.channel().await;
    let status = call_without_message(
        channel.clone(),
        "/docket.v1.TaskService/GetTask",
        &team.admin,
    )
    .await;
    assert_error(
        &status,
        Code::InvalidArgument,
        "MALFORMED_REQUEST",
        "no message",
    );
    let huge = titled(&"x".repeat(5 * 1024 * 1024)).encode_to_vec();
    let status = call(
        channel.clone(),
        "/docket.v1.TaskService/CreateTask",
        Some(&team.admin),
        huge,
    )
    .await
    .expect_err("too large");
    assert_error(
        &status,
        Code::ResourceExhausted,
        "REQUEST_TOO_LARGE",
        "5 MiB",
    );
    let status = call(
        channel,
        "/docket.v1.TaskService/Frobnicate",
        Some(&team.admin),
        Vec::new(),
    )
    .await
    .expect_err("no such method");
    assert_error(
        &status,
        Code::Unimplemented,
        "UNIMPLEMENTED",
        "unknown method",
    );
    team.app.stop().await;
}

/// What an error costs in trailers on the wire: grpc-status, grpc-message and the encoded details.
fn trailer_bytes(status: &Status) -> usize {
    let mut headers = http::HeaderMap::new();
    status.add_header(&mut headers).expect("status headers");
    headers
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len())
        .sum()
}

/// Hole 3 of issue 9: each bad element of a repeated field got its own violation, so 1,000 bad ids
/// made 119 KB of trailers, which grpc-core clients drop (they see RESOURCE_EXHAUSTED instead). Sizes
/// are checked first, at most 20 violations are listed (the message says how many more), and
/// values echoed back are cut short.
#[tokio::test(flavor = "multi_thread")]
async fn errors_stay_small_whatever_the_request() {
    let team = Team::new().await;
    let token = &team.author.1;
    let admin = &team.admin;
    let mut tasks = team.client().await;
    let mut directory = DirectoryServiceClient::new(team.app.channel().await);
    let task = team.create(token, titled("Target")).await.expect("task");
    // Long values, each echoed back cut short; every request stays under the 4 MB message limit.
    let long = "é".repeat(1_000);
    let bad_ids =
        |n: usize| -> Vec<String> { (0..n).map(|i| format!("{}{i}", "é".repeat(50))).collect() };

    let mut statuses: Vec<(&str, Status)> = Vec::new();
    let many = pb::CountTasksRequest {
        assignee_user_ids: bad_ids(1_000),
        ..Default::default()
    };
    statuses.push((
        "1,000 bad user ids",
        team.count_tasks(token, many).await.expect_err("ids"),
    ));
    let hundred = pb::CountTasksRequest {
        assignee_user_ids: bad_ids(100),
        statuses: vec![99; 100],
        kinds: vec![long.clone(); 100],
        tags: vec![long.clone(); 30],
        ..Default::default()
    };
    let status = team
        .count_tasks(token, hundred)
        .await
        .expect_err("hundreds");
    let listed = violated_fields(&status).len();
    assert_eq!(listed, 20, "the first 20 violations");
    assert!(status.message().contains("more"), "{}", status.message());
    statuses.push(("hundreds of bad filter values", status));
    let request = pb::UpdateTaskRequest {
        task_id: task.id.clone(),
        task: Some(pb::TaskPatch::default()),
        update_mask: Some(prost_types::FieldMask {
            paths: bad_ids(1_000),
        }),
        ..Default::default()
    };
    let status = tasks
        .update_task(authorized(request, token))
        .await
        .expect_err("mask");
    statuses.push(("1,000 unknown mask paths", status));
    let request = pb::CreateTaskRequest {
        title: long.clone(),
        kind: long.clone(),
        tags: vec![long.clone(); 200],
        linked_records: vec![record(&long); 200],
        recipient_user_ids: bad_ids(2_000),
        recipient_channel_ids: bad_ids(2_000),
        external_id: long.clone(),
        correlation_id: long.clone(),
        request_id: long.clone(),
        body_formats: vec![42; 1_000],
        ..Default::default()
    };
    statuses.push((
        "every create field bad",
        team.create(token, request).await.expect_err("create"),
    ));
    let members = pb::AddChannelMembersRequest {
        channel_id: long.clone(),
        members: bad_ids(1_000)
            .into_iter()
            .map(|user_id| pb::ChannelMemberSpec {
                user_id,
                admin: false,
            })
            .collect(),
    };
    statuses.push((
        "1,000 bad members",
        directory
            .add_channel_members(authorized(members, admin))
            .await
            .expect_err("members"),
    ));
    let assignments = pb::BatchCreateAssignmentsRequest {
        task_id: long.clone(),
        user_ids: bad_ids(1_000),
    };
    statuses.push((
        "1,000 bad assignment users",
        team.assignments()
            .await
            .batch_create_assignments(authorized(assignments, token))
            .await
            .expect_err("batch"),
    ));
    for (case, status) in statuses {
        assert_error(&status, Code::InvalidArgument, "VALIDATION_ERROR", case);
        assert!(violated_fields(&status).len() <= 20, "{case}");
        let size = trailer_bytes(&status);
        assert!(size < 6 * 1024, "{case}: {size} bytes of trailers");
    }
    team.app.stop().await;
}

/// A cursor re-signed with another key: cursors are not secret (they hold only sort keys the
/// caller has seen), so anyone can forge one; what is inside must still be checked.
fn forged(cursor: &str, key: serde_json::Value) -> String {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    use sha2::{Digest, Sha256};
    let (body, _) = cursor.split_once('.').expect("a cursor");
    let mut payload: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(body).expect("base64")).expect("json");
    payload["k"] = key;
    let json = serde_json::to_vec(&payload).expect("json");
    let mut hasher = Sha256::new();
    hasher.update(b"docket.cursor.v1");
    hasher.update(&json);
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(&json),
        URL_SAFE_NO_PAD.encode(&hasher.finalize()[..8])
    )
}

/// Forged cursors whose keys PostgreSQL would refuse (a NUL in a name, an instant outside its
/// range) are the caller's error, not INTERNAL.
#[tokio::test(flavor = "multi_thread")]
async fn forged_cursors_with_impossible_keys_are_refused() {
    let team = Team::new().await;
    let token = &team.author.1;
    let task = team.distributed(&[team.alice.0]).await;
    let mut assignments = team.assignments().await;
    let by_name = |page_cursor: String| pb::ListTaskAssignmentsRequest {
        task_id: task.id.clone(),
        sort: pb::TaskAssignmentSort::LastnameAsc as i32,
        page_cursor,
        page_limit: 1,
        ..Default::default()
    };
    let first = assignments
        .list_task_assignments(authorized(by_name(String::new()), token))
        .await
        .expect("list")
        .into_inner()
        .message()
        .await
        .expect("stream")
        .expect("one item");
    let listed = team
        .list(
            token,
            pb::ListTasksRequest {
                page_limit: 1,
                ..Default::default()
            },
        )
        .await
        .expect("list");
    let id = uuid::Uuid::nil().to_string();
    let cases = [
        (
            "a NUL in a name",
            forged(
                &first.cursor,
                serde_json::json!({ "Name": ["a\u{0}b", id] }),
            ),
        ),
        (
            "an instant PostgreSQL cannot hold",
            forged(
                &listed[0].1,
                serde_json::json!({ "At": ["-200000-01-01T00:00:00Z", id] }),
            ),
        ),
    ];
    let listing = assignments
        .list_task_assignments(authorized(by_name(cases[0].1.clone()), token))
        .await;
    let status = match listing {
        Ok(stream) => drain(stream.into_inner()).await.expect_err(cases[0].0),
        Err(status) => status,
    };
    assert_error(
        &status,
        Code::InvalidArgument,
        "VALIDATION_ERROR",
        cases[0].0,
    );
    let request = pb::ListTasksRequest {
        page_cursor: cases[1].1.clone(),
        ..Default::default()
    };
    let status = team.list(token, request).await.expect_err(cases[1].0);
    assert_error(
        &status,
        Code::InvalidArgument,
        "VALIDATION_ERROR",
        cases[1].0,
    );
    team.app.stop().await;
}
