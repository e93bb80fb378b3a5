//! Generative: every RPC in the protos, fed arbitrary and mutated requests against a real server.
//! Requests are random bytes, structurally valid messages built from the method's descriptor
//! (strings, numbers, enum values, nested messages and list lengths drawn from pools of real ids,
//! hostile text and boundary values), and such messages with bytes flipped, cut or added. Whatever
//! is sent, no answer may be INTERNAL or UNKNOWN, every error must carry Docket's ErrorInfo, and
//! no call may hang or take the server down.
//!
//! `DOCKET_FUZZ_CASES` sets the number of requests (default 3,000, a few seconds);
//! `DOCKET_FUZZ_SEED` replays a run (the seed is printed).

use std::time::Duration;

use docket::grpc::pb::{self, methods::METHOD_SCOPES};
use futures_util::{StreamExt, stream};
use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, Kind, MessageDescriptor, Value};
use rand::{Rng, SeedableRng, rngs::StdRng, seq::IndexedRandom};
use tonic::{Code, Status, transport::Channel};
use tonic_types::StatusExt;

use crate::helpers::{
    app::auth_config,
    database::connect,
    raw::call,
    team::{Team, titled},
};

const DEFAULT_CASES: usize = 3_000;
const CONCURRENCY: usize = 8;
/// Requests between two refreshes of the fixture (random calls deactivate users, delete tasks and
/// switch assignments off, which would leave later calls with less to reach).
const ROUND: usize = 500;

/// What the generator draws from: the fixture's real ids and tokens, and hostile values.
struct Pools {
    tokens: Vec<String>,
    ids: Vec<String>,
    cursors: Vec<String>,
}

#[tokio::test(flavor = "multi_thread")]
async fn no_request_gets_internal_or_an_error_without_error_info() {
    let cases: usize = std::env::var("DOCKET_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    let seed: u64 = std::env::var("DOCKET_FUZZ_SEED")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(rand::random);
    println!("generative: {cases} cases, DOCKET_FUZZ_SEED={seed}");
    let descriptors =
        DescriptorPool::decode(pb::FILE_DESCRIPTOR_SET).expect("Docket's descriptor set");
    let methods: Vec<(&str, MessageDescriptor)> = METHOD_SCOPES
        .iter()
        .map(|(path, _)| {
            let (service, method) = path[1..].split_once('/').expect("a gRPC path");
            let input = descriptors
                .get_service_by_name(service)
                .and_then(|s| s.methods().find(|m| m.name() == method))
                .expect("the method's descriptor")
                .input();
            (*path, input)
        })
        .collect();

    let team = Team::new().await;
    let mut failures = Vec::new();
    let mut answers = std::collections::BTreeMap::<String, usize>::new();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut done = 0;
    while done < cases {
        let pools = refresh(&team).await;
        let round: Vec<(String, Vec<u8>, String, &'static str)> = (0..ROUND.min(cases - done))
            .map(|_| {
                let (path, input) = methods.choose(&mut rng).expect("methods");
                let (kind, payload) = request(&mut rng, input, &pools);
                let token = pools.tokens.choose(&mut rng).expect("tokens").clone();
                (path.to_string(), payload, token, kind)
            })
            .collect();
        done += round.len();
        let channel = team.app.channel().await;
        let outcomes: Vec<(Code, Option<String>)> = stream::iter(round)
            .map(|(path, payload, token, kind)| {
                let channel = channel.clone();
                async move { check(channel, &path, &token, payload, kind).await }
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        for (code, failure) in outcomes {
            *answers.entry(format!("{code:?}")).or_insert(0) += 1;
            failures.extend(failure);
        }
    }
    println!("generative: answers by code: {answers:?}");
    assert!(
        failures.is_empty(),
        "{} of {cases} requests failed (DOCKET_FUZZ_SEED={seed}); the first:\n{}",
        failures.len(),
        failures[..failures.len().min(10)].join("\n")
    );
    // And the server still answers. The last round's random calls may have deactivated the
    // author (DeactivateUser is one of the methods), so reactivate the fixture first.
    refresh(&team).await;
    team.create(&team.author.1, titled("Still here"))
        .await
        .expect("the server survives");
    team.app.stop().await;
}

/// One request: the code it got, and what went wrong, if anything did.
async fn check(
    channel: Channel,
    path: &str,
    token: &str,
    payload: Vec<u8>,
    kind: &str,
) -> (Code, Option<String>) {
    let shown: String = payload
        .iter()
        .take(48)
        .map(|b| format!("{b:02x}"))
        .collect();
    let describe = |what: String| format!("{path} ({kind}, {shown}…): {what}");
    let result = tokio::time::timeout(
        Duration::from_secs(20),
        call(channel, path, Some(token), payload),
    )
    .await;
    let status: Status = match result {
        Err(_) => {
            return (
                Code::DeadlineExceeded,
                Some(describe("no answer in 20 s".into())),
            );
        }
        Ok(Ok(_)) => return (Code::Ok, None),
        Ok(Err(status)) => status,
    };
    let failure = if matches!(status.code(), Code::Internal | Code::Unknown) {
        Some(describe(format!("{status:?}")))
    } else {
        match status.get_details_error_info() {
            Some(info) if info.domain == "docket.v1" && !info.reason.is_empty() => None,
            _ => Some(describe(format!("no Docket ErrorInfo: {status:?}"))),
        }
    };
    (status.code(), failure)
}

/// Brings the fixture back to a workspace with work in it, and collects what requests draw from.
async fn refresh(team: &Team) -> Pools {
    let db = connect(&team.app.db.url()).await;
    db.batch_execute(
        "UPDATE workspaces SET assignments_enabled = true; UPDATE users SET active = true;",
    )
    .await
    .expect("refresh the fixture");
    // Tokens of users a random call deactivated stay refused until the auth cache forgets them.
    tokio::time::sleep(auth_config().auth_cache_ttl + Duration::from_millis(100)).await;
    let mut ids = vec![
        team.author.0.to_string(),
        team.alice.0.to_string(),
        team.outsider.0.to_string(),
        team.inactive.to_string(),
        team.channel.to_string(),
    ];
    for (index, recipients) in [
        vec![],
        vec![team.alice.0],
        vec![team.alice.0, team.outsider.0],
    ]
    .into_iter()
    .enumerate()
    {
        let request = pb::CreateTaskRequest {
            recipient_user_ids: recipients.iter().map(ToString::to_string).collect(),
            tags: vec!["generative".into()],
            sequence_id: team.channel.to_string(),
            ..titled(&format!("Fixture {index}"))
        };
        ids.push(team.create(&team.author.1, request).await.expect("task").id);
    }
    // Templates to reach: one recurring (so that the controls find a schedule), one not.
    for schedule in [
        None,
        Some(pb::TaskSchedule {
            rrule: "FREQ=WEEKLY;BYDAY=MO".into(),
            time_zone: "Europe/Berlin".into(),
            start: "2030-01-07T09:00".into(),
            ..Default::default()
        }),
    ] {
        let request = pb::CreateTaskTemplateRequest {
            name: "Fixture".into(),
            task: Some(pb::TaskTemplateFields {
                title: "From a template".into(),
                recipient_user_ids: vec![team.alice.0.to_string()],
                ..Default::default()
            }),
            schedule,
        };
        let template = pb::task_template_service_client::TaskTemplateServiceClient::new(
            team.app.channel().await,
        )
        .create_task_template(crate::helpers::rpc::authorized(request, &team.author.1))
        .await
        .expect("a template")
        .into_inner()
        .template
        .expect("template");
        ids.push(template.id);
    }
    for row in db
        .query(
            "SELECT id::text FROM assignments UNION SELECT id::text FROM workspaces",
            &[],
        )
        .await
        .expect("ids")
    {
        ids.push(row.get(0));
    }
    let cursors = team
        .list(&team.author.1, pb::ListTasksRequest::default())
        .await
        .map(|items| items.into_iter().map(|(_, cursor)| cursor).collect())
        .unwrap_or_default();
    Pools {
        tokens: vec![
            team.admin.clone(),
            team.author.1.clone(),
            team.alice.1.clone(),
        ],
        ids,
        cursors,
    }
}

/// A request body for a method: what kind of case, and its bytes.
fn request(rng: &mut StdRng, input: &MessageDescriptor, pools: &Pools) -> (&'static str, Vec<u8>) {
    match rng.random_range(0..10) {
        0 => {
            let length = rng.random_range(0..64);
            ("random bytes", (0..length).map(|_| rng.random()).collect())
        }
        1..=2 => {
            let valid = message(rng, input, pools, 0);
            ("mutated message", mutate(rng, valid))
        }
        _ => ("generated message", message(rng, input, pools, 0)),
    }
}

/// A message of the descriptor's type, each field set or not, with values from the pools.
fn message(rng: &mut StdRng, desc: &MessageDescriptor, pools: &Pools, depth: usize) -> Vec<u8> {
    build(rng, desc, pools, depth).encode_to_vec()
}

fn build(
    rng: &mut StdRng,
    desc: &MessageDescriptor,
    pools: &Pools,
    depth: usize,
) -> DynamicMessage {
    let mut message = DynamicMessage::new(desc.clone());
    for field in desc.fields() {
        if field.is_map() || rng.random_bool(0.4) {
            continue;
        }
        let name = field.name().to_owned();
        let value = if field.is_list() {
            let length = *[0, 1, 2, 3, 5, 30, 150, 1_100]
                .choose(rng)
                .expect("lengths");
            let length = if depth > 0 { length.min(3) } else { length };
            Value::List(
                (0..length)
                    .map(|_| value(rng, &field.kind(), &name, pools, depth))
                    .collect(),
            )
        } else {
            value(rng, &field.kind(), &name, pools, depth)
        };
        message.set_field(&field, value);
    }
    message
}

fn value(rng: &mut StdRng, kind: &Kind, name: &str, pools: &Pools, depth: usize) -> Value {
    match kind {
        Kind::String => Value::String(text(rng, name, pools)),
        Kind::Bytes => Value::Bytes(
            (0..rng.random_range(0..16))
                .map(|_| rng.random::<u8>())
                .collect::<Vec<_>>()
                .into(),
        ),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => Value::I32(
            *[0, 1, 2, 31, -1, 12, 1_000, i32::MAX, i32::MIN]
                .choose(rng)
                .expect("i32"),
        ),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => Value::I64(
            *[
                0,
                1,
                -1,
                1_700_000_000,
                253_402_300_800,
                -62_135_596_801,
                i64::MAX,
                i64::MIN,
            ]
            .choose(rng)
            .expect("i64"),
        ),
        Kind::Uint32 | Kind::Fixed32 => Value::U32(rng.random()),
        Kind::Uint64 | Kind::Fixed64 => Value::U64(rng.random()),
        Kind::Bool => Value::Bool(rng.random()),
        Kind::Float => Value::F32(rng.random()),
        Kind::Double => Value::F64(rng.random()),
        Kind::Enum(enumeration) => {
            let known: Vec<i32> = enumeration.values().map(|v| v.number()).collect();
            let number = if rng.random_bool(0.85) {
                *known.choose(rng).expect("values")
            } else {
                *[-1, 99, i32::MAX].choose(rng).expect("unknown")
            };
            Value::EnumNumber(number)
        }
        Kind::Message(desc) if depth >= 3 => Value::Message(DynamicMessage::new(desc.clone())),
        Kind::Message(desc) => Value::Message(build(rng, desc, pools, depth + 1)),
    }
}

/// A string for a field, mostly what its name suggests, sometimes anything at all.
fn text(rng: &mut StdRng, name: &str, pools: &Pools) -> String {
    const HOSTILE: &[&str] = &[
        "",
        " ",
        "nope",
        "a\u{0}b",
        "\u{0}",
        "tab\there",
        "line\nbreak",
        "\u{1b}[31mred",
        "\u{7f}\u{85}\u{9f}",
        "🎉 ✓ ﷽",
        "\u{202e}reversed",
        "#1",
        "#0",
        "-5",
        "99999999999999999999",
        "' OR 1=1 --",
        "<script>alert(1)</script>",
        "people",
        "CALL",
        "x@example.com",
        "title",
        "assignments_enabled",
        "00000000-0000-0000-0000-000000000000",
    ];
    if rng.random_bool(0.25) {
        return match rng.random_range(0..4) {
            0 => "x".repeat(*[65, 201, 501, 10_001].choose(rng).expect("lengths")),
            1 => "é".repeat(300),
            2 => uuid::Uuid::new_v4().to_string(),
            _ => HOSTILE.choose(rng).expect("hostile").to_string(),
        };
    }
    let suggested: Option<&[String]> = if name.ends_with("id") || name.ends_with("ids") {
        Some(&pools.ids)
    } else if name.contains("cursor") {
        Some(&pools.cursors)
    } else {
        None
    };
    match suggested.and_then(|pool| pool.choose(rng)) {
        Some(value) => value.clone(),
        None => match name {
            "html" => "<p>Hi <b>there</b> <a href=\"javascript:x\">x</a>&#7;</p>".into(),
            "delta" => r#"{"ops":[{"insert":"Hi\n","attributes":{"bold":true}}]}"#.into(),
            "email" => "someone@example.com".into(),
            "kind" | "kinds" => "CALL".into(),
            "object" => "people".into(),
            "paths" => ["title", "tags", "due", "colour", "assignments_enabled"]
                .choose(rng)
                .expect("paths")
                .to_string(),
            _ => HOSTILE.choose(rng).expect("hostile").to_string(),
        },
    }
}

/// A valid encoding damaged: bytes flipped, cut short, or random bytes added.
fn mutate(rng: &mut StdRng, mut bytes: Vec<u8>) -> Vec<u8> {
    for _ in 0..rng.random_range(1..4) {
        match rng.random_range(0..3) {
            0 if !bytes.is_empty() => {
                let at = rng.random_range(0..bytes.len());
                bytes[at] ^= 1 << rng.random_range(0..8);
            }
            1 if !bytes.is_empty() => bytes.truncate(rng.random_range(0..bytes.len())),
            _ => {
                let at = rng.random_range(0..=bytes.len());
                let noise: Vec<u8> = (0..rng.random_range(1..8)).map(|_| rng.random()).collect();
                bytes.splice(at..at, noise);
            }
        }
    }
    bytes
}
