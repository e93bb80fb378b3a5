//! Events into proto: the event log's rows as `TaskEvent`s, their JSON details as a
//! `google.protobuf.Struct`.

use prost_types::{ListValue, Struct, Value as ProtoValue, value::Kind};
use serde_json::Value;

use crate::{
    db::events::EventRow,
    grpc::{pb, timestamp},
};

pub(crate) fn event_to_proto(event: EventRow) -> pb::TaskEvent {
    pb::TaskEvent {
        position: event.position().to_string(),
        task_id: event.task_id.to_string(),
        assignment_id: event
            .assignment_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
        kind: pb::TaskEventKind::from(event.kind) as i32,
        actor: Some(pb::Actor {
            r#type: pb::ActorType::from(event.actor_type) as i32,
            id: event.actor_id,
        }),
        request_id: event.request_id.unwrap_or_default(),
        occurred_at: Some(timestamp(event.at)),
        details: match event.details {
            Value::Object(fields) => Some(to_struct(fields)),
            _ => None,
        },
    }
}

fn to_struct(fields: serde_json::Map<String, Value>) -> Struct {
    Struct {
        fields: fields
            .into_iter()
            .map(|(name, value)| (name, to_value(value)))
            .collect(),
    }
}

fn to_value(value: Value) -> ProtoValue {
    let kind = match value {
        Value::Null => Kind::NullValue(0),
        Value::Bool(b) => Kind::BoolValue(b),
        // Struct numbers are doubles; the details hold small counts only.
        Value::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or_default()),
        Value::String(s) => Kind::StringValue(s),
        Value::Array(items) => Kind::ListValue(ListValue {
            values: items.into_iter().map(to_value).collect(),
        }),
        Value::Object(fields) => Kind::StructValue(to_struct(fields)),
    };
    ProtoValue { kind: Some(kind) }
}
