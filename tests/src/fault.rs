//! A fault proxy on 127.0.0.1 in front of moto or the Config recorder: it forwards each request
//! and, for the operations it is told about, answers instead with throttling, a server error, a
//! reset connection or a truncated body, or forwards after a delay. It names each request's
//! operation the way the SDK's protocols carry it: the `X-Amz-Target` header (JSON protocols:
//! DynamoDB, Config, EventBridge, Secrets Manager), the `Action` form field (query protocols:
//! EC2, STS), or the S3 REST method and sub-resource (`GET /bucket?policy` is
//! `GetBucketPolicy`). One request per connection (`Connection: close`).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What to do instead of forwarding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The service's throttling answer: S3 `503 SlowDown`, EC2 `503 RequestLimitExceeded`,
    /// JSON protocols `400 ThrottlingException`.
    Throttle,
    /// `500 InternalError`.
    ServerError,
    /// The connection is closed without an answer.
    Reset,
    /// The upstream's answer, cut in the middle of its body.
    Truncate,
    /// Forwarded after this delay.
    Latency(Duration),
}

/// A fault for one operation: after `skip` requests pass, the next `times` get the fault
/// (`None`: every one).
#[derive(Debug, Clone)]
struct Rule {
    fault: Fault,
    skip: usize,
    times: Option<usize>,
}

#[derive(Debug, Default)]
struct State {
    rules: BTreeMap<String, Rule>,
    /// Requests seen, by operation.
    seen: BTreeMap<String, usize>,
    /// Faults injected, by operation.
    injected: BTreeMap<String, usize>,
}

/// A running proxy; stops when dropped.
#[derive(Debug)]
pub struct FaultProxy {
    pub port: u16,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
}

impl FaultProxy {
    /// Forward to `upstream_port` on 127.0.0.1.
    pub fn start(upstream_port: u16) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0")
            .unwrap_or_else(|e| panic!("fault proxy: cannot listen: {e}"));
        let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
        let state: Arc<Mutex<State>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (st, stp) = (state.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if stp.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let st = st.clone();
                std::thread::spawn(move || {
                    let _ = serve(conn, upstream_port, &st);
                });
            }
        });
        FaultProxy { port, state, stop }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Every request for `op` gets `fault`, from now on.
    pub fn always(&self, op: &str, fault: Fault) {
        self.set(op, fault, 0, None);
    }

    /// The next `times` requests for `op` get `fault`, then they pass again.
    pub fn times(&self, op: &str, fault: Fault, times: usize) {
        self.set(op, fault, 0, Some(times));
    }

    /// The first `skip` requests for `op` pass, every later one gets `fault`.
    pub fn after(&self, op: &str, skip: usize, fault: Fault) {
        self.set(op, fault, skip, None);
    }

    fn set(&self, op: &str, fault: Fault, skip: usize, times: Option<usize>) {
        self.with(|s| {
            s.rules.insert(op.to_string(), Rule { fault, skip, times });
        });
    }

    /// No more faults (the counts stay).
    pub fn heal(&self) {
        self.with(|s| s.rules.clear());
    }

    /// Requests seen for `op`.
    pub fn seen(&self, op: &str) -> usize {
        self.with(|s| s.seen.get(op).copied().unwrap_or(0))
    }

    /// Faults injected for `op`.
    pub fn injected(&self, op: &str) -> usize {
        self.with(|s| s.injected.get(op).copied().unwrap_or(0))
    }

    /// Every operation seen, with its count.
    pub fn seen_all(&self) -> BTreeMap<String, usize> {
        self.with(|s| s.seen.clone())
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut s)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// One request read off the wire.
struct Request {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The operation, as the protocol carries it.
    fn operation(&self) -> String {
        if let Some(t) = self.header("x-amz-target") {
            return t.rsplit('.').next().unwrap_or(t).to_string();
        }
        let form = String::from_utf8_lossy(&self.body);
        if let Some(action) = form
            .split('&')
            .find_map(|kv| kv.strip_prefix("Action="))
            .or_else(|| {
                self.target
                    .split_once('?')
                    .and_then(|(_, q)| q.split('&').find_map(|kv| kv.strip_prefix("Action=")))
            })
        {
            return action.to_string();
        }
        s3_operation(&self.method, &self.target)
    }
}

/// The S3 REST operations the product uses, from method, path and sub-resource.
fn s3_operation(method: &str, target: &str) -> String {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let sub = query
        .split('&')
        .map(|kv| kv.split('=').next().unwrap_or(""))
        .find(|k| !k.is_empty() && !k.starts_with("x-id") && *k != "bucket-region")
        .unwrap_or("");
    let bucket_level = path.trim_matches('/').split('/').count() <= 1 && path != "/";
    let op = match (method, sub) {
        ("GET", _) if path == "/" || path.is_empty() => "ListBuckets",
        (m, "policy") => match m {
            "GET" => "GetBucketPolicy",
            "PUT" => "PutBucketPolicy",
            "DELETE" => "DeleteBucketPolicy",
            _ => "BucketPolicy",
        },
        ("GET", "publicAccessBlock") => "GetPublicAccessBlock",
        ("PUT", "publicAccessBlock") => "PutPublicAccessBlock",
        ("GET", "ownershipControls") => "GetBucketOwnershipControls",
        ("PUT", "ownershipControls") => "PutBucketOwnershipControls",
        ("GET", "tagging") => "GetBucketTagging",
        ("PUT", "tagging") => "PutBucketTagging",
        ("GET", "location") => "GetBucketLocation",
        ("GET", "website") => "GetBucketWebsite",
        ("GET", "acl") => "GetBucketAcl",
        ("PUT", "") if bucket_level => "CreateBucket",
        ("HEAD", "") if bucket_level => "HeadBucket",
        _ => "",
    };
    if op.is_empty() {
        format!(
            "S3 {method} {}",
            if sub.is_empty() { "object" } else { sub }
        )
    } else {
        op.to_string()
    }
}

fn read_request(conn: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    conn.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        conn.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((n, v)) = h.split_once(':') {
            headers.push((n.trim().to_string(), v.trim().to_string()));
        }
    }
    let len = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    conn.read_exact(&mut body).ok()?;
    Some(Request {
        method,
        target,
        headers,
        body,
    })
}

/// The request as sent upstream: the same, one per connection.
fn forward(req: &Request, upstream_port: u16) -> std::io::Result<Vec<u8>> {
    let mut up = TcpStream::connect(("127.0.0.1", upstream_port))?;
    let mut head = format!("{} {} HTTP/1.1\r\n", req.method, req.target);
    for (n, v) in &req.headers {
        if !n.eq_ignore_ascii_case("connection") {
            head.push_str(&format!("{n}: {v}\r\n"));
        }
    }
    head.push_str("Connection: close\r\n\r\n");
    up.write_all(head.as_bytes())?;
    up.write_all(&req.body)?;
    let mut answer = Vec::new();
    up.read_to_end(&mut answer)?;
    Ok(answer)
}

/// The service's own way of saying "slow down" or "internal error".
fn fault_answer(req: &Request, op: &str, fault: Fault) -> Vec<u8> {
    let json = req.header("x-amz-target").is_some();
    let query = req
        .header("content-type")
        .is_some_and(|c| c.contains("x-www-form-urlencoded"));
    let (status, code) = match (fault, json, query) {
        (Fault::Throttle, true, _) => ("400 Bad Request", "ThrottlingException"),
        (Fault::Throttle, _, true) => ("503 Service Unavailable", "RequestLimitExceeded"),
        (Fault::Throttle, _, _) => ("503 Slow Down", "SlowDown"),
        _ => ("500 Internal Server Error", "InternalError"),
    };
    let (ctype, body) = if json {
        (
            "application/x-amz-json-1.1",
            format!(r#"{{"__type":"{code}","message":"injected by the fault proxy ({op})"}}"#),
        )
    } else if query {
        (
            "text/xml",
            format!(
                "<Response><Errors><Error><Code>{code}</Code><Message>injected by the fault proxy ({op})</Message></Error></Errors><RequestID>fault</RequestID></Response>"
            ),
        )
    } else {
        (
            "application/xml",
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>injected by the fault proxy ({op})</Message><RequestId>fault</RequestId></Error>"
            ),
        )
    };
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nx-amzn-ErrorType: {code}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Cut an HTTP answer in the middle of its body (the headers still announce the full length).
fn truncated(answer: &[u8]) -> Vec<u8> {
    let head_end = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + 4)
        .unwrap_or(answer.len());
    let body = answer.len() - head_end;
    answer[..head_end + body / 2].to_vec()
}

fn serve(conn: TcpStream, upstream_port: u16, state: &Mutex<State>) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let Some(req) = read_request(&mut reader) else {
        return Ok(());
    };
    let op = req.operation();
    let fault = {
        let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
        let n = {
            let seen = s.seen.entry(op.clone()).or_insert(0);
            *seen += 1;
            *seen
        };
        let fault = match s.rules.get_mut(&op) {
            Some(rule) if n > rule.skip => match rule.times.as_mut() {
                None => Some(rule.fault),
                Some(0) => None,
                Some(left) => {
                    *left -= 1;
                    Some(rule.fault)
                }
            },
            _ => None,
        };
        if fault.is_some() {
            *s.injected.entry(op.clone()).or_insert(0) += 1;
        }
        fault
    };
    let mut conn = conn;
    match fault {
        Some(Fault::Reset) => {
            let _ = conn.shutdown(Shutdown::Both);
            Ok(())
        }
        Some(f @ (Fault::Throttle | Fault::ServerError)) => {
            conn.write_all(&fault_answer(&req, &op, f))?;
            conn.flush()
        }
        Some(Fault::Truncate) => {
            let answer = forward(&req, upstream_port)?;
            conn.write_all(&truncated(&answer))?;
            conn.flush()?;
            conn.shutdown(Shutdown::Both)
        }
        Some(Fault::Latency(d)) => {
            std::thread::sleep(d);
            let answer = forward(&req, upstream_port)?;
            conn.write_all(&answer)?;
            conn.flush()
        }
        None => {
            let answer = forward(&req, upstream_port)?;
            conn.write_all(&answer)?;
            conn.flush()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::s3_operation;

    #[test]
    fn s3_operations_are_named_from_method_and_sub_resource() {
        assert_eq!(s3_operation("GET", "/b?policy"), "GetBucketPolicy");
        assert_eq!(s3_operation("PUT", "/b?policy"), "PutBucketPolicy");
        assert_eq!(s3_operation("GET", "/?x-id=ListBuckets"), "ListBuckets");
        assert_eq!(s3_operation("GET", "/"), "ListBuckets");
        assert_eq!(
            s3_operation("GET", "/b?ownershipControls"),
            "GetBucketOwnershipControls"
        );
        assert_eq!(s3_operation("PUT", "/b"), "CreateBucket");
        assert_eq!(s3_operation("GET", "/b/key"), "S3 GET object");
    }
}
