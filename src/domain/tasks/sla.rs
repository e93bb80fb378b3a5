//! A task's SLA clocks in the domain's words, read from the columns the slas migration's triggers
//! keep (the rules live there, so that every write of a task keeps them alike).

use chrono::{DateTime, Utc};
use std::time::Duration;

use crate::db::tasks::SlaColumns;

/// A task's SLA, when a workspace policy matched it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sla {
    pub policy: String,
    pub started_at: Option<DateTime<Utc>>,
    pub first_response: Option<SlaClockState>,
    pub resolution: Option<SlaClockState>,
    pub paused_since: Option<DateTime<Utc>>,
    pub breached_at: Option<DateTime<Utc>>,
}

/// One clock: its due (none while paused), when it was met, and while paused what it has left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaClockState {
    pub due_at: Option<DateTime<Utc>>,
    pub met_at: Option<DateTime<Utc>>,
    pub paused_remaining: Option<Duration>,
}

impl Sla {
    /// The SLA the columns hold; `None` for a task no policy matched.
    pub fn of(columns: &SlaColumns) -> Option<Sla> {
        let clock = |due: Option<DateTime<Utc>>, met, left: Option<&_>| {
            (due.is_some() || left.is_some()).then(|| SlaClockState {
                due_at: due,
                met_at: met,
                paused_remaining: left.map(interval_duration),
            })
        };
        Some(Sla {
            policy: columns.sla_policy.clone()?,
            started_at: columns.sla_started_at,
            first_response: clock(
                columns.sla_response_due_at,
                columns.sla_response_met_at,
                columns.sla_response_left.as_ref(),
            ),
            resolution: clock(
                columns.sla_resolution_due_at,
                columns.sla_resolution_met_at,
                columns.sla_resolution_left.as_ref(),
            ),
            paused_since: columns.sla_paused_since,
            breached_at: columns.sla_breached_at,
        })
    }
}

/// An interval the triggers wrote (seconds only, never negative) as a duration.
fn interval_duration(left: &diesel::pg::data_types::PgInterval) -> Duration {
    let days = i64::from(left.days) + i64::from(left.months) * 30;
    let micros = left
        .microseconds
        .saturating_add(days.saturating_mul(86_400_000_000));
    Duration::from_micros(micros.max(0) as u64)
}
