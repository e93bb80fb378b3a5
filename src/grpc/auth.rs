//! The tower layer that authenticates every RPC except health and reflection, checks the scope the
//! RPC declares (`docket.v1.required_scope` in the proto), records the actor on the call's span,
//! and hands the handler a [`Caller`](crate::auth::Caller) in the request extensions; a streamed
//! answer is checked again while it runs (`reauthorize`), and its pages are counted against its
//! caller's share of the stream buffers (`call::set_owner`). It sits with the gRPC edge:
//! `crate::auth` decides who is calling and knows nothing of tonic.

use std::{
    collections::HashMap,
    sync::{Arc, LazyLock},
    task::{Context, Poll},
};

use futures_util::future::BoxFuture;
use tonic::{Status, body::Body};
use tower::{Layer, Service};

use super::{
    error::ApiError,
    pb,
    reauthorize::{AlsoNeeds, Grant},
    request_context::RequestId,
};
use crate::auth::{AuthError, Authenticator, Scope};

/// Services anyone may call: probes and tooling must work without credentials.
const PUBLIC_PREFIXES: &[&str] = &["/grpc.health.v1.Health/", "/grpc.reflection."];

static REQUIRED_SCOPES: LazyLock<HashMap<&'static str, Scope>> = LazyLock::new(|| {
    pb::methods::METHOD_SCOPES
        .iter()
        .filter_map(|(path, scope)| Some((*path, from_proto(*scope)?)))
        .collect()
});

/// The scope the RPC at this gRPC path requires, if it is a Docket RPC.
pub fn required_scope(path: &str) -> Option<Scope> {
    REQUIRED_SCOPES.get(path).copied()
}

/// Whether the RPC at this gRPC path answers with a stream.
fn is_streaming(path: &str) -> bool {
    pb::methods::STREAMING_METHODS.contains(&path)
}

fn from_proto(scope: pb::Scope) -> Option<Scope> {
    match scope {
        pb::Scope::Unspecified => None,
        pb::Scope::TasksRead => Some(Scope::TasksRead),
        pb::Scope::TasksWrite => Some(Scope::TasksWrite),
        pb::Scope::DirectoryRead => Some(Scope::DirectoryRead),
        pb::Scope::DirectoryWrite => Some(Scope::DirectoryWrite),
        pb::Scope::WorkspaceAdmin => Some(Scope::WorkspaceAdmin),
    }
}

#[derive(Clone)]
pub struct AuthLayer {
    authenticator: Arc<Authenticator>,
}

impl AuthLayer {
    pub fn new(authenticator: Arc<Authenticator>) -> Self {
        Self { authenticator }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            authenticator: self.authenticator.clone(),
        }
    }
}

#[derive(Clone)]
pub struct AuthService<S> {
    inner: S,
    authenticator: Arc<Authenticator>,
}

impl<S, ReqBody> Service<http::Request<ReqBody>> for AuthService<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<ReqBody>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let path = request.uri().path();
        if PUBLIC_PREFIXES
            .iter()
            .any(|prefix| path.starts_with(prefix))
        {
            return Box::pin(inner.call(request));
        }
        // Paths that are not Docket RPCs still need credentials; the router then answers
        // UNIMPLEMENTED, so unauthenticated callers learn nothing about what exists.
        let required = required_scope(path);
        let streaming = is_streaming(path);
        // Two credentials would leave which one speaks to whichever a proxy or a library picks.
        let mut values = request.headers().get_all("authorization").iter();
        let authorization = match (values.next(), values.next()) {
            (Some(value), None) => value.to_str().ok().map(str::to_owned),
            (None, _) => None,
            (Some(_), Some(_)) => {
                return Box::pin(async { Ok(reject(AuthError::Unauthenticated)) });
            }
        };
        let authenticator = self.authenticator.clone();
        Box::pin(async move {
            let mut caller = match authenticator.authenticate(authorization.as_deref()).await {
                Ok(caller) => caller,
                Err(e) => return Ok(reject(e)),
            };
            tracing::Span::current().record("actor", tracing::field::display(&caller.actor));
            if let Some(scope) = required
                && !caller.scopes.allows(scope)
            {
                return Ok(reject(AuthError::MissingScope(scope)));
            }
            caller.request_id = request
                .extensions()
                .get::<RequestId>()
                .map(|id| id.as_str().to_owned());
            request.extensions_mut().insert(caller.clone());
            crate::call::set_owner(&format!("{}/{}", caller.workspace_id, caller.actor));
            let response = inner.call(request).await?;
            if !streaming {
                return Ok(response);
            }
            let (mut parts, body) = response.into_parts();
            let needs = required
                .into_iter()
                .chain(parts.extensions.remove::<AlsoNeeds>().map(|also| also.0))
                .collect();
            let grant = Grant {
                authenticator,
                authorization,
                caller,
                needs,
            };
            Ok(http::Response::from_parts(parts, grant.guard(body)))
        })
    }
}

fn reject(error: AuthError) -> http::Response<Body> {
    Status::from(ApiError::from(error)).into_http()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_docket_rpc_requires_a_known_scope() {
        assert!(!pb::methods::METHOD_SCOPES.is_empty());
        for (path, scope) in pb::methods::METHOD_SCOPES {
            assert!(
                from_proto(*scope).is_some(),
                "{path} requires an unknown scope"
            );
            assert!(required_scope(path).is_some(), "{path}");
        }
        assert_eq!(required_scope("/grpc.health.v1.Health/Check"), None);
    }
}
