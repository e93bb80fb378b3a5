//! Opaque cursors for streamed lists. A cursor names the last item a client received (its sort
//! key) and the query it came from, so resuming with it continues right after that item under the
//! same filters and sort. A cursor from another query, or one edited by hand, is refused.
//!
//! Cursors are not secret and not signed: they only hold sort keys of items the caller has already
//! seen, and filters are always re-applied from the request, so a forged cursor can only move the
//! starting point of a listing the caller may read anyway. The checksum catches edits and
//! truncation. Because anyone can forge one, what a cursor holds is checked before it reaches a
//! query: no NUL in its text and instants in years 1 to 9999, as in every key Docket hands out
//! (PostgreSQL refuses both as parameters).

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Datelike, FixedOffset};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;
use sha2::{Digest, Sha256};

const VERSION: u8 = 1;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("page_cursor is not a cursor from this list with these filters")]
pub struct CursorError;

#[derive(serde::Serialize, serde::Deserialize)]
struct Payload<Q, K> {
    v: u8,
    /// Fingerprint of the query (list name, filters and sort).
    q: Q,
    k: K,
}

/// The cursors of one listing: bound to its query (list name, filters and sort), whose
/// fingerprint is computed once for the listing, not once per item.
#[derive(Debug, Clone)]
pub struct Cursors {
    fingerprint: String,
}

impl Cursors {
    pub fn of(query: &impl Serialize) -> Self {
        let json = serde_json::to_vec(query).unwrap_or_default();
        let fingerprint = Sha256::digest(&json)
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect();
        Self { fingerprint }
    }

    /// The cursor for the item with sort key `key`.
    pub fn encode<K: Serialize>(&self, key: &K) -> String {
        let payload = Payload {
            v: VERSION,
            q: &self.fingerprint,
            k: key,
        };
        // Serialising plain keys (ids, strings, timestamps) to JSON cannot fail.
        let json = serde_json::to_vec(&payload).unwrap_or_default();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&json),
            URL_SAFE_NO_PAD.encode(checksum(&json))
        )
    }

    /// The sort key in `cursor`, if it is an intact cursor of this listing.
    pub fn decode<K: DeserializeOwned>(&self, cursor: &str) -> Result<K, CursorError> {
        let (body, sum) = cursor.split_once('.').ok_or(CursorError)?;
        let json = URL_SAFE_NO_PAD.decode(body).map_err(|_| CursorError)?;
        let sum = URL_SAFE_NO_PAD.decode(sum).map_err(|_| CursorError)?;
        if sum != checksum(&json) {
            return Err(CursorError);
        }
        let payload: Payload<String, Value> =
            serde_json::from_slice(&json).map_err(|_| CursorError)?;
        if payload.v != VERSION || payload.q != self.fingerprint || !possible(&payload.k) {
            return Err(CursorError);
        }
        serde_json::from_value(payload.k).map_err(|_| CursorError)
    }
}

/// Whether a key could have come from Docket: text without NUL, instants within years 1 to 9999.
fn possible(key: &Value) -> bool {
    match key {
        Value::String(text) => {
            // Parsed as chrono's serde reads instants, extended years included.
            let instant_in_range = text
                .parse::<DateTime<FixedOffset>>()
                .map_or(true, |at| (1..=9999).contains(&at.year()));
            !text.contains('\0') && instant_in_range
        }
        Value::Array(items) => items.iter().all(possible),
        Value::Object(fields) => fields.values().all(possible),
        Value::Null | Value::Bool(_) | Value::Number(_) => true,
    }
}

fn checksum(json: &[u8]) -> Vec<u8> {
    let mut hasher = Sha256::new();
    hasher.update(b"docket.cursor.v1");
    hasher.update(json);
    hasher.finalize()[..8].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_for_the_same_query_only() {
        let query = Cursors::of(&json!({"list": "users", "include_inactive": false}));
        let cursor = query.encode(&("Smith", 42));
        assert_eq!(
            query.decode::<(String, i32)>(&cursor),
            Ok(("Smith".into(), 42))
        );

        let other = Cursors::of(&json!({"list": "users", "include_inactive": true}));
        assert_eq!(other.decode::<(String, i32)>(&cursor), Err(CursorError));
    }

    #[test]
    fn refuses_keys_docket_never_hands_out() {
        let query = Cursors::of(&json!({"list": "names"}));
        assert_eq!(
            query.decode::<String>(&query.encode(&"a\u{0}b")),
            Err(CursorError)
        );
        let far = chrono::DateTime::<chrono::Utc>::MAX_UTC;
        assert_eq!(
            query.decode::<chrono::DateTime<chrono::Utc>>(&query.encode(&far)),
            Err(CursorError)
        );
        let now = chrono::Utc::now();
        assert_eq!(query.decode(&query.encode(&now)), Ok(now));
    }

    #[test]
    fn refuses_edited_or_foreign_text() {
        let query = Cursors::of(&json!({"list": "users"}));
        let cursor = query.encode(&7);
        let mut edited = cursor.clone().into_bytes();
        edited[3] = if edited[3] == b'A' { b'B' } else { b'A' };
        let edited = String::from_utf8(edited).expect("ascii");
        for bad in [
            edited.as_str(),
            "",
            "abc",
            "abc.def",
            &cursor[..cursor.len() - 2],
        ] {
            assert_eq!(query.decode::<i32>(bad), Err(CursorError), "{bad}");
        }
    }
}
