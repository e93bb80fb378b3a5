//! Standard Webhooks signatures: `v1,<base64 of HMAC-SHA256 over "<id>.<timestamp>.<body>">`,
//! space separated when several secrets sign (a rotation's grace period). Written here with
//! RustCrypto's `hmac` rather than taken from the `standardwebhooks` crate: its signing is these
//! few lines, but its verification accepts a truncated signature (it compares only as many bytes
//! as the header gives, so `v1,` alone verifies), and it pulls in http 0.2 beside http 1.

use base64::{Engine, engine::general_purpose::STANDARD as B64};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::secrets::Secret;

/// The `webhook-signature` header's value: one signature per secret, in order.
pub fn signatures(secrets: &[&Secret], id: &str, timestamp: i64, body: &[u8]) -> String {
    secrets
        .iter()
        .map(|secret| signature(secret.bytes(), id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

/// One signature, `v1,<base64>`.
pub fn signature(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    // HMAC takes a key of any length.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1,{}", B64.encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Standard Webhooks reference libraries' own test vector.
    #[test]
    fn signs_as_the_reference_libraries_do() {
        let key = B64.decode("C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
        assert_eq!(
            signature(
                &key,
                "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
                1649367553,
                br#"{"email":"test@example.com","username":"test_user"}"#
            ),
            "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="
        );
    }
}
