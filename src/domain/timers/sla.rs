//! Firing an SLA clock's moment: the at-risk or breach event of a clock still running toward the
//! due the moment was reckoned from, and a breach recorded on the task. The clocks themselves
//! (matched, met, paused, resumed) are kept by the slas migration's triggers, on every write of a
//! task, which also replace a clock's timers whenever its due moves or it is met: a timer that
//! finds its clock met or moved all the same (it raced with that write) is skipped.

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use serde_json::{Value, json};

use super::fire::{skip, with};
use crate::db::tasks::{self, TaskRow};
use crate::domain::{
    DomainError,
    records::Timer,
    vocabulary::{EventKind, SlaClock, SlaStage},
};
use crate::events::Recorder;

/// Marks the moment if its clock still runs toward it: the task as it now is, and why the moment
/// was skipped if it was.
pub(super) async fn mark(
    conn: &mut AsyncPgConnection,
    task: TaskRow,
    timer: &Timer,
    (clock, stage): (SlaClock, SlaStage),
    tag: &Value,
    recorder: &mut Recorder,
) -> Result<(TaskRow, Option<String>), DomainError> {
    let Some(due) = running_due(&task, clock) else {
        return Ok(skip(task, "the SLA clock was met, or is paused"));
    };
    let reckoned = match stage {
        SlaStage::AtRisk => timer.fire_at < due,
        SlaStage::Breached => timer.fire_at == due,
    };
    if !reckoned {
        return Ok(skip(task, "the SLA clock's due moved"));
    }
    let (task, kind) = match stage {
        SlaStage::AtRisk => (task, EventKind::SlaAtRisk),
        SlaStage::Breached if task.sla.sla_breached_at.is_some() => (task, EventKind::SlaBreached),
        SlaStage::Breached => {
            let marked = tasks::mark_sla_breached(conn, task.workspace_id, task.id, due).await?;
            (marked.unwrap_or(task), EventKind::SlaBreached)
        }
    };
    let details = json!({
        "clock": clock.as_str(),
        "due_at": due,
        "policy": task.sla.sla_policy,
    });
    recorder.task(&task, kind, with(details, tag), Vec::new());
    Ok((task, None))
}

/// The clock's due while it runs unmet.
fn running_due(task: &TaskRow, clock: SlaClock) -> Option<DateTime<Utc>> {
    let sla = &task.sla;
    let (due, met) = match clock {
        SlaClock::FirstResponse => (sla.sla_response_due_at, sla.sla_response_met_at),
        SlaClock::Resolution => (sla.sla_resolution_due_at, sla.sla_resolution_met_at),
    };
    due.filter(|_| met.is_none())
}
