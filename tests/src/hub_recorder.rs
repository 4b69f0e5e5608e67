//! A recording Security Hub endpoint (REST-JSON on 127.0.0.1): answers `BatchUpdateFindings`
//! (`PATCH /findings/batchupdate`), which moto does not implement, recording each request and
//! processing every finding it names; forwards every other call (`BatchImportFindings`,
//! `GetFindings`, …) to moto unchanged.

use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

/// A running recorder.
pub struct HubRecorder {
    server: Arc<tiny_http::Server>,
    pub port: u16,
    /// The body of every `BatchUpdateFindings` request, in order.
    pub updates: Arc<Mutex<Vec<Value>>>,
}

impl HubRecorder {
    /// Start on a free port; everything but `BatchUpdateFindings` goes to `moto_port`.
    pub fn start(moto_port: u16) -> HubRecorder {
        let server = Arc::new(
            tiny_http::Server::http("127.0.0.1:0").unwrap_or_else(|e| panic!("hub recorder: {e}")),
        );
        let port = server.server_addr().to_ip().map(|a| a.port()).unwrap_or(0);
        let updates: Arc<Mutex<Vec<Value>>> = Arc::default();
        for _ in 0..2 {
            let (server, updates) = (server.clone(), updates.clone());
            std::thread::spawn(move || serve(&server, &updates, moto_port));
        }
        HubRecorder {
            server,
            port,
            updates,
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The `BatchUpdateFindings` requests so far.
    pub fn updates(&self) -> Vec<Value> {
        self.updates
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl Drop for HubRecorder {
    fn drop(&mut self) {
        for _ in 0..2 {
            self.server.unblock();
        }
    }
}

fn respond(req: tiny_http::Request, status: u16, body: String) {
    let resp = tiny_http::Response::from_string(body)
        .with_status_code(status)
        .with_header(
            tiny_http::Header::from_bytes(&b"Content-Type"[..], &b"application/json"[..])
                .unwrap_or_else(|_| panic!("header")),
        );
    let _ = req.respond(resp);
}

fn serve(server: &tiny_http::Server, updates: &Mutex<Vec<Value>>, moto_port: u16) {
    while let Ok(mut req) = server.recv() {
        let mut raw = Vec::new();
        let _ = req.as_reader().read_to_end(&mut raw);
        let method = req.method().as_str().to_string();
        let url = req.url().to_string();
        if method == "PATCH" && url.starts_with("/findings/batchupdate") {
            let body: Value = serde_json::from_slice(&raw).unwrap_or(Value::Null);
            let processed = body["FindingIdentifiers"].clone();
            updates.lock().unwrap_or_else(|p| p.into_inner()).push(body);
            respond(
                req,
                200,
                json!({"ProcessedFindings": processed, "UnprocessedFindings": []}).to_string(),
            );
            continue;
        }
        let auth = req
            .headers()
            .iter()
            .find(|h| h.field.equiv("Authorization"))
            .map(|h| h.value.as_str().to_string())
            .unwrap_or_default();
        match forward(moto_port, &method, &url, &auth, &raw) {
            Some((status, body)) => respond(req, status, body),
            None => respond(req, 502, "{\"message\": \"moto unreachable\"}".into()),
        }
    }
}

/// Forward one REST-JSON call to moto over plain HTTP/1.1; returns status and body.
fn forward(port: u16, method: &str, url: &str, auth: &str, body: &[u8]) -> Option<(u16, String)> {
    crate::recorder::loopback_http(
        port,
        method,
        url,
        &[
            ("Content-Type", "application/json"),
            ("Authorization", auth),
        ],
        body,
    )
}

impl std::fmt::Debug for HubRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubRecorder")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}
