//! A local Lambda Runtime API (the real protocol, on 127.0.0.1): run a function binary as Lambda
//! runs it, hand it events, collect its responses, errors and log lines, and time its start.

use std::collections::VecDeque;
use std::io::{BufRead, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

#[derive(Debug, Default)]
struct State {
    queue: VecDeque<(String, String)>,
    results: Vec<(String, Result<Value, Value>)>,
    first_next: Option<Instant>,
    next_count: usize,
    init_error: Option<String>,
}

/// A Runtime API server and the function process it serves.
pub struct LambdaRuntime {
    state: Arc<(Mutex<State>, Condvar)>,
    server: Arc<tiny_http::Server>,
    child: Option<Child>,
    pub started: Instant,
    pub port: u16,
    counter: usize,
    /// What the function wrote on stdout and stderr, line by line (drained as it runs, so a
    /// chatty function never blocks on a full pipe).
    logs: Arc<Mutex<Vec<String>>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

fn header(name: &str, value: &str) -> tiny_http::Header {
    tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes())
        .unwrap_or_else(|_| panic!("bad header {name}"))
}

impl LambdaRuntime {
    /// Start the API and the function binary with `env` (plus the Lambda variables).
    pub fn start(binary: &Path, env: &[(&str, String)]) -> LambdaRuntime {
        let server = Arc::new(
            tiny_http::Server::http("127.0.0.1:0").unwrap_or_else(|e| panic!("runtime API: {e}")),
        );
        let port = server.server_addr().to_ip().map(|a| a.port()).unwrap_or(0);
        let state: Arc<(Mutex<State>, Condvar)> = Arc::default();
        for _ in 0..4 {
            let (server, state) = (server.clone(), state.clone());
            std::thread::spawn(move || serve(&server, &state));
        }
        let started = Instant::now();
        let mut cmd = Command::new(binary);
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}"))
            .env("AWS_LAMBDA_FUNCTION_NAME", "vpce-guard-test")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/vpce-guard-test")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", "/nonexistent/vpce-guard/config")
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                "/nonexistent/vpce-guard/credentials",
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let logs: Arc<Mutex<Vec<String>>> = Arc::default();
        let mut readers = Vec::new();
        let out = child
            .stdout
            .take()
            .map(|o| Box::new(o) as Box<dyn Read + Send>);
        let err = child
            .stderr
            .take()
            .map(|e| Box::new(e) as Box<dyn Read + Send>);
        for pipe in [out, err].into_iter().flatten() {
            let logs = logs.clone();
            readers.push(std::thread::spawn(move || {
                for line in std::io::BufReader::new(pipe).lines() {
                    match line {
                        Ok(l) => logs.lock().unwrap_or_else(|p| p.into_inner()).push(l),
                        Err(_) => break,
                    }
                }
            }));
        }
        LambdaRuntime {
            state,
            server,
            child: Some(child),
            started,
            port,
            counter: 0,
            logs,
            readers,
        }
    }

    /// The log lines the function wrote so far (stdout and stderr).
    /// The function process's id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The log lines that are JSON objects (the format under `AWS_LAMBDA_LOG_FORMAT=JSON`).
    pub fn json_logs(&self) -> Vec<Value> {
        self.logs()
            .iter()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(Value::is_object)
            .collect()
    }

    /// The JSON log lines once `enough` holds for them, or what there is after `timeout`: the
    /// function writes its log lines after it has answered, so a test that reads them right
    /// after an invocation waits for them.
    pub fn json_logs_when(
        &self,
        enough: impl Fn(&[Value]) -> bool,
        timeout: Duration,
    ) -> Vec<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let logs = self.json_logs();
            if enough(&logs) || Instant::now() >= deadline {
                return logs;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Time from process start to its first request for an event (the init phase).
    pub fn wait_init(&self, timeout: Duration) -> Option<Duration> {
        let (m, cv) = &*self.state;
        let mut s = m.lock().unwrap_or_else(|p| p.into_inner());
        let deadline = Instant::now() + timeout;
        while s.first_next.is_none() && s.init_error.is_none() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            s = cv
                .wait_timeout(s, left)
                .map(|r| r.0)
                .unwrap_or_else(|p| p.into_inner().0);
        }
        s.first_next.map(|t| t.duration_since(self.started))
    }

    /// Invoke with an event and wait for the function's answer: `Ok(response)` or
    /// `Err(error payload)`.
    pub fn invoke(&mut self, event: &Value, timeout: Duration) -> Result<Value, Value> {
        self.counter += 1;
        let id = format!("req-{}", self.counter);
        let (m, cv) = &*self.state;
        let mut s = m.lock().unwrap_or_else(|p| p.into_inner());
        s.queue.push_back((id.clone(), event.to_string()));
        cv.notify_all();
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(pos) = s.results.iter().position(|(r, _)| *r == id) {
                return s.results.remove(pos).1;
            }
            if let Some(e) = &s.init_error {
                return Err(serde_json::json!({"init_error": e}));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                drop(s);
                let logs = self.stop();
                panic!("no answer to {id} within {timeout:?}; function stderr:\n{logs}");
            }
            s = cv
                .wait_timeout(s, left)
                .map(|r| r.0)
                .unwrap_or_else(|p| p.into_inner().0);
        }
    }

    /// Peak resident set size of the function process, in KiB (Linux).
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let pid = self.child.as_ref()?.id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
    }

    /// Stop the function; returns what it wrote (its logs).
    pub fn stop(&mut self) -> String {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
        self.server.unblock();
        self.logs().join("\n")
    }
}

impl Drop for LambdaRuntime {
    fn drop(&mut self) {
        self.stop();
    }
}

fn serve(server: &tiny_http::Server, state: &(Mutex<State>, Condvar)) {
    let (m, cv) = state;
    while let Ok(mut req) = server.recv() {
        let url = req.url().to_string();
        let mut body = String::new();
        let _ = req.as_reader().read_to_string(&mut body);
        if url.ends_with("/runtime/invocation/next") {
            let mut s = m.lock().unwrap_or_else(|p| p.into_inner());
            if s.first_next.is_none() {
                s.first_next = Some(Instant::now());
            }
            s.next_count += 1;
            cv.notify_all();
            let (id, event) = loop {
                if let Some(e) = s.queue.pop_front() {
                    break e;
                }
                s = cv.wait(s).unwrap_or_else(|p| p.into_inner());
            };
            drop(s);
            let deadline = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() + 300_000)
                .unwrap_or(0);
            let resp = tiny_http::Response::from_string(event)
                .with_header(header("Content-Type", "application/json"))
                .with_header(header("Lambda-Runtime-Aws-Request-Id", &id))
                .with_header(header("Lambda-Runtime-Deadline-Ms", &deadline.to_string()))
                .with_header(header(
                    "Lambda-Runtime-Invoked-Function-Arn",
                    "arn:aws:lambda:us-east-1:123456789012:function:vpce-guard-test",
                ))
                .with_header(header(
                    "Lambda-Runtime-Trace-Id",
                    "Root=1-00000000-000000000000000000000000",
                ));
            let _ = req.respond(resp);
            continue;
        }
        let parts: Vec<&str> = url.split('/').collect();
        let mut s = m.lock().unwrap_or_else(|p| p.into_inner());
        if url.ends_with("/runtime/init/error") {
            s.init_error = Some(body);
        } else if let (Some(id), Some(kind)) =
            (parts.get(parts.len().wrapping_sub(2)), parts.last())
        {
            let payload: Value = serde_json::from_str(&body).unwrap_or(Value::String(body.clone()));
            match *kind {
                "response" => s.results.push((id.to_string(), Ok(payload))),
                "error" => s.results.push((id.to_string(), Err(payload))),
                _ => {}
            }
        }
        cv.notify_all();
        drop(s);
        let _ = req
            .respond(tiny_http::Response::from_string("{\"status\":\"OK\"}").with_status_code(202));
    }
}

impl std::fmt::Debug for LambdaRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LambdaRuntime")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}
