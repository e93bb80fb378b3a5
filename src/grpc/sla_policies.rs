//! Workspace SLA policies: proto ↔ domain (`domain::sla_policies`), for WorkspaceService.

use chrono::NaiveTime;

use super::{
    parse::{duration, enums},
    pb,
};
use crate::domain::{
    input::{Text, Violations},
    sla_policies::{
        BusinessHours, MAX_SLA_POLICIES, PolicyName, SLA_WITHIN, SlaCountedFrom, SlaPolicy,
        may_pause,
    },
    tasks::TaskKind,
    vocabulary::Status,
};

/// Kinds and priorities a policy may name.
const MAX_MATCHED: usize = 50;

/// Every policy of `settings.sla_policies`, checked; names unique.
pub(super) fn parse_policies(v: &mut Violations, policies: &[pb::SlaPolicy]) -> Vec<SlaPolicy> {
    let field = "settings.sla_policies";
    if !v.within(field, policies.len(), MAX_SLA_POLICIES) {
        return Vec::new();
    }
    let mut parsed: Vec<SlaPolicy> = Vec::with_capacity(policies.len());
    for (index, policy) in policies.iter().enumerate() {
        let at = format!("{field}[{index}]");
        let Some(policy) = parse_policy(v, &at, policy) else {
            continue;
        };
        if parsed.iter().any(|p| p.name == policy.name) {
            v.add(
                format!("{at}.name").as_str(),
                "another policy has this name",
            );
        }
        parsed.push(policy);
    }
    parsed
}

fn parse_policy(v: &mut Violations, at: &str, policy: &pb::SlaPolicy) -> Option<SlaPolicy> {
    let field = |name: &str| format!("{at}.{name}");
    let name = v.check(
        field("name").as_str(),
        Text::<PolicyName>::parse(&policy.name),
    );
    let kinds = v.each(&field("kinds"), &policy.kinds, MAX_MATCHED, |k| {
        TaskKind::parse(k).map(|k| k.as_str().to_owned())
    });
    let priorities = enums(v, &field("priorities"), &policy.priorities, MAX_MATCHED);
    let mut within = |name: &str, span: Option<&prost_types::Duration>| {
        span.and_then(|span| v.check(field(name).as_str(), duration(span, SLA_WITHIN)))
    };
    let first_response_within = within(
        "first_response_within",
        policy.first_response_within.as_ref(),
    );
    let resolution_within = within("resolution_within", policy.resolution_within.as_ref());
    let at_risk_before = within("at_risk_before", policy.at_risk_before.as_ref());
    if policy.first_response_within.is_none() && policy.resolution_within.is_none() {
        v.add(at, "give first_response_within, resolution_within or both");
    }
    let counted_from = v.check(
        field("counted_from").as_str(),
        counted_from(policy.counted_from),
    );
    let business_hours = policy
        .business_hours
        .as_ref()
        .map(|hours| business_hours(v, &field("business_hours"), hours));
    if let Some(Some(hours)) = &business_hours {
        let longest = first_response_within.max(resolution_within);
        if longest.is_some_and(|within| !hours.fits(within)) {
            v.add(
                field("business_hours").as_str(),
                "too few hours a week for the clocks' times to run out within eight years",
            );
        }
    }
    let pause_statuses: Vec<Status> = enums(v, &field("pause_statuses"), &policy.pause_statuses, 3);
    if pause_statuses.iter().any(|s| !may_pause(*s)) {
        v.add(
            field("pause_statuses").as_str(),
            "only OPEN, IN_PROGRESS and IN_REVIEW pause",
        );
    }
    Some(SlaPolicy {
        name: name?.into_string(),
        kinds,
        priorities,
        first_response_within,
        resolution_within,
        at_risk_before,
        counted_from: counted_from?,
        business_hours: business_hours.flatten(),
        pause_statuses,
    })
}

fn counted_from(number: i32) -> Result<SlaCountedFrom, String> {
    let proto = pb::SlaCountedFrom::try_from(number)
        .map_err(|_| format!("{number} is not a known value"))?;
    Ok(match proto {
        pb::SlaCountedFrom::Unspecified | pb::SlaCountedFrom::SourceOccurredAt => {
            SlaCountedFrom::SourceOccurredAt
        }
        pb::SlaCountedFrom::CreatedAt => SlaCountedFrom::CreatedAt,
    })
}

fn business_hours(
    v: &mut Violations,
    at: &str,
    hours: &pb::BusinessHours,
) -> Option<BusinessHours> {
    let field = |name: &str| format!("{at}.{name}");
    let days: Vec<u8> = v.each(
        &field("days"),
        &hours.days,
        7,
        |day| match pb::Weekday::try_from(*day) {
            Ok(pb::Weekday::Unspecified) | Err(_) => Err(format!("{day} is not a day")),
            Ok(day) => Ok(day as i32 as u8),
        },
    );
    let mut unique = days.clone();
    unique.sort_unstable();
    unique.dedup();
    if unique.is_empty() || unique.len() != hours.days.len() {
        v.add(field("days").as_str(), "give one to seven days, each once");
    }
    let time = |text: &str| {
        NaiveTime::parse_from_str(text, "%H:%M").map_err(|_| "must be a time as HH:MM")
    };
    let opens = v.check(field("opens").as_str(), time(&hours.opens));
    let closes = v.check(field("closes").as_str(), time(&hours.closes));
    let (opens, closes) = (opens?, closes?);
    if opens >= closes {
        v.add(field("closes").as_str(), "must be after opens");
    }
    Some(BusinessHours {
        days: unique,
        opens,
        closes,
    })
}

/// A policy as WorkspaceSettings shows it.
pub(super) fn policy_to_proto(policy: SlaPolicy) -> pb::SlaPolicy {
    let span = |span: Option<std::time::Duration>| {
        span.and_then(|span| prost_types::Duration::try_from(span).ok())
    };
    pb::SlaPolicy {
        name: policy.name,
        kinds: policy.kinds,
        priorities: policy
            .priorities
            .into_iter()
            .map(|p| pb::TaskPriority::from(p) as i32)
            .collect(),
        first_response_within: span(policy.first_response_within),
        resolution_within: span(policy.resolution_within),
        at_risk_before: span(policy.at_risk_before),
        counted_from: match policy.counted_from {
            SlaCountedFrom::SourceOccurredAt => pb::SlaCountedFrom::SourceOccurredAt,
            SlaCountedFrom::CreatedAt => pb::SlaCountedFrom::CreatedAt,
        } as i32,
        business_hours: policy.business_hours.map(|hours| pb::BusinessHours {
            days: hours.days.into_iter().map(i32::from).collect(),
            opens: hours.opens.format("%H:%M").to_string(),
            closes: hours.closes.format("%H:%M").to_string(),
        }),
        pause_statuses: policy
            .pause_statuses
            .into_iter()
            .map(|s| pb::TaskStatus::from(s) as i32)
            .collect(),
    }
}
