//! ListTasks and CountTasks: every filter and sort, alone and combined, against expectations this
//! test computes itself from the tasks it created; resuming from cursors; refusing bad filters and
//! foreign or edited cursors.

mod bodies;
mod cases;
mod fixture;
mod model;
mod plans;

use docket::grpc::pb;
use tonic::Code;

use crate::helpers::{
    raw::{assert_error, violated_fields},
    team::{Team, titled},
};
use cases::{SORTS, single_filters};
use fixture::*;
use model::*;

#[tokio::test(flavor = "multi_thread")]
async fn every_filter_and_sort_alone_and_combined_matches_an_independent_model() {
    let f = Fixture::new().await;

    // Every sort, unfiltered, for each kind of caller.
    for who in [Who::Author, Who::Alice, Who::Admin, Who::Outsider] {
        for sort in SORTS {
            let request = pb::ListTasksRequest {
                sort: sort as i32,
                ..Default::default()
            };
            f.check(who, request, &|_| true).await;
        }
    }

    // Distribution kinds, alone and in pairs.
    use pb::DistributionKind::{Distributed, Personal, Received};
    for kinds in [
        vec![Personal],
        vec![Distributed],
        vec![Received],
        vec![Personal, Received],
        vec![Distributed, Received],
        vec![Personal, Distributed, Received],
    ] {
        for who in [Who::Author, Who::Alice, Who::Admin] {
            let request = pb::ListTasksRequest {
                distribution_kinds: kinds.iter().map(|k| *k as i32).collect(),
                sort: pb::TaskSort::NumberAsc as i32,
                ..Default::default()
            };
            f.check(who, request, &|_| true).await;
        }
    }

    // Each filter alone, under two sorts each (all sorts covered across the filters), for the
    // author and for the admin who sees the whole workspace.
    let cases = single_filters();
    for (index, (name, request, matches)) in cases.iter().enumerate() {
        for who in [Who::Author, Who::Admin] {
            for sort in [SORTS[index % SORTS.len()], SORTS[(index + 5) % SORTS.len()]] {
                let request = pb::ListTasksRequest {
                    sort: sort as i32,
                    ..request(&f)
                };
                let expected = f.expected(who, &request, &|k| matches(&f, k));
                assert!(
                    who != Who::Admin || !expected.is_empty(),
                    "{name}: the data set must give the admin something to find"
                );
                f.check(who, request, &|k| matches(&f, k)).await;
            }
        }
    }

    // Pairs and triples of filters: every request's fields merged, every meaning ANDed.
    for (a, b, c) in [
        (0, 6, 16),
        (1, 3, 12),
        (2, 7, 14),
        (5, 9, 15),
        (10, 11, 13),
        (4, 8, 1),
    ] {
        for (who, sort) in [
            (Who::Admin, pb::TaskSort::DueAsc),
            (Who::Author, pb::TaskSort::PriorityDesc),
            (Who::Alice, pb::TaskSort::UpdatedAtDesc),
        ] {
            for pick in [vec![a, b], vec![a, b, c]] {
                let mut request = pb::ListTasksRequest {
                    sort: sort as i32,
                    ..Default::default()
                };
                for &i in &pick {
                    merge(&mut request, cases[i].1(&f));
                }
                let all = |k: &Known| pick.iter().all(|&i| (cases[i].2)(&f, k));
                f.check(who, request, &all).await;
            }
        }
    }
    f.team.app.stop().await;
}

/// `into` with every filter `from` sets.
fn merge(into: &mut pb::ListTasksRequest, from: pb::ListTasksRequest) {
    let d = pb::ListTasksRequest::default();
    macro_rules! take {
        ($($field:ident),*) => { $( if from.$field != d.$field { into.$field = from.$field.clone(); } )* };
    }
    take!(
        distribution_kinds,
        statuses,
        priorities,
        kinds,
        assignee_user_ids,
        include_unassigned,
        tags,
        linked_record,
        sequence_id,
        external_id,
        correlation_id,
        due_before,
        due_after,
        created_before,
        created_after,
        query,
        follow_up_before,
        follow_up_after,
        snoozed
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn foreign_edited_and_malformed_requests_are_invalid_arguments() {
    let team = Team::new().await;
    for i in 0..3 {
        team.create(&team.author.1, titled(&format!("Task {i}")))
            .await
            .expect("create");
    }
    let token = &team.author.1;
    let by_number = pb::ListTasksRequest {
        sort: pb::TaskSort::NumberAsc as i32,
        ..Default::default()
    };
    let items = team.list(token, by_number.clone()).await.expect("list");
    let cursor = items[0].1.clone();

    let mut edited = cursor.clone().into_bytes();
    edited[5] = if edited[5] == b'A' { b'B' } else { b'A' };
    let edited = String::from_utf8(edited).expect("ascii");
    let bad_cursors = [
        (
            "another sort",
            pb::ListTasksRequest {
                sort: pb::TaskSort::NumberDesc as i32,
                page_cursor: cursor.clone(),
                ..Default::default()
            },
        ),
        (
            "another filter",
            pb::ListTasksRequest {
                statuses: vec![pb::TaskStatus::New as i32],
                page_cursor: cursor.clone(),
                ..by_number.clone()
            },
        ),
        (
            "edited",
            pb::ListTasksRequest {
                page_cursor: edited,
                ..by_number.clone()
            },
        ),
        (
            "not a cursor",
            pb::ListTasksRequest {
                page_cursor: "hello".into(),
                ..by_number.clone()
            },
        ),
    ];
    for (name, request) in bad_cursors {
        let status = team.list(token, request).await.expect_err(name);
        assert_error(&status, Code::InvalidArgument, "VALIDATION_ERROR", name);
        assert_eq!(violated_fields(&status), ["page_cursor"], "{name}");
    }
    // Someone else's cursor for the same filters is someone else's listing.
    let status = team
        .list(
            &team.alice.1,
            pb::ListTasksRequest {
                page_cursor: cursor,
                ..by_number.clone()
            },
        )
        .await
        .expect_err("another caller's cursor");
    assert_error(
        &status,
        Code::InvalidArgument,
        "VALIDATION_ERROR",
        "another caller's cursor",
    );

    let bad_filters: Vec<(pb::ListTasksRequest, &[&str])> = vec![
        (
            pb::ListTasksRequest {
                statuses: vec![pb::TaskStatus::Unspecified as i32, 99],
                ..Default::default()
            },
            &["statuses[0]", "statuses[1]"],
        ),
        (
            pb::ListTasksRequest {
                priorities: vec![42],
                distribution_kinds: vec![7],
                ..Default::default()
            },
            &["distribution_kinds[0]", "priorities[0]"],
        ),
        (
            pb::ListTasksRequest {
                assignee_user_ids: vec!["not-a-uuid".into()],
                sequence_id: "nope".into(),
                ..Default::default()
            },
            &["assignee_user_ids[0]", "sequence_id"],
        ),
        (
            pb::ListTasksRequest {
                kinds: vec!["call".into()],
                tags: vec!["x".repeat(65)],
                ..Default::default()
            },
            &["kinds[0]", "tags[0]"],
        ),
        (
            pb::ListTasksRequest {
                query: "q".repeat(201),
                linked_record: Some(record("People", "")),
                ..Default::default()
            },
            &["linked_record.object", "linked_record.record_id", "query"],
        ),
        (
            pb::ListTasksRequest {
                sort: 77,
                page_limit: -1,
                body_formats: vec![9],
                due_before: Some(prost_types::Timestamp {
                    seconds: 0,
                    nanos: -5,
                }),
                ..Default::default()
            },
            &["body_formats[0]", "due_before", "page_limit", "sort"],
        ),
    ];
    for (request, fields) in bad_filters {
        let status = team
            .list(token, request.clone())
            .await
            .expect_err("bad filter");
        assert_error(
            &status,
            Code::InvalidArgument,
            "VALIDATION_ERROR",
            &format!("{request:?}"),
        );
        let mut got = violated_fields(&status);
        got.sort();
        assert_eq!(got, fields, "{request:?}");
        if request.sort == 0 && request.body_formats.is_empty() {
            let status = team
                .count_tasks(token, count_request(&request))
                .await
                .expect_err("bad count filter");
            assert_error(
                &status,
                Code::InvalidArgument,
                "VALIDATION_ERROR",
                "CountTasks",
            );
        }
    }
    team.app.stop().await;
}
