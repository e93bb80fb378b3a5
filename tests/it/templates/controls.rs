//! Controlling a schedule: pause, resume, skip the next occurrence (once, even when retried),
//! end the series; what each refuses and the events they record.

use docket::grpc::pb::{self, directory_service_client::DirectoryServiceClient};
use tonic::Code;

use super::{client, create, database, fields, instant, schedule};
use crate::helpers::{raw::assert_error, rpc::authorized, team::Team};

#[tokio::test(flavor = "multi_thread")]
async fn a_schedule_is_paused_resumed_skipped_and_ended_by_its_author() {
    let team = Team::new().await;
    let token = &team.author.1;
    let template = create(
        &team,
        token,
        "Monthly",
        fields("Invoice check"),
        Some(schedule(
            "FREQ=MONTHLY;BYDAY=-1FR",
            "America/New_York",
            "2030-01-25T17:00",
        )),
    )
    .await
    .expect("create");
    let mut api = client(&team).await;
    let id = template.id.clone();
    let status = |t: &pb::TaskTemplate| t.schedule_status.clone().expect("status");
    let next_of = |t: &pb::TaskTemplate| status(t).next_occurrence_at.map(|n| instant(&n));
    assert_eq!(
        next_of(&template).map(|n| n.to_rfc3339()),
        Some("2030-01-25T22:00:00+00:00".into())
    );

    let skipped = api
        .skip_next_occurrence(authorized(
            pb::SkipNextOccurrenceRequest {
                template_id: id.clone(),
                scheduled_for: template
                    .schedule_status
                    .as_ref()
                    .and_then(|s| s.next_occurrence_at),
            },
            token,
        ))
        .await
        .expect("skip")
        .into_inner()
        .template
        .expect("template");
    assert_eq!(
        next_of(&skipped).map(|n| n.to_rfc3339()),
        Some("2030-02-22T22:00:00+00:00".into())
    );
    // A retry naming the occurrence already skipped skips nothing more.
    let retry = api
        .skip_next_occurrence(authorized(
            pb::SkipNextOccurrenceRequest {
                template_id: id.clone(),
                scheduled_for: template
                    .schedule_status
                    .as_ref()
                    .and_then(|s| s.next_occurrence_at),
            },
            token,
        ))
        .await
        .expect_err("not the next any more");
    assert_error(
        &retry,
        Code::FailedPrecondition,
        "SCHEDULE_STATE",
        "a repeated skip",
    );

    let pause = |reason: &str| {
        authorized(
            pb::PauseTaskTemplateRequest {
                template_id: id.clone(),
                reason: reason.into(),
            },
            token,
        )
    };
    let paused = api
        .pause_task_template(pause("holidays"))
        .await
        .expect("pause")
        .into_inner()
        .template
        .expect("t");
    assert_eq!(status(&paused).state, pb::ScheduleState::Paused as i32);
    assert_eq!(status(&paused).reason, "holidays");
    let again = api
        .pause_task_template(pause("again"))
        .await
        .expect("pause")
        .into_inner()
        .template
        .expect("t");
    assert_eq!(again, paused, "pausing a paused schedule changes nothing");
    let resume = || {
        authorized(
            pb::ResumeTaskTemplateRequest {
                template_id: id.clone(),
            },
            token,
        )
    };
    let resumed = api
        .resume_task_template(resume())
        .await
        .expect("resume")
        .into_inner()
        .template
        .expect("t");
    assert_eq!(status(&resumed).state, pb::ScheduleState::Active as i32);
    assert_eq!(
        next_of(&resumed).map(|n| n.to_rfc3339()),
        Some("2030-01-25T22:00:00+00:00".into()),
        "from now again"
    );

    let end = || {
        authorized(
            pb::EndTaskTemplateSeriesRequest {
                template_id: id.clone(),
                reason: "project over".into(),
            },
            token,
        )
    };
    let ended = api
        .end_task_template_series(end())
        .await
        .expect("end")
        .into_inner()
        .template
        .expect("t");
    assert_eq!(status(&ended).state, pb::ScheduleState::Ended as i32);
    assert_eq!(next_of(&ended), None);
    let refused = api.resume_task_template(resume()).await.expect_err("ended");
    assert_error(
        &refused,
        Code::FailedPrecondition,
        "SCHEDULE_STATE",
        "resuming an ended series",
    );
    let no_schedule = create(&team, token, "Plain", fields("Plain"), None)
        .await
        .expect("create");
    let refused = api
        .pause_task_template(authorized(
            pb::PauseTaskTemplateRequest {
                template_id: no_schedule.id,
                reason: String::new(),
            },
            token,
        ))
        .await
        .expect_err("no schedule");
    assert_error(
        &refused,
        Code::FailedPrecondition,
        "SCHEDULE_STATE",
        "pausing no schedule",
    );
    let kinds: Vec<(String, String)> = database(&team)
        .await
        .query(
            "SELECT kind, actor_type FROM task_events WHERE template_id = $1 ORDER BY position",
            &[&id.parse::<uuid::Uuid>().expect("uuid")],
        )
        .await
        .expect("events")
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    let kinds: Vec<&str> = kinds.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "TEMPLATE_CREATED",
            "OCCURRENCE_SKIPPED",
            "SCHEDULE_PAUSED",
            "SCHEDULE_RESUMED",
            "SERIES_ENDED"
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_occurrence_that_cannot_be_made_pauses_its_schedule_and_says_why() {
    let team = Team::new().await;
    // A recipient leaves; and an author leaves.
    let mut for_alice = fields("For Alice");
    for_alice.recipient_user_ids = vec![team.alice.0.to_string()];
    paused_when_user_leaves(&team, &team.author.1, for_alice, team.alice.0).await;
    paused_when_user_leaves(&team, &team.alice.1, fields("Alice's own"), team.alice.0).await;
    assert_eq!(team.count("tasks").await, 0, "nothing half-made");
}

/// A daily template by `token`, whose next occurrence comes due once `leaver` is deactivated:
/// the schedule pauses, says why, and a SYSTEM event records it.
async fn paused_when_user_leaves(
    team: &Team,
    token: &str,
    task: pb::TaskTemplateFields,
    leaver: uuid::Uuid,
) {
    let template = create(
        team,
        token,
        "Daily",
        task,
        Some(schedule("FREQ=DAILY", "UTC", "2030-01-01T09:00")),
    )
    .await
    .expect("create");
    let mut directory = DirectoryServiceClient::new(team.app.channel().await);
    directory
        .deactivate_user(authorized(
            pb::DeactivateUserRequest {
                user_id: leaver.to_string(),
            },
            &team.admin,
        ))
        .await
        .expect("deactivate");
    let db = database(team).await;
    let id: uuid::Uuid = template.id.parse().expect("uuid");
    db.execute(
        "UPDATE task_templates SET next_at = now(), wake_at = now() WHERE id = $1",
        &[&id],
    )
    .await
    .expect("due now");
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    let status = loop {
        let status = super::get(team, &team.admin, &template.id)
            .await
            .expect("get")
            .schedule_status
            .expect("status");
        if status.state != pb::ScheduleState::Active as i32 {
            break status;
        }
        assert!(tokio::time::Instant::now() < deadline, "still active");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert_eq!(status.state, pb::ScheduleState::Paused as i32);
    assert!(
        status.reason.contains("could not be made"),
        "{}",
        status.reason
    );
    assert_eq!(status.occurrences_made, 0);
    let paused: (String, String) = db
        .query_one(
            "SELECT actor_type, details->>'reason' FROM task_events \
             WHERE template_id = $1 AND kind = 'SCHEDULE_PAUSED'",
            &[&id],
        )
        .await
        .map(|row| (row.get(0), row.get(1)))
        .expect("a SCHEDULE_PAUSED event");
    assert_eq!(paused, ("SYSTEM".to_owned(), status.reason));
    // Back, for what follows (once the credential cache forgets the refusal).
    crate::helpers::rpc::Directory::new(&team.app, team.admin.clone())
        .await
        .upsert_user(leaver, "Back", "Again", Some(true))
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
}
