//! A webhook subscription and a delivery as the rest of Docket sees them, read from their rows.

use chrono::{DateTime, Utc};
use diesel::{
    QueryableByName,
    sql_types::{Array, BigInt, Bool, Int4, Nullable, Text, Timestamptz, Uuid as SqlUuid},
};
use uuid::Uuid;

use crate::domain::vocabulary::{ActorType, DeliveryPurpose, EventKind, WebhookState};
use crate::events::{Position, watch::WatchFilter, watch::WatchScope};

/// The most subscriptions a workspace holds.
pub const MAX_PER_WORKSPACE: i64 = 100;

/// The most tasks one subscription names.
pub const MAX_TASK_IDS: usize = 100;

/// A subscription (without its secrets, which only the sender opens).
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct Webhook {
    #[diesel(sql_type = SqlUuid)]
    pub workspace_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Text)]
    pub url: String,
    #[diesel(sql_type = Text)]
    pub description: String,
    #[diesel(sql_type = Array<Text>)]
    pub kinds: Vec<EventKind>,
    #[diesel(sql_type = Array<SqlUuid>)]
    pub task_ids: Vec<Uuid>,
    #[diesel(sql_type = Text)]
    scope: String,
    /// Whose tasks a PARTICIPATING subscription follows: its creator's actor key.
    #[diesel(sql_type = Text)]
    pub audience: String,
    #[diesel(sql_type = Text)]
    pub state: WebhookState,
    #[diesel(sql_type = Text)]
    pub state_reason: String,
    #[diesel(sql_type = BigInt)]
    position: i64,
    #[diesel(sql_type = Array<BigInt>)]
    pub delivered_ahead: Vec<i64>,
    #[diesel(sql_type = Int4)]
    pub attempts: i32,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub failing_since: Option<DateTime<Utc>>,
    #[diesel(sql_type = Timestamptz)]
    pub next_attempt_at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub last_success_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub previous_secret_until: Option<DateTime<Utc>>,
    #[diesel(sql_type = Text)]
    pub created_by_type: ActorType,
    #[diesel(sql_type = Text)]
    pub created_by_id: String,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    #[diesel(sql_type = Timestamptz)]
    pub updated_at: DateTime<Utc>,
    #[diesel(sql_type = BigInt)]
    pub version: i64,
    /// The oldest position a replay may start from now (read with the row).
    #[diesel(sql_type = BigInt)]
    horizon: i64,
}

impl Webhook {
    /// Every event at or below it is delivered, or not for this subscription.
    pub fn position(&self) -> Position {
        Position::new(self.position)
    }

    pub fn oldest_replay_position(&self) -> Position {
        Position::new(self.horizon)
    }

    /// Whose tasks it follows. A scope the column does not name is refused by its CHECK.
    pub fn scope(&self) -> WatchScope {
        match self.scope.as_str() {
            "PARTICIPATING" => WatchScope::Participating,
            _ => WatchScope::Workspace,
        }
    }

    /// Which events it takes in: the same test a watch with its settings applies.
    pub fn filter(&self) -> WatchFilter {
        WatchFilter {
            workspace_id: self.workspace_id,
            audience: (self.scope() == WatchScope::Participating).then(|| self.audience.clone()),
            task_ids: (!self.task_ids.is_empty()).then(|| self.task_ids.iter().copied().collect()),
            kinds: (!self.kinds.is_empty()).then(|| self.kinds.iter().copied().collect()),
        }
    }
}

/// How a scope is stored.
pub fn scope_column(scope: WatchScope) -> &'static str {
    match scope {
        WatchScope::Participating => "PARTICIPATING",
        WatchScope::Workspace => "WORKSPACE",
    }
}

/// One attempt to deliver, as the delivery log keeps it.
#[derive(Debug, Clone, PartialEq, QueryableByName)]
pub struct Delivery {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    position: Option<i64>,
    #[diesel(sql_type = Text)]
    pub purpose: DeliveryPurpose,
    #[diesel(sql_type = Int4)]
    pub attempt: i32,
    #[diesel(sql_type = Timestamptz)]
    pub at: DateTime<Utc>,
    #[diesel(sql_type = Nullable<Int4>)]
    pub status_code: Option<i32>,
    #[diesel(sql_type = Bool)]
    pub succeeded: bool,
    #[diesel(sql_type = Text)]
    pub error: String,
    #[diesel(sql_type = Int4)]
    pub latency_ms: i32,
    #[diesel(sql_type = Text)]
    pub response_excerpt: String,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub next_attempt_at: Option<DateTime<Utc>>,
}

impl Delivery {
    pub fn position(&self) -> Option<Position> {
        self.position.map(Position::new)
    }
}

/// An attempt to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDelivery {
    pub position: Option<Position>,
    pub purpose: DeliveryPurpose,
    pub attempt: i32,
    pub at: DateTime<Utc>,
    pub outcome: super::send::Outcome,
    pub next_attempt_at: Option<DateTime<Utc>>,
}
