//! Errors tonic raises itself on Docket's paths, before any handler runs, given Docket's error
//! model (`error`): the same codes and reasons a handler's error would carry.

use http::HeaderMap;
use tonic::{Code, Status};

use super::{error::ApiError, pb::ErrorReason};

/// Gives the errors tonic raises itself on Docket's paths, before any handler runs, Docket's
/// error model: a call that sent no request message (tonic: INTERNAL), a message over the size
/// limit, a method the service has not. They travel "trailers-only", in the response headers,
/// without the `grpc-status-details-bin` every error Docket makes carries, which tells them apart.
pub fn give_error_model(headers: &mut HeaderMap) {
    let Some(status) = Status::from_header_map(headers) else {
        return;
    };
    if status.code() == Code::Ok || !status.details().is_empty() {
        return;
    }
    let Some(error) = docket_error(status.code(), status.message()) else {
        return;
    };
    let status = Status::from(error);
    if let Err(e) = status.add_header(headers) {
        tracing::warn!(error = %e, "could not write an error's details");
    }
}

/// What a bare tonic error means for the caller, for the codes tonic raises before a handler.
fn docket_error(code: Code, message: &str) -> Option<ApiError> {
    let error = match code {
        // No request message, or a compressed message without a declared encoding.
        Code::Internal => ApiError::Malformed(message.to_owned()),
        Code::OutOfRange | Code::ResourceExhausted => ApiError::rejected(
            Code::ResourceExhausted,
            ErrorReason::RequestTooLarge,
            message,
        ),
        Code::Unimplemented => {
            let message = if message.is_empty() {
                "this service has no such method"
            } else {
                message
            };
            ApiError::rejected(Code::Unimplemented, ErrorReason::Unimplemented, message)
        }
        _ => return None,
    };
    Some(error)
}

#[cfg(test)]
mod tests {
    use tonic_types::StatusExt;

    use super::*;

    #[test]
    fn bare_errors_get_a_reason_and_docket_errors_are_left_alone() {
        let mut headers = HeaderMap::new();
        Status::internal("Missing request message.")
            .add_header(&mut headers)
            .expect("headers");
        give_error_model(&mut headers);
        let status = Status::from_header_map(&headers).expect("status");
        assert_eq!(status.code(), Code::InvalidArgument);
        let info = status.get_details_error_info().expect("ErrorInfo");
        assert_eq!(info.reason, "MALFORMED_REQUEST");

        let mut headers = HeaderMap::new();
        let ours: Status = ApiError::internal("a real fault").into();
        ours.add_header(&mut headers).expect("headers");
        give_error_model(&mut headers);
        let status = Status::from_header_map(&headers).expect("status");
        assert_eq!(status.code(), Code::Internal, "Docket's own INTERNAL stays");
    }
}
