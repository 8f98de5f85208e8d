//! Load on `qlp serve` over loopback: requests per second and p50/p99
//! latency at 1, 8 and 64 concurrent keep-alive connections, with and
//! without a shadow policy set. The load generator is hand-written (HTTP/1.1
//! over `std::net`, no qlp code): each connection sends the shipped sample
//! records in turn for a fixed time and times every answer.
//!
//! ```sh
//! cargo bench --bench serve            # QLP_BENCH_SECONDS=5 by default
//! ```

// A measuring program: it stops loudly on anything unexpected.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Server(Child, String);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(extra: &[&str]) -> Server {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_qlp"))
        .current_dir(root)
        .args([
            "serve",
            "-p",
            "policies",
            "--addr",
            "127.0.0.1:0",
            "--now-from",
            "created_at",
            "--no-watch",
        ])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let addr = first.trim().strip_prefix("listening on http://").unwrap().to_string();
    Server(child, addr)
}

/// One keep-alive connection sending `records` in turn until `until`;
/// the latency of each answer.
fn connection(addr: &str, records: &[String], until: Instant) -> Vec<Duration> {
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_nodelay(true).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    let mut latencies = Vec::new();
    let mut line = String::new();
    let mut body = Vec::new();
    for record in records.iter().cycle() {
        if Instant::now() >= until {
            break;
        }
        let started = Instant::now();
        let request = format!(
            "POST /v1/decide/Content HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{record}",
            record.len()
        );
        writer.write_all(request.as_bytes()).unwrap();
        let mut length = 0usize;
        let mut status_ok = false;
        loop {
            line.clear();
            reader.read_line(&mut line).unwrap();
            if line.starts_with("HTTP/1.1 ") {
                status_ok = line.starts_with("HTTP/1.1 200");
            }
            if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = value.trim().parse().unwrap();
            }
            if line == "\r\n" {
                break;
            }
        }
        body.resize(length, 0);
        reader.read_exact(&mut body).unwrap();
        assert!(status_ok, "{}", String::from_utf8_lossy(&body));
        latencies.push(started.elapsed());
    }
    latencies
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let seconds: u64 = std::env::var("QLP_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let records: Vec<String> = std::fs::read_to_string(root.join("policies/examples/records.jsonl"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    println!(
        "qlp serve on loopback, {} sample records in turn, {seconds} s per row",
        records.len()
    );
    println!(
        "{:<10} {:>12} {:>12} {:>10} {:>10}",
        "shadow", "connections", "requests/s", "p50", "p99"
    );
    for shadow in [false, true] {
        let server = if shadow {
            start(&["--shadow", "policies"])
        } else {
            start(&[])
        };
        for connections in [1, 8, 64] {
            let until = Instant::now() + Duration::from_secs(seconds);
            let started = Instant::now();
            let threads: Vec<_> = (0..connections)
                .map(|i| {
                    let addr = server.1.clone();
                    // Each connection starts at its own record.
                    let mut mine = records.clone();
                    mine.rotate_left(i * 7 % records.len());
                    std::thread::spawn(move || connection(&addr, &mine, until))
                })
                .collect();
            let mut latencies: Vec<Duration> = threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
            let elapsed = started.elapsed().as_secs_f64();
            latencies.sort();
            println!(
                "{:<10} {:>12} {:>12.0} {:>10.2?} {:>10.2?}",
                if shadow { "yes" } else { "no" },
                connections,
                latencies.len() as f64 / elapsed,
                percentile(&latencies, 0.5),
                percentile(&latencies, 0.99)
            );
        }
    }
}
