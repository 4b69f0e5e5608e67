//! A moto server on a free 127.0.0.1 port for one test: started from the project's `.venv`
//! (installed by `scripts/setup`), stopped when dropped. Its request recorder counts the calls
//! a function makes (`start_recording`, `recorded_calls`).

use std::collections::{BTreeMap, BTreeSet};

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// At most this many moto servers run at once (the machine has two cores).
const MAX_SERVERS: usize = 3;

static RUNNING: Mutex<usize> = Mutex::new(0);
static FREED: Condvar = Condvar::new();

/// Where `moto_server` is: `$VPCE_GUARD_MOTO_SERVER`, else the project's `.venv`.
pub fn moto_server_path() -> PathBuf {
    if let Ok(p) = std::env::var("VPCE_GUARD_MOTO_SERVER") {
        return PathBuf::from(p);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(".venv")
        .join("bin")
        .join("moto_server")
}

/// A running moto server.
#[derive(Debug)]
pub struct Moto {
    child: Child,
    pub port: u16,
    /// Where moto's request recorder appends (one JSON line per request once started).
    recording: PathBuf,
}

impl Moto {
    /// Start a server and wait until it answers. Panics (it is a test helper) when moto is not
    /// installed, naming the command that installs it.
    pub fn start() -> Moto {
        let path = moto_server_path();
        assert!(
            path.exists(),
            "moto is not installed at {}; run scripts/setup",
            path.display()
        );
        {
            let mut n = RUNNING.lock().unwrap_or_else(|p| p.into_inner());
            while *n >= MAX_SERVERS {
                n = FREED.wait(n).unwrap_or_else(|p| p.into_inner());
            }
            *n += 1;
        }
        for _attempt in 0..5 {
            let port = free_port();
            let recording = std::env::temp_dir().join(format!(
                "vpce-guard-moto-{}-{port}.jsonl",
                std::process::id()
            ));
            let _ = std::fs::remove_file(&recording);
            let mut child = Command::new(&path)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .env("MOTO_RECORDER_FILEPATH", &recording)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", path.display()));
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                // Answering is not enough: another server may hold the port (two tests drew the
                // same free port); ours is ready when it is the process listening there.
                if TcpStream::connect(("127.0.0.1", port)).is_ok() && listens_on(child.id(), port) {
                    return Moto {
                        child,
                        port,
                        recording,
                    };
                }
                if let Ok(Some(_)) = child.try_wait() {
                    break; // the port was taken meanwhile: try another
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        release();
        panic!("moto server did not start");
    }

    /// `http://127.0.0.1:PORT`.
    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Record every request from now on (moto's own recorder), starting from an empty log.
    pub fn start_recording(&self) {
        self.moto_api("reset-recording");
        self.moto_api("start-recording");
    }

    /// Forget what was recorded so far (recording goes on).
    pub fn reset_recording(&self) {
        self.moto_api("reset-recording");
    }

    /// The calls recorded since the last reset, by `service:Operation` (S3, S3 Control, EC2,
    /// STS; Config calls are left to the Config recorder, which forwards some of them here).
    pub fn recorded_calls(&self) -> BTreeMap<String, u64> {
        let text = match http(self.port, "GET", "/moto-api/recorder/download-recording") {
            Some((200, body)) => body,
            other => panic!("moto's recorder did not answer: {other:?}"),
        };
        let mut calls = BTreeMap::new();
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let entry: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("moto recorded an unreadable line ({e}): {line}"));
            if let Some(op) = operation(&entry) {
                *calls.entry(op).or_insert(0) += 1;
            }
        }
        calls
    }

    fn moto_api(&self, action: &str) {
        match http(self.port, "POST", &format!("/moto-api/recorder/{action}")) {
            Some((200, _)) => {}
            other => panic!("moto recorder {action}: {other:?}"),
        }
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.recording);
        release();
    }
}

/// One plain HTTP/1.1 request to 127.0.0.1:`port`; returns status and body.
fn http(port: u16, method: &str, path: &str) -> Option<(u16, String)> {
    crate::recorder::loopback_http(port, method, path, &[], b"")
}

/// The `service:Operation` of one recorded request: the service from the signature's
/// credential scope, the operation from `Action=` (EC2, STS: query protocol) or from the
/// method and sub-resource (S3 and S3 Control: REST). `None` for Config (counted by the
/// Config recorder) and for unsigned requests.
fn operation(entry: &serde_json::Value) -> Option<String> {
    let header = |name: &str| {
        entry["headers"].as_object().and_then(|h| {
            h.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .and_then(|(_, v)| v.as_str())
        })
    };
    let service = header("Authorization")?
        .split("Credential=")
        .nth(1)?
        .split('/')
        .nth(3)?
        .to_string();
    let method = entry["method"].as_str().unwrap_or("GET");
    let url = entry["url"].as_str().unwrap_or("");
    let path_and_query = url
        .splitn(4, '/')
        .nth(3)
        .map(|p| format!("/{p}"))
        .unwrap_or_else(|| "/".into());
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query.as_str(), ""));
    match service.as_str() {
        "config" => None,
        "ec2" | "sts" => {
            let raw = entry["body"].as_str().unwrap_or("");
            let body = if entry["body_encoded"].as_bool() == Some(true) {
                String::from_utf8_lossy(&base64_decode(raw)).to_string()
            } else {
                raw.to_string()
            };
            let action = body
                .split('&')
                .chain(query.split('&'))
                .find_map(|kv| kv.strip_prefix("Action="))?
                .to_string();
            Some(format!("{service}:{action}"))
        }
        "s3" if path.starts_with("/v20180820/") => Some(format!(
            "s3control:{}{}",
            rest_verb(method),
            path.rsplit('/').next().map(upper_first).unwrap_or_default()
        )),
        "s3" => {
            let sub = query
                .split('&')
                .map(|kv| kv.split('=').next().unwrap_or(""))
                .find(|k| {
                    !k.is_empty() && !k.starts_with("x-id") && !k.starts_with("bucket-region")
                });
            let bucket_level = path.trim_matches('/').split('/').count() <= 1;
            let op = match (method, sub, path == "/") {
                ("GET", None, true) => "ListBuckets".to_string(),
                ("GET", Some("policy"), _) => "GetBucketPolicy".into(),
                ("GET", Some("publicAccessBlock"), _) => "GetPublicAccessBlock".into(),
                ("GET", Some("ownershipControls"), _) => "GetBucketOwnershipControls".into(),
                ("GET", Some("location"), _) => "GetBucketLocation".into(),
                (m, Some(s), _) => format!("{}Bucket{}", rest_verb(m), upper_first(s)),
                ("HEAD", None, _) if bucket_level => "HeadBucket".into(),
                (m, None, _) if bucket_level => format!("{}Bucket", rest_verb(m)),
                (m, None, _) => format!("{}Object", rest_verb(m)),
            };
            Some(format!("s3:{op}"))
        }
        other => Some(format!("{other}:{method} {path}")),
    }
}

fn rest_verb(method: &str) -> &'static str {
    match method {
        "GET" => "Get",
        "PUT" => "Put",
        "DELETE" => "Delete",
        "HEAD" => "Head",
        _ => "Post",
    }
}

fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Standard base64 (moto records request bodies so).
fn base64_decode(s: &str) -> Vec<u8> {
    let value = |c: u8| -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some(u32::from(c - b'A')),
            b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    };
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for v in s.bytes().filter_map(value) {
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

fn release() {
    let mut n = RUNNING.lock().unwrap_or_else(|p| p.into_inner());
    *n = n.saturating_sub(1);
    FREED.notify_one();
}

/// Ports this test process already handed out: never handed out twice, so two tests running
/// at once cannot start their servers on the same port.
static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());

/// A port that was free a moment ago on 127.0.0.1 and that no other test of this process got.
pub fn free_port() -> u16 {
    let mut handed = HANDED_OUT.lock().unwrap_or_else(|p| p.into_inner());
    for _ in 0..100 {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or(0);
        if port != 0 && handed.insert(port) {
            return port;
        }
    }
    0
}

/// Whether process `pid` holds the socket listening on 127.0.0.1:`port` (Linux `/proc`). Where
/// `/proc` cannot tell, the answer is yes, and the port reservation above is the only guard.
fn listens_on(pid: u32, port: u16) -> bool {
    let Ok(table) = std::fs::read_to_string("/proc/net/tcp") else {
        return true;
    };
    let wanted = format!(":{port:04X}");
    // Columns: sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
    let inodes: Vec<String> = table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let listening = cols.get(3) == Some(&"0A");
            let local = cols.get(1)?;
            (listening && local.ends_with(&wanted)).then(|| cols.get(9).map(|s| s.to_string()))?
        })
        .collect();
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false; // the process is gone
    };
    fds.flatten().any(|fd| {
        std::fs::read_link(fd.path())
            .map(|target| {
                let t = target.to_string_lossy();
                inodes.iter().any(|i| t == format!("socket:[{i}]"))
            })
            .unwrap_or(false)
    })
}
