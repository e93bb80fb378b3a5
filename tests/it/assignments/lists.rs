//! AssignmentService streams: a recipient's assignments over 5,000 items resumed from cursors, and
//! a task's assignments sorted by name with ties broken by id.

use docket::grpc::pb::{self};
use uuid::Uuid;

use crate::{
    helpers::rpc::Directory,
    helpers::rpc::authorized,
    helpers::{
        database::connect,
        team::{Team, titled},
        team_assignments::summary,
    },
};

#[tokio::test(flavor = "multi_thread")]
async fn my_assignments_stream_5000_items_and_resume_without_duplicates_or_gaps() {
    let team = Team::new().await;
    let db = connect(&team.app.db.url()).await;
    // 5,000 tasks from the author to Alice, created in groups of three sharing a timestamp (ties
    // broken by assignment id).
    db.batch_execute(&format!(
        "INSERT INTO tasks (workspace_id, id, number, title, kind, completion_policy, distributed,
                            created_by_type, created_by_id)
         SELECT w.id, gen_random_uuid(), next_task_number(w.id), 'Bulk ' || i, 'GENERAL', 'ALL',
                true, 'USER', '{author}'
         FROM workspaces w, generate_series(1, 5000) i WHERE w.name = 'acme';
         INSERT INTO assignments (workspace_id, id, task_id, user_id, created_at, updated_at)
         SELECT t.workspace_id, gen_random_uuid(), t.id, '{alice}',
                timestamptz '2026-01-01' + (t.number / 3) * interval '1 second',
                timestamptz '2026-01-01' + (t.number / 3) * interval '1 second'
         FROM tasks t;",
        author = team.author.0,
        alice = team.alice.0,
    ))
    .await
    .expect("seed");
    let expected: Vec<String> = db
        .query(
            "SELECT id FROM assignments WHERE user_id = $1 ORDER BY created_at, id",
            &[&team.alice.0],
        )
        .await
        .expect("expected")
        .into_iter()
        .map(|row| row.get::<_, Uuid>(0).to_string())
        .collect();
    assert_eq!(expected.len(), 5000);
    // Alice's own task is PERSONAL, not RECEIVED.
    let own = team
        .create(&team.alice.1, titled("Mine"))
        .await
        .expect("own");

    let mut client = team.assignments().await;
    let mut list = async |cursor: String, limit: i32, kinds: Vec<pb::DistributionKind>| {
        let request = pb::ListMyAssignmentsRequest {
            distribution_kinds: kinds.into_iter().map(|k| k as i32).collect(),
            sort: pb::MyAssignmentSort::CreatedAtAsc as i32,
            body_formats: vec![pb::BodyFormat::Plain as i32],
            page_cursor: cursor,
            page_limit: limit,
            ..Default::default()
        };
        let stream = client
            .list_my_assignments(authorized(request, &team.alice.1))
            .await
            .expect("list");
        crate::helpers::rpc::drain(stream.into_inner())
            .await
            .expect("stream")
    };
    let received = vec![pb::DistributionKind::Received];
    let all = list(String::new(), 0, received.clone()).await;
    let ids: Vec<String> = all
        .iter()
        .map(|i| i.assignment.as_ref().expect("assignment").id.clone())
        .collect();
    assert_eq!(ids, expected);
    let first = all[0].task.as_ref().expect("task");
    assert_eq!(
        first.distribution_kind,
        pb::DistributionKind::Received as i32
    );
    assert!(first.assignment_summary.is_none(), "for the author only");

    // In chunks of 700, each resumed from the last item's cursor.
    let mut walked = Vec::new();
    let mut cursor = String::new();
    loop {
        let chunk = list(cursor.clone(), 700, received.clone()).await;
        let Some(last) = chunk.last() else { break };
        cursor = last.cursor.clone();
        walked.extend(
            chunk
                .iter()
                .map(|i| i.assignment.as_ref().expect("assignment").id.clone()),
        );
    }
    assert_eq!(walked, expected, "no duplicate, no gap");

    let personal = list(String::new(), 0, vec![pb::DistributionKind::Personal]).await;
    assert_eq!(personal.len(), 1);
    assert_eq!(personal[0].task.as_ref().expect("task").id, own.id);
    let both = list(
        String::new(),
        0,
        vec![
            pb::DistributionKind::Personal,
            pb::DistributionKind::Received,
        ],
    )
    .await;
    assert_eq!(both.len(), 5001);

    let counts = client
        .get_my_assignments_summary(authorized(
            pb::GetMyAssignmentsSummaryRequest {
                distribution_kinds: vec![pb::DistributionKind::Received as i32],
            },
            &team.alice.1,
        ))
        .await
        .expect("summary")
        .into_inner()
        .assignment_summary;
    assert_eq!(summary(counts), (5000, 0, 0, 5000));
    team.app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn task_assignments_sort_by_name_stably_embed_users_and_filter_progress() {
    let team = Team::new().await;
    let mut dir = Directory::new(&team.app, team.admin.clone()).await;
    let names = [
        ("Zoe", "Smith"),
        ("Adam", "Smith"),
        ("Bea", "Jones"),
        ("Adam", "Adams"),
        ("Adam", "Smith"),
        ("Carl", "Jones"),
    ];
    let mut users = Vec::new();
    for (first, last) in names {
        let id = Uuid::new_v4();
        dir.upsert_user(id, first, last, Some(true)).await;
        users.push(id);
    }
    let task = team.distributed(&users).await;
    let all = team.task_assignments(&task.id).await;
    let name_of = |a: &pb::Assignment| {
        let i = users
            .iter()
            .position(|u| u.to_string() == a.user_id)
            .expect("ours");
        names[i]
    };
    let mut client = team.assignments().await;
    for (sort, key) in [
        (pb::TaskAssignmentSort::LastnameAsc, 1usize),
        (pb::TaskAssignmentSort::LastnameDesc, 1),
        (pb::TaskAssignmentSort::FirstnameAsc, 0),
        (pb::TaskAssignmentSort::FirstnameDesc, 0),
    ] {
        let mut expected = all.clone();
        expected.sort_by(|a, b| {
            let (na, nb) = (name_of(a), name_of(b));
            let (ka, kb) = if key == 1 { (na.1, nb.1) } else { (na.0, nb.0) };
            ka.cmp(kb).then_with(|| a.id.cmp(&b.id))
        });
        if matches!(
            sort,
            pb::TaskAssignmentSort::LastnameDesc | pb::TaskAssignmentSort::FirstnameDesc
        ) {
            expected.reverse();
        }
        let expected: Vec<String> = expected.into_iter().map(|a| a.id).collect();
        let mut walked = Vec::new();
        let mut cursor = String::new();
        loop {
            let request = pb::ListTaskAssignmentsRequest {
                task_id: task.id.clone(),
                embed: vec![pb::AssignmentEmbed::User as i32],
                sort: sort as i32,
                page_cursor: cursor.clone(),
                page_limit: 2,
                ..Default::default()
            };
            let stream = client
                .list_task_assignments(authorized(request, &team.author.1))
                .await
                .expect("list");
            let chunk = crate::helpers::rpc::drain(stream.into_inner())
                .await
                .expect("stream");
            let Some(last) = chunk.last() else { break };
            cursor = last.cursor.clone();
            for item in chunk {
                let assignment = item.assignment.expect("assignment");
                let recipient = assignment.recipient.as_ref().expect("embedded");
                assert_eq!(
                    (recipient.first_name.as_str(), recipient.last_name.as_str()),
                    name_of(&assignment)
                );
                walked.push(assignment.id);
            }
        }
        assert_eq!(walked, expected, "{sort:?}");
    }
    assert!(
        all.iter().all(|a| a.recipient.is_none()),
        "profiles only when asked for"
    );

    // Progress filter: finish one (its recipient's token is made for the test).
    let finished = &all[0];
    let recipient: Uuid = finished.user_id.parse().expect("uuid");
    let token = team.user_token(recipient).await;
    team.finish(&token, &finished.id).await.expect("finish");
    let request = pb::ListTaskAssignmentsRequest {
        task_id: task.id.clone(),
        progress_statuses: vec![pb::ProgressStatus::Finished as i32],
        ..Default::default()
    };
    let stream = client
        .list_task_assignments(authorized(request, &team.author.1))
        .await
        .expect("list");
    let only: Vec<String> = crate::helpers::rpc::drain(stream.into_inner())
        .await
        .expect("stream")
        .into_iter()
        .filter_map(|i| i.assignment.map(|a| a.id))
        .collect();
    assert_eq!(only, vec![finished.id.clone()]);
    let counts = client
        .get_task_assignments_summary(authorized(
            pb::GetTaskAssignmentsSummaryRequest {
                task_id: task.id.clone(),
            },
            &team.author.1,
        ))
        .await
        .expect("summary")
        .into_inner()
        .assignment_summary;
    assert_eq!(summary(counts), (5, 0, 1, 6));
    team.app.stop().await;
}
