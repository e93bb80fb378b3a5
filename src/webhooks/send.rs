//! Sending one message: an HTTP POST by `reqwest` (rustls, no system proxy, no redirects), whose
//! DNS answers pass the egress policy before it connects, within the delivery timeout; what
//! came back is read as far as its first 1 KB and no further.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use bytes::Bytes;
use reqwest::{
    StatusCode,
    dns::{Addrs, Name, Resolve, Resolving},
    header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER},
};

use super::{
    policy::{EgressPolicy, Refusal},
    secrets::Secret,
    signing,
};

/// How much of an answer is kept.
pub const EXCERPT_BYTES: usize = 1024;

/// A message to send.
pub struct Message<'a> {
    /// `webhook-id`.
    pub id: &'a str,
    pub body: Bytes,
    /// Every secret that signs it, the current one first.
    pub secrets: Vec<&'a Secret>,
}

/// How an attempt went.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The HTTP status, if an answer came.
    pub status: Option<u16>,
    /// Why no answer came (`TIMEOUT: ...`, `CONNECT: ...`, `REFUSED_BY_EGRESS_POLICY: ...`).
    pub error: String,
    pub latency: Duration,
    pub excerpt: String,
    /// What `Retry-After` asked, in seconds (429 and 503).
    pub retry_after: Option<Duration>,
}

impl Outcome {
    pub fn succeeded(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }

    /// No answer within `limit`, which the caller set shorter than the delivery timeout.
    pub fn cut_short(limit: Duration) -> Self {
        let error = format!("TIMEOUT: no answer within the call's remaining {limit:?}");
        let started = Instant::now()
            .checked_sub(limit)
            .unwrap_or_else(Instant::now);
        Self::failed(error, started)
    }

    fn failed(error: String, started: Instant) -> Self {
        Self {
            status: None,
            error,
            latency: started.elapsed(),
            excerpt: String::new(),
            retry_after: None,
        }
    }
}

/// Sends messages; one per server, shared (its connection pool too).
#[derive(Clone)]
pub struct Sender {
    client: reqwest::Client,
    policy: Arc<EgressPolicy>,
}

impl Sender {
    pub fn new(policy: Arc<EgressPolicy>, timeout: Duration) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent(concat!("Docket-Webhooks/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(Arc::new(CheckedResolver(policy.clone())))
            .pool_max_idle_per_host(16)
            .build()?;
        Ok(Self { client, policy })
    }

    pub fn policy(&self) -> &EgressPolicy {
        &self.policy
    }

    /// POSTs `message` to `url`, signed now.
    pub async fn send(&self, url: &str, message: Message<'_>) -> Outcome {
        let started = Instant::now();
        // A host written as an address is not resolved, so the resolver never sees it.
        if let Err(refusal) = self.policy.parse_url(url) {
            return Outcome::failed(refused(&refusal), started);
        }
        let timestamp = chrono::Utc::now().timestamp();
        let signature = signing::signatures(&message.secrets, message.id, timestamp, &message.body);
        let request = self
            .client
            .post(url)
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .header("webhook-id", message.id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(message.body);
        let mut response = match request.send().await {
            Ok(response) => response,
            Err(error) => return Outcome::failed(describe(&error), started),
        };
        let status = response.status();
        let retry_after = retry_after(status, response.headers().get(RETRY_AFTER));
        let mut excerpt = Vec::new();
        let mut error = String::new();
        while excerpt.len() < EXCERPT_BYTES {
            match response.chunk().await {
                Ok(Some(chunk)) => excerpt.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(e) => {
                    error = describe(&e);
                    break;
                }
            }
        }
        Outcome {
            status: Some(status.as_u16()),
            error,
            latency: started.elapsed(),
            excerpt: excerpt_of(&excerpt),
            retry_after,
        }
    }
}

/// The first [`EXCERPT_BYTES`] of `body` as text, cut at a character's boundary.
fn excerpt_of(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(EXCERPT_BYTES)]).into_owned();
    let mut end = text.len().min(EXCERPT_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}

/// A `Retry-After` in seconds, on a 429 or 503 (an HTTP date is not taken: receivers that ask
/// for a pause give seconds).
fn retry_after(status: StatusCode, value: Option<&HeaderValue>) -> Option<Duration> {
    if status != StatusCode::TOO_MANY_REQUESTS && status != StatusCode::SERVICE_UNAVAILABLE {
        return None;
    }
    let seconds: u64 = value?.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(seconds))
}

fn refused(refusal: &Refusal) -> String {
    format!("REFUSED_BY_EGRESS_POLICY: {refusal}")
}

/// Why a request got no answer, in a word and its detail.
fn describe(error: &reqwest::Error) -> String {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = source {
        if let Some(refusal) = e.downcast_ref::<Refusal>() {
            return refused(refusal);
        }
        source = e.source();
    }
    let word = if error.is_timeout() {
        "TIMEOUT"
    } else if error.is_connect() {
        "CONNECT"
    } else if error.is_body() || error.is_decode() {
        "BODY"
    } else {
        "REQUEST"
    };
    let mut detail = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(e) = source {
        detail = format!("{detail}: {e}");
        source = e.source();
    }
    format!("{word}: {}", crate::domain::input::cut(&detail, 300))
}

/// DNS that answers only with addresses the policy allows.
struct CheckedResolver(Arc<EgressPolicy>);

impl Resolve for CheckedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.0.clone();
        Box::pin(async move {
            let answers = policy.resolve(name.as_str(), 0).await?;
            Ok(Box::new(answers.into_iter()) as Addrs)
        })
    }
}
