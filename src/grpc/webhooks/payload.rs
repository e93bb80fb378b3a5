//! An event as a webhook's body: `{"type", "timestamp", "data"}` as Standard Webhooks suggests,
//! with `data` the TaskEvent in protobuf's JSON form (what `grpcurl` prints, and any protobuf
//! library reads back into a TaskEvent). The JSON comes from `prost-reflect`, which serialises a
//! message by its descriptor, rather than from field-by-field code here that could drift from
//! the proto.

use std::sync::LazyLock;

use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor};

use super::super::{pb, tasks::events::event_to_proto};
use crate::events::Event;

/// TaskEvent's descriptor, from the descriptor set the build compiled.
static TASK_EVENT: LazyLock<Option<MessageDescriptor>> = LazyLock::new(|| {
    DescriptorPool::decode(pb::FILE_DESCRIPTOR_SET)
        .ok()?
        .get_message_by_name("docket.v1.TaskEvent")
});

/// The body of the message that delivers `event`.
pub fn render(event: &Event) -> Vec<u8> {
    let proto = event_to_proto(event);
    let data = TASK_EVENT
        .as_ref()
        .and_then(|descriptor| {
            DynamicMessage::decode(descriptor.clone(), proto.encode_to_vec().as_slice()).ok()
        })
        .and_then(|message| serde_json::to_value(&message).ok())
        .unwrap_or(serde_json::Value::Null);
    let body = serde_json::json!({
        "type": type_of(event.kind.as_str()),
        "timestamp": event.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "data": data,
    });
    serde_json::to_vec(&body).unwrap_or_default()
}

/// A kind as a message type: `TASK_CREATED` is `task.created`, `SLA_AT_RISK` `sla.at_risk`.
fn type_of(kind: &str) -> String {
    let lower = kind.to_ascii_lowercase();
    match lower.split_once('_') {
        Some((subject, what)) => format!("{subject}.{what}"),
        None => lower,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::vocabulary::{ActorType, EventKind};
    use crate::events::Position;

    #[test]
    fn an_event_renders_as_its_task_event_json() {
        let event = Event {
            position: Position::new(42),
            workspace_id: uuid::Uuid::nil(),
            task_id: Some(uuid::Uuid::from_u128(7)),
            template_id: None,
            webhook_id: None,
            assignment_id: None,
            kind: EventKind::SlaAtRisk,
            actor_type: ActorType::System,
            actor_id: String::new(),
            request_id: None,
            at: chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
            details: serde_json::json!({"clock": "RESOLUTION"}),
            audience: vec![],
        };
        let body: serde_json::Value = serde_json::from_slice(&render(&event)).unwrap();
        assert_eq!(body["type"], "sla.at_risk");
        assert_eq!(body["timestamp"], "2027-01-15T08:00:00.000000Z");
        assert_eq!(body["data"]["position"], Position::new(42).to_string());
        assert_eq!(
            body["data"]["taskId"],
            "00000000-0000-0000-0000-000000000007"
        );
        assert_eq!(body["data"]["kind"], "TASK_EVENT_KIND_SLA_AT_RISK");
        assert_eq!(body["data"]["details"]["clock"], "RESOLUTION");
    }
}
