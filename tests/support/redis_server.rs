//! A `redis-server` of the test's own on a free loopback port, stopped on
//! drop (shared by `tests/state_stores.rs` and `benches/state.rs`).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running server and its address.
pub struct Redis {
    child: Child,
    /// `redis://127.0.0.1:PORT/`.
    pub url: String,
    _dir: tempfile::TempDir,
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Redis {
    /// Starts one; `None` (with a message) when `redis-server` is not
    /// installed, unless `QLP_REQUIRE_REDIS=1`, which makes that a failure.
    pub fn start() -> Option<Redis> {
        let required = std::env::var("QLP_REQUIRE_REDIS").is_ok_and(|v| v == "1");
        let found = Command::new("redis-server")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !found {
            assert!(!required, "QLP_REQUIRE_REDIS=1 but `redis-server` is not installed");
            eprintln!("skipped: `redis-server` is not installed (apt-get install redis-server)");
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let dir = tempfile::tempdir().ok()?;
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .spawn()
            .ok()?;
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "redis-server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(Redis {
            child,
            url: format!("redis://127.0.0.1:{port}/"),
            _dir: dir,
        })
    }
}
