//! A recording AWS Config endpoint (AWS JSON 1.1 on 127.0.0.1): records every call, answers
//! `PutEvaluations`, `GetComplianceDetailsByConfigRule`, `DescribeConfigurationRecorders`,
//! `DescribeConfigurationRecorderStatus` and `StartConfigRulesEvaluation` itself, can inject `FailedEvaluations` and throttling, and
//! forwards the inventory calls
//! (`ListDiscoveredResources`, `BatchGetResourceConfig`, `GetResourceConfigHistory`, and the
//! aggregator's `PutConfigurationAggregator`, `ListAggregateDiscoveredResources`,
//! `BatchGetAggregateResourceConfig`) to moto, which implements them for S3 buckets.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

/// What the recorder saw and how it should misbehave.
#[derive(Debug, Default)]
pub struct Recorded {
    /// Every call by operation name, with its request body.
    pub calls: Vec<(String, Value)>,
    /// Fail this many `PutEvaluations` calls by reporting every evaluation as failed.
    pub fail_evaluations: usize,
    /// Throttle this many `PutEvaluations` calls (HTTP 400 `ThrottlingException`).
    pub throttle: usize,
    /// Resources `GetComplianceDetailsByConfigRule` reports as evaluated before.
    pub previously_evaluated: Vec<(String, String)>,
    /// The role of the account's configuration recorder (`DescribeConfigurationRecorders`);
    /// `None`: the account has no recorder.
    pub recorder_role: Option<String>,
    /// The recorder records every supported type and is recording
    /// (`DescribeConfigurationRecorderStatus`); `false`: it records nothing (or is stopped).
    pub recording: bool,
}

impl Recorded {
    /// The bodies of every `PutEvaluations` call.
    pub fn put_evaluations(&self) -> Vec<Value> {
        self.calls
            .iter()
            .filter(|(op, _)| op == "PutEvaluations")
            .map(|(_, b)| b.clone())
            .collect()
    }

    pub fn count(&self, op: &str) -> usize {
        self.calls.iter().filter(|(o, _)| o == op).count()
    }

    /// Every call by `config:Operation`.
    pub fn counts(&self) -> std::collections::BTreeMap<String, u64> {
        let mut m = std::collections::BTreeMap::new();
        for (op, _) in &self.calls {
            *m.entry(format!("config:{op}")).or_insert(0) += 1;
        }
        m
    }
}

/// A running recorder.
pub struct ConfigRecorder {
    server: Arc<tiny_http::Server>,
    pub port: u16,
    pub state: Arc<Mutex<Recorded>>,
}

impl ConfigRecorder {
    /// Start on a free port; inventory calls go to `moto_port`.
    pub fn start(moto_port: u16) -> ConfigRecorder {
        let server = Arc::new(
            tiny_http::Server::http("127.0.0.1:0").unwrap_or_else(|e| panic!("recorder: {e}")),
        );
        let port = server.server_addr().to_ip().map(|a| a.port()).unwrap_or(0);
        let state: Arc<Mutex<Recorded>> = Arc::default();
        for _ in 0..4 {
            let (server, state) = (server.clone(), state.clone());
            std::thread::spawn(move || serve(&server, &state, moto_port));
        }
        ConfigRecorder {
            server,
            port,
            state,
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn with<T>(&self, f: impl FnOnce(&mut Recorded) -> T) -> T {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut s)
    }
}

impl Drop for ConfigRecorder {
    fn drop(&mut self) {
        for _ in 0..4 {
            self.server.unblock();
        }
    }
}

fn json_response(status: u16, body: &Value) -> tiny_http::Response<std::io::Cursor<Vec<u8>>> {
    tiny_http::Response::from_string(body.to_string())
        .with_status_code(status)
        .with_header(
            tiny_http::Header::from_bytes(&b"Content-Type"[..], &b"application/x-amz-json-1.1"[..])
                .unwrap_or_else(|_| panic!("header")),
        )
}

fn serve(server: &tiny_http::Server, state: &Mutex<Recorded>, moto_port: u16) {
    while let Ok(mut req) = server.recv() {
        let target = req
            .headers()
            .iter()
            .find(|h| h.field.equiv("X-Amz-Target"))
            .map(|h| h.value.as_str().to_string())
            .unwrap_or_default();
        let op = target.rsplit('.').next().unwrap_or("").to_string();
        let mut raw = Vec::new();
        let _ = req.as_reader().read_to_end(&mut raw);
        let body: Value = serde_json::from_slice(&raw).unwrap_or(Value::Null);
        let headers: Vec<(String, String)> = req
            .headers()
            .iter()
            .map(|h| (h.field.as_str().to_string(), h.value.as_str().to_string()))
            .collect();
        let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
        s.calls.push((op.clone(), body.clone()));
        let resp = match op.as_str() {
            "PutEvaluations" => {
                if s.throttle > 0 {
                    s.throttle -= 1;
                    json_response(
                        400,
                        &json!({"__type": "ThrottlingException", "message": "Rate exceeded"}),
                    )
                } else if s.fail_evaluations > 0 {
                    s.fail_evaluations -= 1;
                    let failed = body.get("Evaluations").cloned().unwrap_or(json!([]));
                    json_response(200, &json!({"FailedEvaluations": failed}))
                } else {
                    json_response(200, &json!({"FailedEvaluations": []}))
                }
            }
            "GetComplianceDetailsByConfigRule" => {
                let results: Vec<Value> = s
                    .previously_evaluated
                    .iter()
                    .map(|(t, id)| {
                        json!({"EvaluationResultIdentifier": {"EvaluationResultQualifier": {
                            "ConfigRuleName": body.get("ConfigRuleName").cloned().unwrap_or(Value::Null),
                            "ResourceType": t, "ResourceId": id}},
                            "ComplianceType": "COMPLIANT"})
                    })
                    .collect();
                json_response(200, &json!({"EvaluationResults": results}))
            }
            "DescribeConfigurationRecorders" => {
                let recording = s.recording;
                let recorders: Vec<Value> = s
                    .recorder_role
                    .iter()
                    .map(|role| {
                        json!({"name": "default", "roleARN": role,
                               "recordingGroup": {"allSupported": recording,
                                                  "includeGlobalResourceTypes": false}})
                    })
                    .collect();
                json_response(200, &json!({"ConfigurationRecorders": recorders}))
            }
            "DescribeConfigurationRecorderStatus" => {
                let status: Vec<Value> = s
                    .recorder_role
                    .iter()
                    .map(|_| {
                        json!({"name": "default", "recording": s.recording,
                                    "lastStatus": if s.recording { "SUCCESS" } else { "PENDING" }})
                    })
                    .collect();
                json_response(200, &json!({"ConfigurationRecordersStatus": status}))
            }
            "StartConfigRulesEvaluation" => json_response(200, &json!({})),
            "ListDiscoveredResources"
            | "BatchGetResourceConfig"
            | "GetResourceConfigHistory"
            | "PutConfigurationAggregator"
            | "ListAggregateDiscoveredResources"
            | "BatchGetAggregateResourceConfig" => {
                drop(s);
                match forward(moto_port, &target, &headers, &raw) {
                    Some((status, text)) => {
                        let _ = req.respond(
                            tiny_http::Response::from_string(text)
                                .with_status_code(status)
                                .with_header(
                                    tiny_http::Header::from_bytes(
                                        &b"Content-Type"[..],
                                        &b"application/x-amz-json-1.1"[..],
                                    )
                                    .unwrap_or_else(|_| panic!("header")),
                                ),
                        );
                    }
                    None => {
                        let _ = req.respond(json_response(
                            500,
                            &json!({"__type": "InternalFailure", "message": "moto unreachable"}),
                        ));
                    }
                }
                continue;
            }
            other => json_response(
                400,
                &json!({"__type": "UnknownOperationException", "message": format!("not recorded: {other}")}),
            ),
        };
        drop(s);
        let _ = req.respond(resp);
    }
}

/// One plain HTTP/1.1 request to 127.0.0.1:`port`, with these headers (Host, Content-Length
/// and Connection added); returns the status and the body, de-chunked.
pub(crate) fn loopback_http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    stream.write_all(head.as_bytes()).ok()?;
    stream.write_all(body).ok()?;
    let mut resp = Vec::new();
    stream.read_to_end(&mut resp).ok()?;
    let text = String::from_utf8_lossy(&resp).to_string();
    let (head, rest) = text.split_once("\r\n\r\n")?;
    let status: u16 = head.split_whitespace().nth(1)?.parse().ok()?;
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    Some((
        status,
        if chunked {
            dechunk(rest)
        } else {
            rest.to_string()
        },
    ))
}

/// Forward one AWS JSON 1.1 call to moto over plain HTTP/1.1; returns status and body.
fn forward(
    port: u16,
    target: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Option<(u16, String)> {
    let auth = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let (status, body) = loopback_http(
        port,
        "POST",
        "/",
        &[
            ("X-Amz-Target", target),
            ("Content-Type", "application/x-amz-json-1.1"),
            ("Authorization", &auth),
        ],
        body,
    )?;
    // moto writes Config timestamps as text ("2026-11-27 10:15:00"); AWS JSON 1.1 carries them
    // as epoch seconds, which is what the SDK parses.
    let body = match serde_json::from_str::<Value>(&body) {
        Ok(mut v) => {
            epoch_times(&mut v);
            v.to_string()
        }
        Err(_) => body,
    };
    Some((status, body))
}

fn epoch_times(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                if k.ends_with("Time") {
                    if let Value::String(s) = x {
                        let iso = s.replacen(' ', "T", 1);
                        if let Some(secs) = vpce_guard::policy::date::parse_date(&iso) {
                            *x = json!(secs);
                            continue;
                        }
                    }
                }
                epoch_times(x);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(epoch_times),
        _ => {}
    }
}

pub(crate) fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(rest.get(..n).unwrap_or(rest));
        s = rest.get(n + 2..).unwrap_or("");
    }
    out
}

impl std::fmt::Debug for ConfigRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigRecorder")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}
