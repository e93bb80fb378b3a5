//! API token secrets: `dkt_` followed by 256 random bits in hex. Only their SHA-256 is stored, and
//! a presented token is looked up by that hash.

use sha2::{Digest, Sha256};

pub const PREFIX: &str = "dkt_";

/// Characters of the secret kept in clear for listings (`dkt_` and 8 hex digits).
const DISPLAY_PREFIX_LEN: usize = PREFIX.len() + 8;

/// A freshly generated secret. It is shown once and then only its hash exists.
pub struct NewSecret {
    pub secret: String,
    pub hash: [u8; 32],
    pub display_prefix: String,
}

impl NewSecret {
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut random = [0u8; 32];
        getrandom::fill(&mut random)?;
        let hex: String = random.iter().map(|b| format!("{b:02x}")).collect();
        let secret = format!("{PREFIX}{hex}");
        Ok(Self {
            hash: hash(&secret),
            display_prefix: secret[..DISPLAY_PREFIX_LEN].to_owned(),
            secret,
        })
    }
}

/// Whether a bearer token claims to be an API token (rather than a JWT).
pub fn looks_like_api_token(token: &str) -> bool {
    token.starts_with(PREFIX)
}

pub fn hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_prefixed_random_and_hashed() {
        let a = NewSecret::generate().expect("random");
        let b = NewSecret::generate().expect("random");
        assert!(a.secret.starts_with("dkt_"));
        assert_eq!(a.secret.len(), 4 + 64);
        assert_ne!(a.secret, b.secret);
        assert_eq!(a.hash, hash(&a.secret));
        assert!(a.secret.starts_with(&a.display_prefix));
        assert!(looks_like_api_token(&a.secret));
        assert!(!looks_like_api_token("eyJhbGciOiJIUzI1NiJ9.e30.sig"));
    }
}
