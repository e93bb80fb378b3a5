//! JWT bearer tokens: HS256 with a shared secret, or RS256/ES256 with a public key, carrying `sub`
//! (the user id), `workspace_id`, `scope` (space-separated) and `exp`, with optional `iss`/`aud`
//! checks. Only the configured algorithm is accepted, so `alg: none` and algorithm swaps fail. A
//! token is valid from its `nbf` (when present) to its `exp`, give or take `DOCKET_JWT_LEEWAY` of
//! clock skew, and only if it lives no longer than `DOCKET_JWT_MAX_LIFETIME`: a token that would
//! stay valid for years (a leaked one can be revoked only by deactivating its user) is refused.

use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode};
use serde::Deserialize;
use uuid::Uuid;

use super::caller::{Actor, Caller, Scope};
use crate::config::AuthConfig;

/// HS256 secrets shorter than this are refused at startup (RFC 7518 §3.2: at least the hash size).
const MIN_HS256_SECRET_LEN: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum JwtConfigError {
    #[error("set DOCKET_JWT_HS256_SECRET or DOCKET_JWT_PUBLIC_KEY_FILE, not both")]
    BothKeys,
    #[error("DOCKET_JWT_HS256_SECRET must be at least {MIN_HS256_SECRET_LEN} bytes")]
    ShortSecret,
    #[error("cannot read DOCKET_JWT_PUBLIC_KEY_FILE {path}")]
    ReadKey {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "DOCKET_JWT_PUBLIC_KEY_FILE {path} holds neither an RSA nor an EC public key in PEM form"
    )]
    BadKey { path: String },
}

/// Verifies JWTs against the configured key.
pub struct JwtVerifier {
    key: DecodingKey,
    validation: Validation,
    /// The longest a token may live, in seconds: from its `iat` (when present) and from now.
    max_lifetime: u64,
}

#[derive(Debug, Deserialize)]
struct Claims {
    sub: String,
    workspace_id: String,
    #[serde(default)]
    scope: String,
    exp: u64,
    #[serde(default)]
    iat: Option<u64>,
}

impl Claims {
    /// Whether the token lives no longer than `max` seconds, from when it was issued (if it says)
    /// and from `now`, both with `leeway` for clock skew.
    fn lives_within(&self, max: u64, now: u64, leeway: u64) -> bool {
        let from_now = self.exp.saturating_sub(now) <= max.saturating_add(leeway);
        let from_issue = self
            .iat
            .is_none_or(|iat| self.exp.saturating_sub(iat) <= max.saturating_add(leeway));
        from_now && from_issue
    }
}

impl JwtVerifier {
    /// The verifier for the configuration, or `None` when no JWT key is configured (then only API
    /// tokens are accepted).
    pub fn from_config(config: &AuthConfig) -> Result<Option<Self>, JwtConfigError> {
        let (key, algorithm) = match (&config.jwt_hs256_secret, &config.jwt_public_key_file) {
            (Some(_), Some(_)) => return Err(JwtConfigError::BothKeys),
            (None, None) => return Ok(None),
            (Some(secret), None) => {
                if secret.len() < MIN_HS256_SECRET_LEN {
                    return Err(JwtConfigError::ShortSecret);
                }
                (
                    DecodingKey::from_secret(secret.as_bytes()),
                    Algorithm::HS256,
                )
            }
            (None, Some(path)) => {
                let display = path.display().to_string();
                let pem = std::fs::read(path).map_err(|source| JwtConfigError::ReadKey {
                    path: display.clone(),
                    source,
                })?;
                if let Ok(key) = DecodingKey::from_rsa_pem(&pem) {
                    (key, Algorithm::RS256)
                } else if let Ok(key) = DecodingKey::from_ec_pem(&pem) {
                    (key, Algorithm::ES256)
                } else {
                    return Err(JwtConfigError::BadKey { path: display });
                }
            }
        };
        let mut validation = Validation::new(algorithm);
        validation.set_required_spec_claims(&["exp", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = config.jwt_leeway.as_secs();
        // jsonwebtoken checks `aud`/`iss` only when present unless they are required claims; a
        // configured check must also refuse tokens that leave the claim out.
        match &config.jwt_audience {
            Some(audience) => {
                validation.set_audience(&[audience]);
                validation.required_spec_claims.insert("aud".to_owned());
            }
            None => validation.validate_aud = false,
        }
        if let Some(issuer) = &config.jwt_issuer {
            validation.set_issuer(&[issuer]);
            validation.required_spec_claims.insert("iss".to_owned());
        }
        Ok(Some(Self {
            key,
            validation,
            max_lifetime: config.jwt_max_lifetime.as_secs(),
        }))
    }

    /// The caller a valid token speaks for. Unknown scopes in the claim are ignored (tokens from a
    /// shared identity provider may carry others). Whether the user exists is checked by the caller.
    pub fn verify(&self, token: &str) -> Option<Caller> {
        let claims = decode::<Claims>(token, &self.key, &self.validation)
            .ok()?
            .claims;
        let now = jsonwebtoken::get_current_timestamp();
        if !claims.lives_within(self.max_lifetime, now, self.validation.leeway) {
            return None;
        }
        let user_id = Uuid::parse_str(&claims.sub).ok()?;
        let workspace_id = Uuid::parse_str(&claims.workspace_id).ok()?;
        let scopes = claims
            .scope
            .split_whitespace()
            .filter_map(|name| name.parse::<Scope>().ok())
            .collect();
        Some(Caller {
            workspace_id,
            actor: Actor::User(user_id),
            scopes,
            request_id: None,
        })
    }
}
