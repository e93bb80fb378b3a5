//! Controlling a schedule: pause, resume, skip the next occurrence, end the series. Each is the
//! author's, locks the template, moves its standing, and records its event, in one transaction;
//! the worker claims templates with SKIP LOCKED, so a control and a pass of the worker never
//! interleave.

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde_json::{Value, json};
use uuid::Uuid;

use super::{author_key, fresh_standing, lock_own, now, plan, stored};
use crate::auth::Caller;
use crate::db::{
    self, Db,
    templates::{self as rows, Standing, TemplateRow},
};
use crate::domain::{
    DomainError,
    input::Text,
    tasks::Reason,
    templates::{Schedule, TemplateView},
    vocabulary::{EventKind, ScheduleState},
};
use crate::events::record::Recorder;

/// What a control does.
#[derive(Debug, Clone)]
pub enum Control {
    Pause {
        reason: Option<Text<Reason>>,
    },
    Resume,
    /// Skips the next occurrence; only the one scheduled for this time, if given.
    SkipNext {
        scheduled_for: Option<DateTime<Utc>>,
    },
    End {
        reason: Option<Text<Reason>>,
    },
}

/// Applies `control` to the caller's template.
pub async fn apply(
    db: &Db,
    caller: &Caller,
    id: Uuid,
    control: Control,
) -> Result<TemplateView, DomainError> {
    let mut conn = db::checkout(&db.pool).await?;
    conn.transaction(async |conn| {
        let row = lock_own(conn, caller, id).await?;
        let view = stored::view(row.clone())?;
        let Some((schedule, _)) = &view.schedule else {
            return Err(DomainError::ScheduleState(
                "the template has no schedule".into(),
            ));
        };
        let Some((standing, kind, details)) = moved(conn, &row, schedule, control).await? else {
            return Ok(view);
        };
        let changed = rows::set_standing(conn, row.workspace_id, row.id, &standing, true).await?;
        let mut events = Recorder::new(caller);
        events.template(row.workspace_id, row.id, author_key(&row), kind, details);
        events.write(conn).await?;
        stored::view(changed)
    })
    .await
}

/// The standing `control` leaves and the event that records it; None when it changes nothing
/// (pausing a paused schedule, resuming an active one, ending an ended one).
async fn moved(
    conn: &mut AsyncPgConnection,
    row: &TemplateRow,
    schedule: &Schedule,
    control: Control,
) -> Result<Option<(Standing, EventKind, Value)>, DomainError> {
    let standing = &row.standing;
    let state = standing.state;
    let ended = || DomainError::ScheduleState("the series has ended".into());
    let reason_of = |reason: Option<Text<Reason>>| reason.map(Text::into_string);
    Ok(match control {
        Control::Pause { reason } => match state {
            Some(ScheduleState::Paused) => None,
            Some(ScheduleState::Ended) | None => return Err(ended()),
            Some(ScheduleState::Active) => {
                let reason = reason_of(reason);
                let paused = Standing {
                    state: Some(ScheduleState::Paused),
                    state_reason: reason.clone(),
                    next_at: None,
                    wake_at: None,
                    ..standing.clone()
                };
                Some((paused, EventKind::SchedulePaused, json!({"reason": reason})))
            }
        },
        Control::Resume => match state {
            Some(ScheduleState::Active) => None,
            Some(ScheduleState::Ended) | None => return Err(ended()),
            Some(ScheduleState::Paused) => {
                let latest_open = match standing.last_task_id {
                    Some(task) => rows::is_open(conn, row.workspace_id, task).await?,
                    None => false,
                };
                let now = now(conn).await?;
                let resumed = fresh_standing(schedule, now, standing, latest_open);
                let details = json!({"next_occurrence_at": resumed.next_at});
                Some((resumed, EventKind::ScheduleResumed, details))
            }
        },
        Control::SkipNext { scheduled_for } => Some(skip_next(standing, schedule, scheduled_for)?),
        Control::End { reason } => match state {
            Some(ScheduleState::Ended) => None,
            None => return Err(ended()),
            Some(_) => {
                let reason = reason_of(reason);
                let over = Standing {
                    state: Some(ScheduleState::Ended),
                    state_reason: reason.clone(),
                    next_at: None,
                    wake_at: None,
                    ..standing.clone()
                };
                Some((over, EventKind::SeriesEnded, json!({"reason": reason})))
            }
        },
    })
}

/// Skips the next occurrence (only the one scheduled for `scheduled_for`, if given): the one
/// after it becomes the next, or, with none, the series ends.
fn skip_next(
    standing: &Standing,
    schedule: &Schedule,
    scheduled_for: Option<DateTime<Utc>>,
) -> Result<(Standing, EventKind, Value), DomainError> {
    let state = standing.state;
    let next = standing
        .next_at
        .filter(|_| state != Some(ScheduleState::Ended))
        .ok_or_else(|| DomainError::ScheduleState("no next occurrence is scheduled".into()))?;
    if scheduled_for.is_some_and(|at| at != next) {
        return Err(DomainError::ScheduleState(format!(
            "the next occurrence is scheduled for {}",
            next.to_rfc3339()
        )));
    }
    let after = schedule.recurrence().next_after(next);
    let active = state == Some(ScheduleState::Active);
    let skipped = Standing {
        next_at: after,
        wake_at: after
            .filter(|_| active)
            .map(|at| plan::make_at(at, schedule.lead)),
        state: if after.is_none() {
            Some(ScheduleState::Ended)
        } else {
            state
        },
        state_reason: if after.is_none() {
            Some("the rule has no more occurrences".into())
        } else {
            standing.state_reason.clone()
        },
        ..standing.clone()
    };
    let details = json!({"scheduled_for": next, "reason": "SKIPPED"});
    Ok((skipped, EventKind::OccurrenceSkipped, details))
}
