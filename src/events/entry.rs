//! An event of the log as readers take it ([`Event`]), and where a reader stands ([`Position`]):
//! the domain's words for what `events::log` reads, so the edges convert events without knowing
//! the columns.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::vocabulary::{ActorType, EventKind};

/// A recorded event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Its number in its workspace's log.
    pub position: Position,
    pub workspace_id: Uuid,
    /// The task it is of; None for an event of a template.
    pub task_id: Option<Uuid>,
    /// The template it is of, or that made the task created.
    pub template_id: Option<Uuid>,
    /// The webhook subscription it is of (WEBHOOK_FAILING).
    pub webhook_id: Option<Uuid>,
    pub assignment_id: Option<Uuid>,
    pub kind: EventKind,
    pub actor_type: ActorType,
    pub actor_id: String,
    pub request_id: Option<String>,
    pub at: DateTime<Utc>,
    pub details: serde_json::Value,
    /// Whom the event concerns, as actor keys (`USER:<id>`, ...).
    pub audience: Vec<String>,
}

/// Where a reader stands in one workspace's log: every event at or before it has been read.
/// Positions are the events' numbers in their workspace, from 1, in commit order.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(transparent)]
pub struct Position(i64);

impl Position {
    /// Before the first event of every workspace.
    pub const START: Self = Self(0);

    /// What a position from before the log was numbered by workspace stands for: earlier than
    /// anything kept, so a watch from it is answered as expired.
    pub const FROM_OLD_LOG: Self = Self(-1);

    pub fn new(number: i64) -> Self {
        Self(number)
    }

    /// The event's number in its workspace's log.
    pub fn number(self) -> i64 {
        self.0
    }
}

/// A position as clients see it: 32 hex digits, the position's number in the last 16. The first
/// 16 held the transaction id before positions were numbered per workspace: a position with any
/// of them set is from that log ([`Position::FROM_OLD_LOG`]).
impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:032x}", self.0.max(0))
    }
}

impl std::str::FromStr for Position {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let invalid = || format!("{text:?} is not a position (32 hex digits)");
        if text.len() != 32 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(invalid());
        }
        let (old_log, number) = text.split_at(16);
        if old_log.bytes().any(|b| b != b'0') {
            return Ok(Self::FROM_OLD_LOG);
        }
        i64::from_str_radix(number, 16)
            .map(Self)
            .map_err(|_| invalid())
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
