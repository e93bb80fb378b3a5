//! The schedule worker's pass over one template (`crate::recurrences` runs the passes): claims
//! the template (FOR NO KEY UPDATE SKIP LOCKED), takes its releases, makes the occurrences that
//! are due as tasks of the template's author created by actor SYSTEM, records those missed and
//! left by the catch-up policy, and moves the schedule's standing past them, in one transaction.
//! The unique keys on tasks (template, index) and (template, scheduled time) stand behind it: no
//! occurrence can be made twice, whatever servers run the pass.
//!
//! An occurrence that cannot be made (a recipient deactivated, a channel its author no longer
//! administers) pauses the schedule, with the reason in its status and a SCHEDULE_PAUSED event:
//! the author fixes the template and resumes it; nothing is skipped without a word.

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{
    Schedule, TemplateView, author_key, now,
    plan::{self, Plan},
    stored,
};
use crate::auth::{Actor, Caller, ScopeSet};
use crate::db::{
    DbError,
    directory::users,
    tasks::NewProvenance,
    templates::{self as rows, Standing},
};
use crate::domain::{
    DomainError,
    tasks::{self, Origin},
    vocabulary::{ActorType, EventKind, RecurrenceMode, ScheduleState},
};
use crate::events::record::{Recorder, system_cause};

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pass {
    pub made: usize,
    pub missed: usize,
}

/// Runs a pass over the template, if it is active and no other server holds it.
pub async fn run_due(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    template_id: Uuid,
) -> Result<Pass, DomainError> {
    conn.transaction(async |conn| {
        let Some(row) = rows::claim(conn, workspace_id, template_id).await? else {
            return Ok(Pass::default());
        };
        let author = author_key(&row);
        let view = stored::view(row.clone())?;
        let Some((schedule, _)) = &view.schedule else {
            return Ok(Pass::default());
        };
        let now = now(conn).await?;
        let releases = rows::take_releases(conn, workspace_id, template_id).await?;
        let mut standing = row.standing.clone();
        let was = standing.state;
        release_next(schedule, &mut standing, &releases);
        let plan = plan_for(schedule, &standing, now);
        let mut events: Vec<(EventKind, Value)> = plan
            .missed
            .iter()
            .map(|at| {
                let details = json!({"scheduled_for": at, "reason": "MISSED"});
                (EventKind::OccurrenceSkipped, details)
            })
            .collect();
        let made = make_due(
            conn,
            &view,
            schedule,
            &mut standing,
            &plan.make,
            &mut events,
        )
        .await?;
        settle(schedule, &mut standing, &plan, made, was, &mut events);
        let bump = was != standing.state;
        rows::set_standing(conn, workspace_id, template_id, &standing, bump).await?;
        let mut recorder = Recorder::with_cause(system_cause());
        for (kind, details) in events {
            recorder.template(workspace_id, template_id, author.clone(), kind, details);
        }
        recorder.write(conn).await?;
        Ok(Pass {
            made,
            missed: plan.missed.len(),
        })
    })
    .await
}

/// In after-completion mode with nothing scheduled, a release of the latest occurrence: the
/// next is the rule's first time after the later of its closing and its scheduled time.
fn release_next(schedule: &Schedule, standing: &mut Standing, releases: &[(i32, DateTime<Utc>)]) {
    if schedule.mode != RecurrenceMode::AfterCompletion || standing.next_at.is_some() {
        return;
    }
    let latest = standing.last_index;
    let Some((_, released_at)) = releases
        .iter()
        .find(|(index, _)| latest > 0 && *index == latest)
    else {
        return;
    };
    let from = standing
        .last_scheduled_for
        .map_or(*released_at, |at| at.max(*released_at));
    standing.next_at = schedule.recurrence().next_after(from);
    if standing.next_at.is_none() {
        standing.state = Some(ScheduleState::Ended);
    }
}

/// Makes the occurrences of `due` in turn; the first that cannot be made pauses the schedule
/// (its event says why). Returns how many were made.
async fn make_due(
    conn: &mut AsyncPgConnection,
    view: &TemplateView,
    schedule: &Schedule,
    standing: &mut Standing,
    due: &[DateTime<Utc>],
    events: &mut Vec<(EventKind, Value)>,
) -> Result<usize, DomainError> {
    let mut made = 0;
    for at in due {
        match make_one(conn, view, schedule, standing, *at).await {
            Ok(task_id) => {
                made += 1;
                standing.last_task_id = Some(task_id);
                standing.last_index += 1;
                standing.last_scheduled_for = Some(*at);
            }
            Err(DomainError::Db(e)) => return Err(DomainError::Db(e)),
            Err(refused) => {
                let reason = format!(
                    "the occurrence scheduled for {} could not be made: {refused}",
                    at.to_rfc3339()
                );
                let details = json!({"reason": reason, "scheduled_for": at});
                events.push((EventKind::SchedulePaused, details));
                standing.state = Some(ScheduleState::Paused);
                standing.state_reason = Some(reason);
                standing.next_at = None;
                break;
            }
        }
    }
    Ok(made)
}

/// The standing after the pass: past what it made, ended when the rule has no more (an event
/// says so), and when the worker next has something to do.
fn settle(
    schedule: &Schedule,
    standing: &mut Standing,
    plan: &Plan,
    made: usize,
    was: Option<ScheduleState>,
    events: &mut Vec<(EventKind, Value)>,
) {
    if standing.state == Some(ScheduleState::Active) {
        standing.next_at = match schedule.mode {
            RecurrenceMode::Fixed => plan.next,
            // One at a time: the next waits for this one to close.
            RecurrenceMode::AfterCompletion if made > 0 => None,
            RecurrenceMode::AfterCompletion => plan.next,
        };
        if schedule.mode == RecurrenceMode::Fixed && plan.next.is_none() {
            standing.state = Some(ScheduleState::Ended);
        }
    }
    if standing.state == Some(ScheduleState::Ended) && was != standing.state {
        let reason = "the rule has no more occurrences";
        standing.state_reason = Some(reason.to_owned());
        standing.next_at = None;
        events.push((EventKind::SeriesEnded, json!({"reason": reason})));
    }
    standing.wake_at = standing
        .next_at
        .filter(|_| standing.state == Some(ScheduleState::Active))
        .map(|at| plan::make_at(at, schedule.lead));
}

/// The pass's plan from the standing: nothing when no next occurrence is known.
fn plan_for(schedule: &Schedule, standing: &Standing, now: DateTime<Utc>) -> Plan {
    let Some(next) = standing
        .next_at
        .filter(|_| standing.state == Some(ScheduleState::Active))
    else {
        return Plan::default();
    };
    match schedule.mode {
        RecurrenceMode::Fixed => plan::fixed(
            schedule.recurrence(),
            next,
            schedule.lead,
            schedule.catch_up,
            now,
        ),
        RecurrenceMode::AfterCompletion if plan::make_at(next, schedule.lead) <= now => Plan {
            make: vec![next],
            missed: Vec::new(),
            next: None,
        },
        RecurrenceMode::AfterCompletion => Plan {
            next: Some(next),
            ..Plan::default()
        },
    }
}

/// Makes the occurrence scheduled for `at`, linked after the series' latest task, in a
/// savepoint: if it cannot be made, nothing of it stays.
async fn make_one(
    conn: &mut AsyncPgConnection,
    view: &TemplateView,
    schedule: &Schedule,
    standing: &Standing,
    at: DateTime<Utc>,
) -> Result<Uuid, DomainError> {
    let author = author_of(view)?;
    if let Some(user) = author.actor.user_id() {
        // A deactivated author's schedule makes nothing: their tasks would be no one's.
        if users::existing_ids(conn, view.workspace_id, &[user], true)
            .await?
            .is_empty()
        {
            return Err(DomainError::UnknownUser(user));
        }
    }
    conn.transaction(async |conn| {
        let task_id = Uuid::now_v7();
        if let Some(previous) = standing.last_task_id {
            rows::link_next(conn, view.workspace_id, previous, task_id).await?;
        }
        let task = view.fields.task(schedule.due_of(at, view.fields.due_after));
        let origin = Origin {
            provenance: NewProvenance {
                template_id: view.id,
                template_name: view.name.as_str().to_owned(),
                occurrence: Some((standing.last_index + 1, at, standing.last_task_id)),
            },
            by_system: true,
        };
        tasks::write_new(conn, &author, task_id, &task, Some(&origin)).await?;
        Ok(task_id)
    })
    .await
}

/// The template's author as the caller its tasks are made for.
fn author_of(view: &TemplateView) -> Result<Caller, DomainError> {
    let (kind, id) = &view.created_by;
    let actor = match kind {
        ActorType::User => Actor::User(id.parse().map_err(|_| {
            DomainError::Db(DbError::Query(diesel::result::Error::DeserializationError(
                format!("a template's author {id:?} is not a user id").into(),
            )))
        })?),
        ActorType::ApiToken => Actor::ApiToken(id.clone()),
        ActorType::System => Actor::System,
    };
    Ok(Caller {
        workspace_id: view.workspace_id,
        actor,
        scopes: ScopeSet::default(),
        request_id: None,
    })
}
