//! The one error mapping, checked: reasons, codes, field violations and their size budget.

use super::*;

fn info(status: &Status) -> (String, String) {
    let info = status.get_details_error_info().expect("ErrorInfo detail");
    (info.reason, info.domain)
}

#[test]
fn reasons_travel_without_the_enum_prefix() {
    assert_eq!(reason_code(ErrorReason::TaskNotFound), "TASK_NOT_FOUND");
    assert_eq!(
        reason_code(ErrorReason::TaskAssignmentsLowerLimitViolation),
        "TASK_ASSIGNMENTS_LOWER_LIMIT_VIOLATION"
    );
}

#[test]
fn validation_errors_name_every_field() {
    let mut violations = crate::domain::input::Violations::default();
    violations.add("title", "must not be empty");
    violations.add("tags[2]", "longer than 64 characters");
    let status: Status = ApiError::Validation(violations.finish(()).expect_err("invalid")).into();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        info(&status),
        ("VALIDATION_ERROR".into(), "docket.v1".into())
    );
    let bad = status.get_details_bad_request().expect("BadRequest detail");
    let fields: Vec<_> = bad
        .field_violations
        .iter()
        .map(|v| v.field.as_str())
        .collect();
    assert_eq!(fields, ["title", "tags[2]"]);
    assert!(status.message().contains("title: must not be empty"));
}

#[test]
fn validation_errors_stay_within_their_budget() {
    let mut violations = crate::domain::input::Violations::default();
    for index in 0..1000 {
        let value = "é".repeat(10_000);
        violations.add(
            crate::domain::input::Field::Item("tags", index),
            format!("{} is {}", crate::domain::input::quoted(&value), value),
        );
    }
    let status: Status = ApiError::Validation(violations.finish(()).expect_err("invalid")).into();
    let mut headers = http::HeaderMap::new();
    status.add_header(&mut headers).expect("headers");
    let size: usize = headers
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len())
        .sum();
    assert!(size < 6 * 1024, "{size} bytes");
    let info = status.get_details_error_info().expect("ErrorInfo");
    assert_eq!(info.metadata["violations"], "1000");
    assert!(
        status.message().ends_with("; and 997 more"),
        "{}",
        status.message()
    );
}

#[test]
fn rejections_keep_their_code_and_reason() {
    let status: Status =
        ApiError::rejected(Code::NotFound, ErrorReason::TaskNotFound, "task not found").into();
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(info(&status).0, "TASK_NOT_FOUND");
    assert_eq!(status.message(), "task not found");
    assert!(status.get_details_bad_request().is_none());
}

#[test]
fn internal_errors_reveal_nothing() {
    let source = std::io::Error::other("relation \"tasks\" does not exist at SELECT secret");
    let status: Status = ApiError::internal(source).into();
    assert_eq!(status.code(), Code::Internal);
    assert_eq!(info(&status).0, "INTERNAL");
    assert!(!status.message().contains("secret"), "{}", status.message());
    assert!(
        !status.message().contains("relation"),
        "{}",
        status.message()
    );
}

#[test]
fn lost_connections_are_unavailable_and_other_query_errors_internal() {
    use diesel::result::{DatabaseErrorKind, Error};
    let closed = DomainError::from(Error::DatabaseError(
        DatabaseErrorKind::ClosedConnection,
        Box::new("connection closed".to_owned()),
    ));
    let status: Status = ApiError::from(closed).into();
    assert_eq!(status.code(), Code::Unavailable);
    assert_eq!(info(&status).0, "DATABASE_UNAVAILABLE");

    let status: Status = ApiError::from(DomainError::from(Error::NotFound)).into();
    assert_eq!(status.code(), Code::Internal);
}
