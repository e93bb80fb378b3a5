//! A tower layer giving the errors tonic raises itself on Docket's paths, before any handler runs,
//! Docket's error model: a call that sent no request message (tonic: INTERNAL), a message over the
//! size limit, a method the service does not have. Every error of a Docket RPC then carries an
//! ErrorInfo with a reason, and none of these caller mistakes is reported as INTERNAL.
//!
//! Such errors travel "trailers-only", in the response headers, without the
//! `grpc-status-details-bin` every error Docket makes carries; that is how they are told apart.

use std::task::{Context, Poll};

use futures_util::future::BoxFuture;
use http::HeaderMap;
use tonic::{Code, Status};
use tower::{Layer, Service};

use super::{error::ApiError, pb::ErrorReason};

#[derive(Debug, Clone, Copy, Default)]
pub struct BareErrorsLayer;

impl<S> Layer<S> for BareErrorsLayer {
    type Service = BareErrors<S>;

    fn layer(&self, inner: S) -> Self::Service {
        BareErrors { inner }
    }
}

#[derive(Debug, Clone)]
pub struct BareErrors<S> {
    inner: S,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for BareErrors<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
{
    type Response = http::Response<ResBody>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let docket = request.uri().path().starts_with("/docket.v1.");
        // The clone that was polled ready is the one that must be called.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let mut response = inner.call(request).await?;
            if docket {
                give_error_model(response.headers_mut());
            }
            Ok(response)
        })
    }
}

/// Rewrites a bare error status in these headers as Docket's, if they hold one.
fn give_error_model(headers: &mut HeaderMap) {
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
