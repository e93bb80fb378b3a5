//! Queries on `sla_policies`: a workspace's current policies, in order, and replacing them (the
//! replaced ones are retired, not deleted: tasks created under them keep their clocks by them).

use chrono::NaiveTime;
use diesel::{dsl::now, prelude::*};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::schema::sla_policies;
use crate::domain::sla_policies::{BusinessHours, SlaCountedFrom, SlaPolicy};
use crate::domain::vocabulary::{Priority, Status, UnknownName};

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = sla_policies, check_for_backend(diesel::pg::Pg))]
struct PolicyRow {
    name: String,
    kinds: Vec<String>,
    priorities: Vec<String>,
    first_response_secs: Option<i64>,
    resolution_secs: Option<i64>,
    at_risk_secs: Option<i64>,
    counted_from: String,
    business_days: Option<Vec<i16>>,
    business_opens: Option<NaiveTime>,
    business_closes: Option<NaiveTime>,
    pause_statuses: Vec<String>,
}

#[derive(Insertable)]
#[diesel(table_name = sla_policies)]
struct NewPolicyRow<'a> {
    workspace_id: Uuid,
    position: i32,
    name: &'a str,
    kinds: &'a [String],
    priorities: Vec<&'static str>,
    first_response_secs: Option<i64>,
    resolution_secs: Option<i64>,
    at_risk_secs: Option<i64>,
    counted_from: &'static str,
    business_days: Option<Vec<i16>>,
    business_opens: Option<NaiveTime>,
    business_closes: Option<NaiveTime>,
    pause_statuses: Vec<&'static str>,
}

fn secs(span: Option<std::time::Duration>) -> Option<i64> {
    span.map(|span| span.as_secs() as i64)
}

/// The workspace's current policies, in the order they are matched.
pub async fn current(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
) -> QueryResult<Vec<SlaPolicy>> {
    let rows: Vec<PolicyRow> = sla_policies::table
        .filter(sla_policies::workspace_id.eq(workspace_id))
        .filter(sla_policies::retired_at.is_null())
        .order(sla_policies::position)
        .select(PolicyRow::as_select())
        .load(conn)
        .await?;
    rows.into_iter().map(policy).collect()
}

/// Retires the workspace's current policies and puts `policies` in their place, in order.
pub async fn replace(
    conn: &mut AsyncPgConnection,
    workspace_id: Uuid,
    policies: &[SlaPolicy],
) -> QueryResult<()> {
    diesel::update(sla_policies::table)
        .filter(sla_policies::workspace_id.eq(workspace_id))
        .filter(sla_policies::retired_at.is_null())
        .set(sla_policies::retired_at.eq(now))
        .execute(conn)
        .await?;
    let rows: Vec<NewPolicyRow> = policies
        .iter()
        .enumerate()
        .map(|(position, p)| NewPolicyRow {
            workspace_id,
            position: position as i32,
            name: &p.name,
            kinds: &p.kinds,
            priorities: p.priorities.iter().map(|x| x.as_str()).collect(),
            first_response_secs: secs(p.first_response_within),
            resolution_secs: secs(p.resolution_within),
            at_risk_secs: secs(p.at_risk_before),
            counted_from: p.counted_from.as_str(),
            business_days: p
                .business_hours
                .as_ref()
                .map(|h| h.days.iter().map(|d| i16::from(*d)).collect()),
            business_opens: p.business_hours.as_ref().map(|h| h.opens),
            business_closes: p.business_hours.as_ref().map(|h| h.closes),
            pause_statuses: p.pause_statuses.iter().map(|s| s.as_str()).collect(),
        })
        .collect();
    diesel::insert_into(sla_policies::table)
        .values(&rows)
        .execute(conn)
        .await?;
    Ok(())
}

/// A stored policy, read through the domain's words: a name it does not know is an error.
fn policy(row: PolicyRow) -> QueryResult<SlaPolicy> {
    let unreadable = |what: String| {
        diesel::result::Error::DeserializationError(format!("a stored SLA policy: {what}").into())
    };
    fn vocabulary<T: std::str::FromStr<Err = UnknownName>>(
        names: &[String],
    ) -> QueryResult<Vec<T>> {
        names
            .iter()
            .map(|name| {
                name.parse().map_err(|e: UnknownName| {
                    diesel::result::Error::DeserializationError(
                        format!("a stored SLA policy: {e}").into(),
                    )
                })
            })
            .collect()
    }
    let span = |secs: Option<i64>| secs.map(|s| std::time::Duration::from_secs(s.max(0) as u64));
    let business_hours = match (row.business_days, row.business_opens, row.business_closes) {
        (Some(days), Some(opens), Some(closes)) => Some(BusinessHours {
            days: days.into_iter().map(|d| d as u8).collect(),
            opens,
            closes,
        }),
        _ => None,
    };
    Ok(SlaPolicy {
        name: row.name,
        kinds: row.kinds,
        priorities: vocabulary::<Priority>(&row.priorities)?,
        first_response_within: span(row.first_response_secs),
        resolution_within: span(row.resolution_secs),
        at_risk_before: span(row.at_risk_secs),
        counted_from: SlaCountedFrom::parse(&row.counted_from)
            .ok_or_else(|| unreadable(format!("counted from {:?}", row.counted_from)))?,
        business_hours,
        pause_statuses: vocabulary::<Status>(&row.pause_statuses)?,
    })
}
