//! Controlling a schedule: pause, resume, skip the next occurrence (once, even when retried),
//! end the series; what each refuses and the events they record.

use docket::grpc::pb;
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
