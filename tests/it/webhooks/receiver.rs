//! A webhook receiver on 127.0.0.1 for the tests: it records every message (headers, body, when)
//! and answers as scripted: 200, another status, 429 with Retry-After, a redirect, or never.

use std::{
    collections::VecDeque,
    convert::Infallible,
    sync::{Arc, Mutex},
    time::Duration,
};

use base64::{Engine, engine::general_purpose::STANDARD as B64};
use bytes::Bytes;
use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, body::Incoming, server::conn::http1, service::service_fn};
use hyper_util::rt::TokioIo;
use sha2::Sha256;
use tokio::{net::TcpListener, time::Instant};

/// How the receiver answers one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Ok,
    Status(u16),
    /// 429 with `Retry-After: <seconds>`.
    TooMany(u64),
    /// Never (the sender's timeout ends it).
    Hang,
    /// 307 to the receiver's redirect target (`redirect_to`).
    Redirect,
}

/// One message as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub id: String,
    pub timestamp: i64,
    pub signature: String,
    pub body: Vec<u8>,
    pub at: Instant,
    pub answer: Answer,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }

    /// Whether `secret` (`whsec_...`) signed it: one of its `v1,` signatures is the HMAC.
    pub fn signed_by(&self, secret: &str) -> bool {
        let key = B64
            .decode(secret.strip_prefix("whsec_").expect("a whsec_ secret"))
            .expect("base64");
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("key");
        mac.update(format!("{}.{}.", self.id, self.timestamp).as_bytes());
        mac.update(&self.body);
        let expected = B64.encode(mac.finalize().into_bytes());
        self.signature
            .split(' ')
            .filter_map(|s| s.strip_prefix("v1,"))
            .any(|s| s == expected)
    }
}

#[derive(Default)]
struct State {
    /// Answers for the messages whose body holds a text, before the general script.
    scripts_for: Vec<(String, VecDeque<Answer>)>,
    default: Option<Answer>,
    redirect: String,
    received: Vec<Received>,
}

pub struct Receiver {
    pub url: String,
    state: Arc<Mutex<State>>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Receiver {
    /// A receiver that answers `default` to everything not scripted.
    pub async fn start(default: Answer) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        let state = Arc::new(Mutex::new(State {
            default: Some(default),
            ..State::default()
        }));
        let shared = state.clone();
        let server = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let state = shared.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| answer(state.clone(), request));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { url, state, server }
    }

    /// The next messages whose body holds `text` get these answers, in order.
    pub fn script_for(&self, text: &str, answers: &[Answer]) {
        let script = answers.iter().copied().collect();
        self.state
            .lock()
            .unwrap()
            .scripts_for
            .push((text.to_string(), script));
    }

    /// Where a [`Answer::Redirect`] sends the sender.
    pub fn redirect_to(&self, url: &str) {
        self.state.lock().unwrap().redirect = url.to_string();
    }

    pub fn set_default(&self, answer: Answer) {
        self.state.lock().unwrap().default = Some(answer);
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    /// How many different webhook-ids arrived.
    pub fn distinct_ids(&self) -> usize {
        let state = self.state.lock().unwrap();
        state
            .received
            .iter()
            .map(|r| r.id.as_str())
            .collect::<std::collections::HashSet<_>>()
            .len()
    }

    /// Waits until what was received satisfies `done`, for at most `within`.
    pub async fn wait_for(
        &self,
        within: Duration,
        done: impl Fn(&[Received]) -> bool,
    ) -> Vec<Received> {
        let deadline = Instant::now() + within;
        loop {
            let received = self.received();
            if done(&received) {
                return received;
            }
            assert!(
                Instant::now() < deadline,
                "the receiver waited in vain; it has {} messages",
                received.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn answer(
    state: Arc<Mutex<State>>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let (id, timestamp, signature) = (
        header("webhook-id"),
        header("webhook-timestamp"),
        header("webhook-signature"),
    );
    let at = Instant::now();
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes().to_vec())
        .unwrap_or_default();
    let (chosen, redirect) = {
        let mut state = state.lock().unwrap();
        let text = String::from_utf8_lossy(&body).into_owned();
        let scripted = state
            .scripts_for
            .iter_mut()
            .find(|(key, script)| text.contains(key.as_str()) && !script.is_empty())
            .and_then(|(_, script)| script.pop_front());
        let chosen = scripted.or(state.default).unwrap_or(Answer::Ok);
        state.received.push(Received {
            id,
            timestamp: timestamp.parse().unwrap_or_default(),
            signature,
            body,
            at,
            answer: chosen,
        });
        (chosen, state.redirect.clone())
    };
    let mut response = Response::builder();
    let status = match chosen {
        Answer::Ok => 200,
        Answer::Status(status) => status,
        Answer::TooMany(seconds) => {
            response = response.header("retry-after", seconds.to_string());
            429
        }
        Answer::Redirect => {
            response = response.header("location", redirect);
            307
        }
        Answer::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            200
        }
    };
    let text = format!("answered {status}; {}", "x".repeat(2000));
    Ok(response
        .status(status)
        .body(Full::new(Bytes::from(text)))
        .expect("response"))
}
