//! Workspace SLA policies, as UpdateWorkspaceSettings takes them (checked) and as a workspace
//! keeps them. What they do to tasks is the slas migration's (its triggers keep every task's
//! clocks); here are their words and limits.

use chrono::NaiveTime;
use std::time::Duration;

use crate::domain::{
    input::TextKind,
    vocabulary::{Priority, Status},
};

/// Policies a workspace may have.
pub const MAX_SLA_POLICIES: usize = 50;

/// The shortest and longest time a clock may allow.
pub const SLA_WITHIN: std::ops::RangeInclusive<Duration> =
    Duration::from_secs(60)..=Duration::from_secs(366 * 86_400);

/// One policy, checked: a name, what it applies to, its clocks and when they run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlaPolicy {
    pub name: String,
    /// Empty: any kind.
    pub kinds: Vec<String>,
    /// Empty: any priority.
    pub priorities: Vec<Priority>,
    pub first_response_within: Option<Duration>,
    pub resolution_within: Option<Duration>,
    pub at_risk_before: Option<Duration>,
    pub counted_from: SlaCountedFrom,
    pub business_hours: Option<BusinessHours>,
    /// Statuses that pause the clocks: OPEN, IN_PROGRESS, IN_REVIEW only.
    pub pause_statuses: Vec<Status>,
}

/// What a policy's clocks count from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SlaCountedFrom {
    /// The task's source_occurred_at, or its creation when it has none.
    #[default]
    SourceOccurredAt,
    CreatedAt,
}

impl SlaCountedFrom {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            SlaCountedFrom::SourceOccurredAt => "SOURCE_OCCURRED_AT",
            SlaCountedFrom::CreatedAt => "CREATED_AT",
        }
    }

    /// The value of a stored name; an unknown one is an error, never a default.
    pub fn parse(stored: &str) -> Option<Self> {
        match stored {
            "SOURCE_OCCURRED_AT" => Some(SlaCountedFrom::SourceOccurredAt),
            "CREATED_AT" => Some(SlaCountedFrom::CreatedAt),
            _ => None,
        }
    }
}

/// A daily window on some days of the week (ISO numbers, 1 Monday to 7 Sunday), in the
/// workspace's time zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessHours {
    pub days: Vec<u8>,
    pub opens: NaiveTime,
    pub closes: NaiveTime,
}

/// A policy's name.
#[derive(Debug)]
pub enum PolicyName {}
impl TextKind for PolicyName {
    const MAX_CHARS: usize = 100;
    const REQUIRED: bool = true;
}

/// Calendar years a clock may take to run out in business hours: the database's arithmetic walks
/// at most ten years of days (the slas migration's `sla_add`), so that a due is always found.
const MAX_CALENDAR_YEARS: u64 = 8;

impl BusinessHours {
    /// Whether `within` of business time ends within [`MAX_CALENDAR_YEARS`] of its start: a year
    /// of one minute a week does not.
    pub fn fits(&self, within: Duration) -> bool {
        let daily = (self.closes - self.opens).num_seconds().max(0) as u64;
        let weekly = daily * self.days.len() as u64;
        within.as_secs() <= weekly.saturating_mul(52 * MAX_CALENDAR_YEARS)
    }
}

/// Whether a status may pause SLA clocks: not NEW (a first response leaves it) and not a closed
/// one (closing meets the clocks).
pub fn may_pause(status: Status) -> bool {
    matches!(status, Status::Open | Status::InProgress | Status::InReview)
}
