//! Streams that stay authorised: a streamed answer (a listing, a watch) may run for as long as its
//! connection lives, far longer than the credentials it was opened with are trusted. Its caller is
//! checked again every [`Authenticator::recheck_every`], through the same cache as every call, and
//! the stream ends with UNAUTHENTICATED or PERMISSION_DENIED once its token is revoked or expired,
//! its user deactivated, or its scopes no longer allow what it streams; a check the database
//! cannot answer ends it UNAVAILABLE, to be opened again.
//!
//! Done here, around the response body, so that every stream is covered the same way and no
//! handler has to remember it. The check runs when the body is polled, before anything more is
//! sent: a client that reads nothing holds the stream still, but receives nothing more.

use std::{
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use futures_util::future::BoxFuture;
use http::HeaderMap;
use http_body::Frame;
use tokio::time::{Instant, Sleep};
use tokio_util::bytes::Bytes;
use tonic::{Status, body::Body};

use super::error::ApiError;
use crate::auth::{AuthError, Authenticator, Caller, Scope};

/// What a stream needs beyond its RPC's scope, which a handler puts in its response's
/// extensions (a watch of the whole workspace needs workspace:admin).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlsoNeeds(pub Scope);

/// The longest one check may take: a database that does not answer ends the stream.
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// The caller of a stream and what it must keep being allowed.
pub struct Grant {
    pub authenticator: Arc<Authenticator>,
    /// The `authorization` header the stream was opened with.
    pub authorization: Option<String>,
    pub caller: Caller,
    pub needs: Vec<Scope>,
}

impl Grant {
    /// The body, checked again every [`Authenticator::recheck_every`].
    pub fn guard(self, body: Body) -> Body {
        let every = self.authenticator.recheck_every();
        Body::new(Reauthorized {
            inner: body,
            grant: Arc::new(self),
            every,
            next: Box::pin(tokio::time::sleep(every)),
            checking: None,
            ended: false,
        })
    }

    /// Why the stream may not go on, if it may not.
    async fn revoked(self: Arc<Self>) -> Option<Status> {
        let authorization = self.authorization.as_deref();
        let checked = tokio::time::timeout(
            CHECK_TIMEOUT,
            self.authenticator.authenticate(authorization),
        );
        let caller = match checked.await {
            Ok(Ok(caller)) => caller,
            Ok(Err(error)) => return Some(refusal(error)),
            Err(_) => return Some(Status::from(unavailable())),
        };
        if caller.workspace_id != self.caller.workspace_id || caller.actor != self.caller.actor {
            return Some(refusal(AuthError::Unauthenticated));
        }
        self.needs
            .iter()
            .find(|scope| !caller.scopes.allows(**scope))
            .map(|scope| refusal(AuthError::MissingScope(*scope)))
    }
}

fn refusal(error: AuthError) -> Status {
    Status::from(ApiError::from(error))
}

fn unavailable() -> ApiError {
    ApiError::Unavailable(Box::new(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        format!("checking the stream's credentials took over {CHECK_TIMEOUT:?}"),
    )))
}

struct Reauthorized {
    inner: Body,
    grant: Arc<Grant>,
    every: Duration,
    next: Pin<Box<Sleep>>,
    checking: Option<BoxFuture<'static, Option<Status>>>,
    ended: bool,
}

impl http_body::Body for Reauthorized {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        if self.ended {
            return Poll::Ready(None);
        }
        loop {
            if let Some(checking) = &mut self.checking {
                // Nothing more goes out until the check has answered.
                let Poll::Ready(verdict) = checking.as_mut().poll(cx) else {
                    return Poll::Pending;
                };
                self.checking = None;
                if let Some(status) = verdict {
                    self.ended = true;
                    return Poll::Ready(Some(Ok(Frame::trailers(trailers(&status)))));
                }
                let next = Instant::now() + self.every;
                self.next.as_mut().reset(next);
            }
            if self.next.as_mut().poll(cx).is_pending() {
                break;
            }
            self.checking = Some(Box::pin(self.grant.clone().revoked()));
        }
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.ended || http_body::Body::is_end_stream(&self.inner)
    }
}

/// The trailers that end a gRPC stream with `status`.
fn trailers(status: &Status) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if status.add_header(&mut headers).is_err() {
        // Only a message that cannot be a header value fails; the code alone still says it.
        headers.insert("grpc-status", (status.code() as i32).into());
    }
    headers
}
