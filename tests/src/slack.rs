//! A stand-in for Slack's incoming webhook on 127.0.0.1: records every payload it accepts and
//! answers with scripted failures first (429 with `Retry-After`, 500), for the notifier's tests
//! and the demo.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::Value;

/// What the sink does with the next request, before it accepts again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// 429 with this `Retry-After` (seconds).
    RateLimited(u64),
    /// This 5xx status.
    Error(u16),
}

#[derive(Debug, Default)]
pub struct SinkState {
    /// Accepted payloads, in order.
    pub accepted: Vec<Value>,
    /// Every request's arrival, accepted or not.
    pub arrivals: Vec<Instant>,
    pub script: Vec<Reply>,
}

/// The webhook server.
pub struct SlackSink {
    server: Arc<tiny_http::Server>,
    pub port: u16,
    pub state: Arc<Mutex<SinkState>>,
}

impl SlackSink {
    pub fn start() -> SlackSink {
        let server = Arc::new(
            tiny_http::Server::http("127.0.0.1:0").unwrap_or_else(|e| panic!("slack sink: {e}")),
        );
        let port = server.server_addr().to_ip().map(|a| a.port()).unwrap_or(0);
        let state: Arc<Mutex<SinkState>> = Arc::default();
        let (s, st) = (server.clone(), state.clone());
        std::thread::spawn(move || serve(&s, &st));
        SlackSink {
            server,
            port,
            state,
        }
    }

    /// The webhook URL (the secret's value in the tests).
    pub fn url(&self) -> String {
        format!(
            "http://127.0.0.1:{}/services/T000/B000/test-webhook-secret",
            self.port
        )
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SinkState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Answer the next requests with these replies, in order.
    pub fn script(&self, replies: &[Reply]) {
        self.lock().script.extend(replies.iter().cloned());
    }

    pub fn accepted(&self) -> Vec<Value> {
        self.lock().accepted.clone()
    }

    pub fn arrivals(&self) -> Vec<Instant> {
        self.lock().arrivals.clone()
    }

    /// The one-line summary (`text`) of each accepted message.
    pub fn texts(&self) -> Vec<String> {
        self.accepted()
            .iter()
            .map(|p| p["text"].as_str().unwrap_or_default().to_string())
            .collect()
    }
}

impl std::fmt::Debug for SlackSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlackSink")
            .field("port", &self.port)
            .finish()
    }
}

impl Drop for SlackSink {
    fn drop(&mut self) {
        self.server.unblock();
    }
}

fn serve(server: &tiny_http::Server, state: &Mutex<SinkState>) {
    while let Ok(mut req) = server.recv() {
        let mut raw = Vec::new();
        let _ = req.as_reader().read_to_end(&mut raw);
        let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
        s.arrivals.push(Instant::now());
        let reply = (!s.script.is_empty()).then(|| s.script.remove(0));
        let resp = match reply {
            Some(Reply::RateLimited(after)) => tiny_http::Response::from_string("rate_limited")
                .with_status_code(429)
                .with_header(
                    tiny_http::Header::from_bytes(
                        &b"Retry-After"[..],
                        after.to_string().as_bytes(),
                    )
                    .unwrap_or_else(|_| panic!("header")),
                ),
            Some(Reply::Error(status)) => {
                tiny_http::Response::from_string("internal_error").with_status_code(status)
            }
            None => match serde_json::from_slice::<Value>(&raw) {
                Ok(v) => {
                    s.accepted.push(v);
                    tiny_http::Response::from_string("ok").with_status_code(200)
                }
                Err(_) => tiny_http::Response::from_string("invalid_payload").with_status_code(400),
            },
        };
        drop(s);
        let _ = req.respond(resp);
    }
}
