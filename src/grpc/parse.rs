//! Reading requests: one parser per request message (an impl of [`Parse`], beside its service's
//! handlers) turns it into checked domain values, gathering every violation in one
//! [`Violations`]; a handler calls [`parse`] and gets either those values or INVALID_ARGUMENT
//! naming every bad field. The readers here are the pieces the parsers share.

use chrono::{DateTime, NaiveDate, Utc};
use tonic::Status;
use uuid::Uuid;

use super::{
    enums::{FromProto, required},
    error::ApiError,
    pb,
    subject::{Subject, note},
};
use crate::domain::{
    body::BodyFormat,
    directory::Page,
    input::{Violations, quoted},
    tasks::Due,
};

/// Longest page cursor read; the cursors Docket hands out are far shorter.
const MAX_CURSOR_CHARS: usize = 2048;
/// Most body formats one read may name (there are three; repeats are harmless).
const MAX_BODY_FORMATS: usize = 16;

/// A request message read into checked domain values.
pub(crate) trait Parse {
    type Checked;

    /// The checked values, or `None` with at least one violation recorded.
    fn parse(&self, violations: &mut Violations) -> Option<Self::Checked>;
}

/// The checked values of a request, or INVALID_ARGUMENT `VALIDATION_ERROR` naming its bad fields.
/// Notes the ids the request names, for the errors of the call (`subject`).
pub(crate) fn parse<R: Parse + Subject>(request: &R) -> Result<R::Checked, Status> {
    note(request);
    let mut violations = Violations::default();
    let checked = request.parse(&mut violations);
    match (violations.finish(()), checked) {
        (Ok(()), Some(checked)) => Ok(checked),
        (Err(invalid), _) => Err(invalid.into()),
        (Ok(()), None) => {
            Err(ApiError::internal("a request parser refused without a reason").into())
        }
    }
}

/// Parsers of the requests whose only content is one id field (`one_id!(task_id: GetTask...)`).
macro_rules! one_id {
    ($field:ident: $($request:ident),+ $(,)?) => {$(
        impl $crate::grpc::parse::Parse for $crate::grpc::pb::$request {
            type Checked = uuid::Uuid;

            fn parse(
                &self,
                violations: &mut $crate::domain::input::Violations,
            ) -> Option<uuid::Uuid> {
                violations.check(stringify!($field), $crate::grpc::parse::uuid(&self.$field))
            }
        }
    )+};
}
pub(crate) use one_id;

/// The paths of an update mask; none is an empty mask.
pub(crate) fn mask_paths(mask: Option<&prost_types::FieldMask>) -> &[String] {
    mask.map(|mask| mask.paths.as_slice()).unwrap_or_default()
}

/// A UUID field.
pub(crate) fn uuid(text: &str) -> Result<Uuid, &'static str> {
    Uuid::parse_str(text.trim()).map_err(|_| "must be a UUID")
}

/// A UUID field that may be empty.
pub(crate) fn optional_uuid(text: &str) -> Result<Option<Uuid>, &'static str> {
    if text.is_empty() {
        return Ok(None);
    }
    uuid(text).map(Some)
}

/// A list of UUIDs, at most `max`.
pub(crate) fn uuids(
    violations: &mut Violations,
    field: &str,
    texts: &[String],
    max: usize,
) -> Vec<Uuid> {
    violations.each(field, texts, max, |text| uuid(text))
}

/// A list of enum values, each set, at most `max`.
pub(crate) fn enums<T: FromProto>(
    violations: &mut Violations,
    field: &str,
    numbers: &[i32],
    max: usize,
) -> Vec<T> {
    violations.each(field, numbers, max, |number| required(*number))
}

/// An instant, within what `google.protobuf.Timestamp` allows: 0001-01-01 to 9999-12-31 (UTC),
/// nanoseconds 0 to 999,999,999. PostgreSQL holds all of them.
pub(crate) fn instant(time: &prost_types::Timestamp) -> Result<DateTime<Utc>, &'static str> {
    const FIRST: i64 = -62_135_596_800; // 0001-01-01T00:00:00Z
    const LAST: i64 = 253_402_300_799; // 9999-12-31T23:59:59Z
    u32::try_from(time.nanos)
        .ok()
        .filter(|nanos| *nanos < 1_000_000_000)
        .filter(|_| (FIRST..=LAST).contains(&time.seconds))
        .and_then(|nanos| DateTime::from_timestamp(time.seconds, nanos))
        .ok_or("not a valid timestamp (0001-01-01 to 9999-12-31, nanos 0 to 999,999,999)")
}

/// An optional instant field.
pub(crate) fn optional_instant(
    violations: &mut Violations,
    field: &str,
    time: Option<&prost_types::Timestamp>,
) -> Option<DateTime<Utc>> {
    time.and_then(|time| violations.check(field, instant(time)))
}

/// An instant that has passed (a minute of leeway for the caller's clock).
pub(crate) fn past_instant(time: &prost_types::Timestamp) -> Result<DateTime<Utc>, &'static str> {
    let at = instant(time)?;
    if at > Utc::now() + chrono::Duration::minutes(1) {
        return Err("must not be in the future");
    }
    Ok(at)
}

/// A task's `due`: a calendar date, or an instant; unset is `None`.
pub(crate) fn due(violations: &mut Violations, due: Option<&pb::Due>) -> Option<Option<Due>> {
    match due.and_then(|due| due.value.as_ref()) {
        None => Some(None),
        Some(pb::due::Value::Date(date)) => {
            let day = u32::try_from(date.month)
                .ok()
                .zip(u32::try_from(date.day).ok())
                .filter(|_| (1..=9999).contains(&date.year))
                .and_then(|(month, day)| NaiveDate::from_ymd_opt(date.year, month, day))
                .ok_or("not a calendar date (years 1 to 9999)");
            Some(Some(Due::Date(violations.check("due.date", day)?)))
        }
        Some(pb::due::Value::Time(time)) => {
            Some(Some(Due::At(violations.check("due.time", instant(time))?)))
        }
    }
}

/// `page_cursor` and `page_limit` of a list request (limit 0 means no limit).
pub(crate) fn page(violations: &mut Violations, cursor: &str, limit: i32) -> Option<Page> {
    let limit = violations.check(
        "page_limit",
        u64::try_from(limit).map_err(|_| "must not be negative"),
    );
    let cursor = violations.check(
        "page_cursor",
        if cursor.chars().count() > MAX_CURSOR_CHARS {
            Err(format!(
                "{} is not a cursor Docket gave out",
                quoted(cursor)
            ))
        } else {
            Ok((!cursor.is_empty()).then(|| cursor.to_owned()))
        },
    );
    Some(Page {
        cursor: cursor?,
        limit: Some(limit?).filter(|limit| *limit > 0),
    })
}

/// The body formats a read asks for; none means all three.
pub(crate) fn body_formats(violations: &mut Violations, formats: &[i32]) -> Vec<BodyFormat> {
    if formats.is_empty() {
        return BodyFormat::ALL.to_vec();
    }
    let mut read: Vec<BodyFormat> = enums(violations, "body_formats", formats, MAX_BODY_FORMATS);
    read.sort_unstable();
    read.dedup();
    read
}

/// A span of time within `range` (a scheduled action's delay, a reminder's time before the due).
pub(crate) fn duration(
    span: &prost_types::Duration,
    range: std::ops::RangeInclusive<std::time::Duration>,
) -> Result<std::time::Duration, String> {
    let valid = (0..1_000_000_000).contains(&span.nanos) && span.seconds >= 0;
    let span = valid
        .then(|| std::time::Duration::new(span.seconds as u64, span.nanos as u32))
        .filter(|span| range.contains(span));
    span.ok_or_else(|| {
        format!(
            "must be from {} to {} seconds",
            range.start().as_secs(),
            range.end().as_secs()
        )
    })
}

/// The reopen reason of a scheduled reopen that names none.
pub(crate) fn reminder_rule() -> crate::domain::input::Text<crate::domain::tasks::Reason> {
    crate::domain::input::Text::parse(crate::domain::timers::REMINDER_RULE)
        .unwrap_or_else(|_| unreachable!("REMINDER_RULE is a valid reason"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_read_within_the_protobuf_range() {
        let at = |seconds, nanos| instant(&prost_types::Timestamp { seconds, nanos });
        assert!(at(0, 0).is_ok());
        assert!(at(253_402_300_799, 999_999_999).is_ok());
        assert!(at(253_402_300_800, 0).is_err(), "year 10000");
        assert!(at(-62_135_596_801, 0).is_err(), "before year 1");
        assert!(
            at(-8_000_000_000_000, 0).is_err(),
            "before PostgreSQL's range"
        );
        assert!(at(0, -1).is_err());
        assert!(at(0, 1_000_000_000).is_err());
    }
}
