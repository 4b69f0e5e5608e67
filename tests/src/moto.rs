//! A moto server on a free 127.0.0.1 port for one test: started from the project's `.venv`
//! (installed by `scripts/setup`), stopped when dropped.

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
            let mut child = Command::new(&path)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", path.display()));
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline {
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Moto { child, port };
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
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        release();
    }
}

fn release() {
    let mut n = RUNNING.lock().unwrap_or_else(|p| p.into_inner());
    *n = n.saturating_sub(1);
    FREED.notify_one();
}

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}
