//! Signing secrets, and the server keys that seal them at rest. A secret is 32 random bytes,
//! shown once as `whsec_<base64>` (the Standard Webhooks form); the database holds it sealed
//! with ChaCha20-Poly1305 (RustCrypto's `chacha20poly1305`, an AEAD: a sealed secret that was
//! altered, or moved to another subscription's row, does not open), under the first key of
//! DOCKET_WEBHOOK_KEYS. Every key listed opens what it sealed, so keys rotate by putting a new
//! one first; the delivery worker reseals what older keys sealed (`reseal` in `store`).

use base64::{Engine, engine::general_purpose::STANDARD as B64};
use chacha20poly1305::{
    ChaCha20Poly1305, KeyInit, Nonce,
    aead::{Aead, Payload},
};
use uuid::Uuid;

/// The prefix of a secret as shown.
const PREFIX: &str = "whsec_";

/// A signing secret's bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Secret {
    /// 32 bytes from the system's random source.
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut bytes = vec![0u8; 32];
        getrandom::fill(&mut bytes)?;
        Ok(Self(bytes))
    }

    /// The key HMAC signs with.
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// As shown to the caller, once.
    pub fn shown(&self) -> String {
        format!("{PREFIX}{}", B64.encode(&self.0))
    }
}

/// A secret as the database holds it: which key sealed it, and the nonce followed by the
/// ciphertext.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: String,
    pub bytes: Vec<u8>,
}

/// Why a sealed secret did not open.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("no key {0:?} in DOCKET_WEBHOOK_KEYS (it sealed this secret)")]
    UnknownKey(String),
    #[error("the sealed secret does not open with key {0:?}: altered, or not this row's")]
    Corrupt(String),
}

/// The server's keys, the first of which seals.
#[derive(Clone)]
pub struct Keyring {
    keys: Vec<(String, ChaCha20Poly1305)>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|(id, _)| id.as_str()).collect();
        f.debug_struct("Keyring").field("key_ids", &ids).finish()
    }
}

impl Keyring {
    /// Reads `id:<base64 of 32 bytes>,...`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut keys = Vec::new();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (id, key) = entry
                .split_once(':')
                .ok_or("each key is written id:<base64 of 32 bytes>")?;
            if id.is_empty() || id.len() > 64 || keys.iter().any(|(k, _)| k == id) {
                return Err(format!("key id {id:?}: 1 to 64 characters, each id once"));
            }
            let bytes = B64
                .decode(key)
                .map_err(|_| format!("key {id:?} is not base64"))?;
            let cipher = ChaCha20Poly1305::new_from_slice(&bytes)
                .map_err(|_| format!("key {id:?} is {} bytes; it must be 32", bytes.len()))?;
            keys.push((id.to_string(), cipher));
        }
        if keys.is_empty() {
            return Err("no key given".into());
        }
        Ok(Self { keys })
    }

    /// The id of the key that seals.
    pub fn sealing_key_id(&self) -> &str {
        &self.keys[0].0
    }

    /// `secret` sealed for the subscription `(workspace_id, webhook_id)` with the first key.
    pub fn seal(
        &self,
        workspace_id: Uuid,
        webhook_id: Uuid,
        secret: &Secret,
    ) -> Result<Sealed, getrandom::Error> {
        let (id, cipher) = &self.keys[0];
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce)?;
        let aad = associated(workspace_id, webhook_id);
        let payload = Payload {
            msg: secret.bytes(),
            aad: &aad,
        };
        // Encryption fails only for inputs beyond the cipher's limits, far above 32 bytes.
        let sealed = cipher
            .encrypt(Nonce::from_slice(&nonce), payload)
            .unwrap_or_default();
        let mut bytes = nonce.to_vec();
        bytes.extend(sealed);
        Ok(Sealed {
            key_id: id.clone(),
            bytes,
        })
    }

    /// The secret `sealed` holds for the subscription `(workspace_id, webhook_id)`.
    pub fn open(
        &self,
        workspace_id: Uuid,
        webhook_id: Uuid,
        sealed: &Sealed,
    ) -> Result<Secret, OpenError> {
        let (_, cipher) = self
            .keys
            .iter()
            .find(|(id, _)| *id == sealed.key_id)
            .ok_or_else(|| OpenError::UnknownKey(sealed.key_id.clone()))?;
        let corrupt = || OpenError::Corrupt(sealed.key_id.clone());
        if sealed.bytes.len() < 12 {
            return Err(corrupt());
        }
        let (nonce, ciphertext) = sealed.bytes.split_at(12);
        let aad = associated(workspace_id, webhook_id);
        let payload = Payload {
            msg: ciphertext,
            aad: &aad,
        };
        cipher
            .decrypt(Nonce::from_slice(nonce), payload)
            .map(Secret)
            .map_err(|_| corrupt())
    }
}

/// What binds a sealed secret to its row.
fn associated(workspace_id: Uuid, webhook_id: Uuid) -> Vec<u8> {
    [workspace_id.as_bytes().as_slice(), webhook_id.as_bytes()].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyring(text: &str) -> Keyring {
        Keyring::parse(text).unwrap()
    }

    #[test]
    fn a_sealed_secret_opens_with_its_key_for_its_row_only() {
        let key = B64.encode([7u8; 32]);
        let ring = keyring(&format!("k1:{key}"));
        let (workspace, webhook) = (Uuid::new_v4(), Uuid::new_v4());
        let secret = Secret::generate().unwrap();
        let sealed = ring.seal(workspace, webhook, &secret).unwrap();
        assert_ne!(sealed.bytes[12..], secret.bytes()[..]);
        assert_eq!(ring.open(workspace, webhook, &sealed).unwrap(), secret);
        assert!(ring.open(workspace, Uuid::new_v4(), &sealed).is_err());
        let mut altered = sealed.clone();
        altered.bytes[20] ^= 1;
        assert!(ring.open(workspace, webhook, &altered).is_err());
    }

    #[test]
    fn a_new_key_seals_and_the_old_one_still_opens() {
        let (old, new) = (B64.encode([1u8; 32]), B64.encode([2u8; 32]));
        let (workspace, webhook) = (Uuid::new_v4(), Uuid::new_v4());
        let secret = Secret::generate().unwrap();
        let sealed = keyring(&format!("old:{old}"))
            .seal(workspace, webhook, &secret)
            .unwrap();
        let rotated = keyring(&format!("new:{new},old:{old}"));
        assert_eq!(rotated.sealing_key_id(), "new");
        assert_eq!(rotated.open(workspace, webhook, &sealed).unwrap(), secret);
        let gone = keyring(&format!("new:{new}"));
        assert!(matches!(
            gone.open(workspace, webhook, &sealed),
            Err(OpenError::UnknownKey(_))
        ));
    }

    #[test]
    fn malformed_keys_are_refused() {
        for text in ["", "k1", "k1:notbase64!", "k1:AAAA", "a:{k},a:{k}"] {
            let text = text.replace("{k}", &B64.encode([3u8; 32]));
            assert!(Keyring::parse(&text).is_err(), "{text}");
        }
    }
}
