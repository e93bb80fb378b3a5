//! Authentication and authorization of Docket RPCs: who a bearer token speaks for, and what it
//! may do. The gRPC layer in front of every service but health and reflection
//! (`crate::grpc::auth`) resolves `authorization: Bearer <token>` to a [`Caller`] here and checks
//! the scope the RPC declares in the proto; handlers then apply the per-resource rules.
//!
//! Verified API tokens and user lookups are cached for `DOCKET_AUTH_CACHE_TTL` (default 5 s), so a
//! busy caller costs no database round trip per call, and a revoked token or a deactivated user
//! stops working within that time. Unknown tokens are cached too, so spraying random tokens does
//! not turn into a query per call.

pub mod api_token;
pub mod caller;
pub mod jwt;

use std::{sync::Arc, time::Duration};

use moka::future::Cache;
use prometheus::IntCounterVec;
use uuid::Uuid;

pub use caller::{Actor, Caller, Scope, ScopeSet};
pub use jwt::{JwtConfigError, JwtVerifier};

use crate::{
    config::AuthConfig,
    db::{self, DbError, PgPool},
};

/// Entries kept per cache; old ones are evicted first.
const CACHE_CAPACITY: u64 = 100_000;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No credentials, or credentials that are not valid (deliberately not saying which part).
    #[error("missing or invalid credentials")]
    Unauthenticated,
    #[error("this call needs the {0} scope")]
    MissingScope(Scope),
    #[error("cannot check credentials: {0}")]
    Lookup(Arc<DbError>),
}

/// Turns bearer tokens into callers.
pub struct Authenticator {
    pool: PgPool,
    jwt: Option<JwtVerifier>,
    /// API token hash → the caller it stands for, or `None` for no live token.
    tokens: Cache<[u8; 32], Option<Caller>>,
    /// (workspace, user) → whether the user exists there and is active.
    users: Cache<(Uuid, Uuid), bool>,
    /// `docket_auth_cache_lookups_total`, by cache and result.
    lookups: IntCounterVec,
    /// How often a long stream checks its caller again.
    recheck_every: Duration,
}

/// The longest an open stream goes without its caller checked again.
const LONGEST_RECHECK: Duration = Duration::from_secs(1);

impl Authenticator {
    /// Counts its cache hits and misses in `lookups` (labels: cache, result).
    pub fn new(
        pool: PgPool,
        config: &AuthConfig,
        lookups: IntCounterVec,
    ) -> Result<Self, JwtConfigError> {
        Ok(Self {
            pool,
            jwt: JwtVerifier::from_config(config)?,
            tokens: cache(config),
            users: cache(config),
            lookups,
            recheck_every: config.auth_cache_ttl.min(LONGEST_RECHECK),
        })
    }

    /// How often an open stream should check its caller again ([`authenticate`] with the same
    /// credentials): often enough that it ends within about `DOCKET_AUTH_CACHE_TTL` of a
    /// revocation, and cheap, since the answer comes from the cache but once a TTL per token.
    ///
    /// [`authenticate`]: Self::authenticate
    pub fn recheck_every(&self) -> Duration {
        self.recheck_every
    }

    fn count(&self, cache: &str, fresh: bool) {
        let result = if fresh { "miss" } else { "hit" };
        self.lookups.with_label_values(&[cache, result]).inc();
    }

    /// The caller an `authorization` header value speaks for.
    pub async fn authenticate(&self, authorization: Option<&str>) -> Result<Caller, AuthError> {
        let token = authorization
            .and_then(bearer_token)
            .ok_or(AuthError::Unauthenticated)?;
        if api_token::looks_like_api_token(token) {
            let hash = api_token::hash(token);
            let entry = self
                .tokens
                .entry(hash)
                .or_try_insert_with(self.load_api_token(hash))
                .await
                .map_err(AuthError::Lookup)?;
            self.count("api_token", entry.is_fresh());
            return entry.into_value().ok_or(AuthError::Unauthenticated);
        }
        let caller = self
            .jwt
            .as_ref()
            .and_then(|jwt| jwt.verify(token))
            .ok_or(AuthError::Unauthenticated)?;
        let user_id = caller.actor.user_id().ok_or(AuthError::Unauthenticated)?;
        let key = (caller.workspace_id, user_id);
        let entry = self
            .users
            .entry(key)
            .or_try_insert_with(self.load_user_active(key))
            .await
            .map_err(AuthError::Lookup)?;
        self.count("user", entry.is_fresh());
        if entry.into_value() {
            Ok(caller)
        } else {
            Err(AuthError::Unauthenticated)
        }
    }

    async fn load_api_token(&self, hash: [u8; 32]) -> Result<Option<Caller>, DbError> {
        let mut conn = db::checkout(&self.pool).await?;
        let Some((token, user_active)) =
            db::directory::api_tokens::find_live_by_hash(&mut conn, &hash).await?
        else {
            return Ok(None);
        };
        let actor = match (token.user_id, &token.service_name) {
            (Some(user_id), _) if user_active == Some(true) => Actor::User(user_id),
            (Some(_), _) => return Ok(None), // the user was deactivated or removed
            (None, Some(service)) => Actor::ApiToken(service.clone()),
            (None, None) => return Ok(None), // excluded by a CHECK constraint
        };
        // Bookkeeping only: failing to record use must not fail the call.
        if let Err(e) =
            db::directory::api_tokens::mark_used(&mut conn, token.workspace_id, token.id).await
        {
            tracing::warn!(error = %e, token_id = %token.id, "could not record token use");
        }
        Ok(Some(Caller {
            workspace_id: token.workspace_id,
            actor,
            scopes: token.scopes.iter().copied().collect(),
            request_id: None,
        }))
    }

    async fn load_user_active(
        &self,
        (workspace_id, user_id): (Uuid, Uuid),
    ) -> Result<bool, DbError> {
        let mut conn = db::checkout(&self.pool).await?;
        Ok(
            db::directory::users::active_status(&mut conn, workspace_id, user_id).await?
                == Some(true),
        )
    }
}

fn cache<K, V>(config: &AuthConfig) -> Cache<K, V>
where
    K: std::hash::Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    Cache::builder()
        .max_capacity(CACHE_CAPACITY)
        .time_to_live(config.auth_cache_ttl)
        .build()
}

/// The token of an `authorization` value `Bearer <token>` (scheme case-insensitive, RFC 6750).
fn bearer_token(authorization: &str) -> Option<&str> {
    let (scheme, token) = authorization.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::bearer_token;

    #[test]
    fn parses_bearer_values() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer  abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer "), None);
        assert_eq!(bearer_token("abc"), None);
    }
}
