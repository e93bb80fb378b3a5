//! Events between proto and domain: WatchTasks requests read into a checked watch, the event
//! log's rows as `TaskEvent`s (their JSON details as a `google.protobuf.Struct`), and watch
//! messages.

use crate::events::watch::{WatchItem, WatchRequest, WatchScope};
use prost_types::{ListValue, Struct, Value as ProtoValue, value::Kind};
use serde_json::Value;

use super::convert::actor_to_proto;
use crate::domain::vocabulary::EventKind;
use crate::{
    domain::input::Violations,
    events::{Event, Position},
    grpc::{
        enums::optional,
        parse::{Parse, enums, uuids},
        pb, timestamp,
    },
};

/// An event as a message; the row may be shared by many watchers, so it is read, not taken.
pub(crate) fn event_to_proto(event: &Event) -> pb::TaskEvent {
    pb::TaskEvent {
        position: event.position.to_string(),
        task_id: event.task_id.map(|id| id.to_string()).unwrap_or_default(),
        template_id: event
            .template_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
        webhook_id: event
            .webhook_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
        assignment_id: event
            .assignment_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
        kind: pb::TaskEventKind::from(event.kind) as i32,
        actor: Some(actor_to_proto(event.actor_type, event.actor_id.clone())),
        request_id: event.request_id.clone().unwrap_or_default(),
        occurred_at: Some(timestamp(event.at)),
        details: match &event.details {
            Value::Object(fields) => Some(to_struct(fields)),
            _ => None,
        },
    }
}

fn to_struct(fields: &serde_json::Map<String, Value>) -> Struct {
    Struct {
        fields: fields
            .iter()
            .map(|(name, value)| (name.clone(), to_value(value)))
            .collect(),
    }
}

fn to_value(value: &Value) -> ProtoValue {
    let kind = match value {
        Value::Null => Kind::NullValue(0),
        Value::Bool(b) => Kind::BoolValue(*b),
        // Struct numbers are doubles; the details hold small counts only.
        Value::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or_default()),
        Value::String(s) => Kind::StringValue(s.clone()),
        Value::Array(items) => Kind::ListValue(ListValue {
            values: items.iter().map(to_value).collect(),
        }),
        Value::Object(fields) => Kind::StructValue(to_struct(fields)),
    };
    ProtoValue { kind: Some(kind) }
}

/// Most task ids one watch may name.
const MAX_WATCHED_TASKS: usize = 100;

impl Parse for pb::WatchTasksRequest {
    type Checked = WatchRequest;

    fn parse(&self, v: &mut Violations) -> Option<WatchRequest> {
        let start = v.check(
            "start_position",
            if self.start_position.is_empty() {
                Ok(None)
            } else {
                self.start_position.parse::<Position>().map(Some)
            },
        );
        let task_ids = uuids(v, "task_ids", &self.task_ids, MAX_WATCHED_TASKS);
        let kinds = enums(v, "kinds", &self.kinds, EventKind::ALL.len());
        let scope = v.check(
            "scope",
            optional::<WatchScope>(self.scope).map(|s| s.unwrap_or(WatchScope::Participating)),
        );
        Some(WatchRequest {
            start: start?,
            task_ids,
            kinds,
            scope: scope?,
        })
    }
}

pub(crate) fn watch_item_to_proto(item: WatchItem) -> pb::WatchTasksResponse {
    match item {
        WatchItem::Event(event) => pb::WatchTasksResponse {
            position: event.position.to_string(),
            event: Some(event_to_proto(&event)),
        },
        WatchItem::Progress(position) => pb::WatchTasksResponse {
            event: None,
            position: position.to_string(),
        },
    }
}
