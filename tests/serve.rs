//! `qlp serve` end to end: a real server on a free loopback port, real
//! HTTP requests (good, malformed, mistyped, oversized), policies reloaded
//! while a load generator runs, a shadow set that would ban everything,
//! decision logs, metrics and a graceful stop.

// Test helpers may fail loudly: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

/// A copy of the shipped policies in a directory of the test's own.
fn policy_copy(dir: &Path, name: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = dir.join(name);
    copy_dir(&root.join("policies"), &target);
    target
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        if path.is_dir() {
            copy_dir(&path, &to.join(entry.file_name()));
        } else {
            std::fs::copy(&path, to.join(entry.file_name())).unwrap();
        }
    }
}

struct Server {
    child: Child,
    addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(dir: &Path, args: &[&str]) -> Server {
    // A qlp.toml marks the policy root.
    std::fs::write(dir.join("qlp.toml"), "").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_qlp"))
        .current_dir(dir)
        .args(["serve", "--addr", "127.0.0.1:0", "--now-from", "created_at"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let addr = first
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_string();
    Server { child, addr }
}

/// Stops the server with SIGTERM (it must exit 0) and reads its decision log.
fn stop_and_read_log(mut server: Server, log: &Path) -> Vec<Value> {
    // SAFETY: sends SIGTERM to the child this test started.
    unsafe {
        libc::kill(server.child.id() as i32, libc::SIGTERM);
    }
    assert!(server.child.wait().unwrap().success());
    std::fs::read_to_string(log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// One HTTP/1.1 request; the status and the body.
fn request(addr: &str, method: &str, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    // A server may answer (413) before reading a large body.
    let _ = stream.write_all(body);
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let text_end = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(response.len());
    let head = String::from_utf8_lossy(&response[..text_end]).to_string();
    let status: u16 = head.split_whitespace().nth(1).unwrap_or("0").parse().unwrap_or(0);
    let mut body = response.get(text_end + 4..).unwrap_or_default().to_vec();
    if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        body = unchunk(&body);
    }
    (status, body)
}

fn unchunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = data.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(std::str::from_utf8(&data[..end]).unwrap().trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.extend_from_slice(&data[end + 2..end + 2 + size]);
        data = &data[end + 4 + size..];
    }
    out
}

fn json(addr: &str, method: &str, path: &str, body: &[u8]) -> (u16, Value) {
    let (status, body) = request(addr, method, path, body);
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// A livestream saying `word`, inside the 2022 livestream campaign.
fn live(word: &str) -> String {
    serde_json::json!({
        "id": "live-1", "kind": "livestream", "text": format!("今晚{word}走起"),
        "created_at": "2022-06-01T20:00:00",
        "author": {"id": "a1", "kind": "personal", "created_at": "2020-01-01", "followers": 10}
    })
    .to_string()
}

#[test]
fn the_service_decides_refuses_bad_requests_and_reloads_under_load() {
    let dir = tempfile::tempdir().unwrap();
    let policies = policy_copy(dir.path(), "policies");
    let log = dir.path().join("decisions.jsonl");
    let server = start(dir.path(), &["-p", "policies", "--decision-log", log.to_str().unwrap()]);
    let addr = server.addr.clone();

    let (status, ready) = json(&addr, "GET", "/readyz", b"");
    assert_eq!(status, 200);
    let v1 = ready["policy_version"].as_str().unwrap().to_string();

    // One record: the decision and the version that made it.
    let (status, decided) = json(&addr, "POST", "/v1/decide/Content", live("博彩").as_bytes());
    assert_eq!(status, 200, "{decided}");
    assert_eq!(decided["policy_version"], v1.as_str());
    assert_eq!(decided["decision"]["verdict"], "remove");
    assert_eq!(decided["decision"]["fired"][0]["rule"], "live_gambling");
    assert_eq!(decided["id"], "live-1");

    // A batch (JSON Lines): one result per record, a bad one among them.
    let batch = format!("{}\n{{\"id\": 1}}\n{}\n", live("博彩"), live("唱歌"));
    let (status, results) = json(&addr, "POST", "/v1/decide/Content/batch", batch.as_bytes());
    assert_eq!(status, 200);
    let results = results["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    assert_eq!(results[0]["decision"]["verdict"], "remove");
    assert_eq!(results[1]["problems"][0]["path"], "id");
    assert_eq!(results[2]["decision"]["verdict"], "allow");

    // Malformed JSON, wrong types, an unknown type, an unknown field.
    let (status, error) = json(&addr, "POST", "/v1/decide/Content", b"{\"id\": \"x\", ");
    assert_eq!(status, 400);
    assert!(
        error["problems"][0]["message"]
            .as_str()
            .unwrap()
            .starts_with("invalid JSON"),
        "{error}"
    );
    let (status, error) = json(
        &addr,
        "POST",
        "/v1/decide/Content",
        br#"{"id": "x", "kind": "stream", "likes": "many"}"#,
    );
    assert_eq!(status, 400);
    let paths: Vec<&str> = error["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    assert!(
        paths.contains(&"kind") && paths.contains(&"likes") && paths.contains(&"text"),
        "{error}"
    );
    let (status, _) = json(&addr, "POST", "/v1/decide/Nope", live("博彩").as_bytes());
    assert_eq!(status, 404);
    let with_typo = live("博彩").replacen("\"text\"", "\"txet\": \"\", \"text\"", 1);
    let (status, decided) = json(&addr, "POST", "/v1/decide/Content", with_typo.as_bytes());
    assert_eq!(status, 200);
    assert_eq!(
        decided["warnings"][0],
        "`txet`: is not a field of `Content` (did you mean `text`?)"
    );

    // A 100 MB body is refused with 413, and the server goes on.
    let huge = vec![b' '; 100 << 20];
    let (status, _) = request(&addr, "POST", "/v1/decide/Content", &huge);
    assert_eq!(status, 413);
    let (status, _) = json(&addr, "GET", "/healthz", b"");
    assert_eq!(status, 200);

    // Explain one record.
    let (status, explained) = json(&addr, "POST", "/v1/explain/Content", live("博彩").as_bytes());
    assert_eq!(status, 200);
    let rule = explained["explanation"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rule"] == "live_gambling")
        .unwrap();
    assert_eq!(rule["status"], "FIRES");

    // Reload while a load generator runs: `梭哈` is not in v1's gambling
    // list and is in v2's. Every answer must be 200 and come wholly from
    // one version: (v1, allow) or (v2, remove).
    let word = "梭哈";
    let stop = Arc::new(AtomicBool::new(false));
    let generators: Vec<_> = (0..4)
        .map(|_| {
            let (addr, stop, body) = (addr.clone(), stop.clone(), live(word));
            std::thread::spawn(move || {
                let mut seen = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    let (status, decided) = json(&addr, "POST", "/v1/decide/Content", body.as_bytes());
                    seen.push((
                        status,
                        decided["policy_version"].as_str().unwrap_or("").to_string(),
                        decided["decision"]["verdict"].as_str().unwrap_or("").to_string(),
                    ));
                }
                seen
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let gambling = policies.join("keywords/gambling.txt");
    let mut words = std::fs::read_to_string(&gambling).unwrap();
    words.push_str(&format!("\n{word}\n"));
    std::fs::write(&gambling, words).unwrap();
    // The watcher reloads; wait for the new version.
    let deadline = Instant::now() + Duration::from_secs(30);
    let v2 = loop {
        let (_, ready) = json(&addr, "GET", "/readyz", b"");
        let version = ready["policy_version"].as_str().unwrap().to_string();
        if version != v1 {
            break version;
        }
        assert!(Instant::now() < deadline, "the policies were not reloaded");
        std::thread::sleep(Duration::from_millis(50));
    };
    // A broken change is refused: the last good version keeps serving.
    std::fs::write(
        policies.join("zz_broken.qlp"),
        "rule broken(x: Nothing) { when: true then: ban }\n",
    )
    .unwrap();
    let (status, refused) = json(&addr, "POST", "/admin/reload", b"");
    assert_eq!(status, 422);
    assert_eq!(refused["policy_version"], v2.as_str());
    assert!(
        refused["diagnostics"].as_str().unwrap().contains("Nothing"),
        "{refused}"
    );
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    let seen: Vec<(u16, String, String)> = generators.into_iter().flat_map(|g| g.join().unwrap()).collect();
    assert!(seen.len() > 20, "the load generator ran ({} requests)", seen.len());
    for (status, version, verdict) in &seen {
        assert_eq!(*status, 200, "a request failed during the reload");
        let expected = if *version == v1 {
            "allow"
        } else {
            assert_eq!(*version, v2, "an unknown version");
            "remove"
        };
        assert_eq!(verdict, expected, "a decision mixed versions");
    }
    assert!(seen.iter().any(|(_, v, _)| *v == v1) && seen.iter().any(|(_, v, _)| *v == v2));

    // Metrics.
    let (status, metrics) = request(&addr, "GET", "/metrics", b"");
    assert_eq!(status, 200);
    let metrics = String::from_utf8(metrics).unwrap();
    assert!(
        metrics.contains("qlp_http_requests_total{route=\"decide\",status=\"413\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("qlp_decisions_by_rule_total{rule=\"live_gambling\"}"));
    assert!(metrics.contains(&format!("qlp_policy_info{{role=\"live\",version=\"{v2}\"}} 1")));
    assert!(
        metrics.contains("qlp_policy_reload_failures_total 1")
            || metrics.contains("qlp_policy_reload_failures_total 2")
    );
    assert!(metrics.contains("qlp_http_request_duration_seconds_bucket{route=\"decide\",le=\"+Inf\"}"));

    // A graceful stop, then every decision is in the log.
    let logged = stop_and_read_log(server, &log);
    let decided = seen.len() + 1 + 2 + 1;
    assert_eq!(logged.len(), decided, "one log entry per decision");
    let first = &logged[0];
    assert_eq!(first["policy_version"], v1.as_str());
    assert_eq!(first["decision"]["verdict"], "remove");
    assert!(first["decision_id"].is_string() && first["now"] == "2022-06-01T12:00:00Z");
}

#[test]
fn a_shadow_that_would_ban_everything_changes_no_verdict_and_every_difference_is_logged() {
    let dir = tempfile::tempdir().unwrap();
    policy_copy(dir.path(), "policies");
    let candidate = policy_copy(dir.path(), "candidate");
    std::fs::write(
        candidate.join("zz_ban_everything.qlp"),
        "import \"common.qlp\"\nrule ban_everything(c: Content) { when: true then: ban }\n",
    )
    .unwrap();
    let log = dir.path().join("decisions.jsonl");
    let server = start(
        dir.path(),
        &[
            "-p",
            "policies",
            "--shadow",
            "candidate",
            "--decision-log",
            log.to_str().unwrap(),
            "--no-watch",
        ],
    );
    let addr = server.addr.clone();
    let words = ["博彩", "唱歌", "跳舞", "博彩"];
    for word in words {
        let (status, decided) = json(&addr, "POST", "/v1/decide/Content", live(word).as_bytes());
        assert_eq!(status, 200);
        let expected = if word == "博彩" { "remove" } else { "allow" };
        assert_eq!(decided["decision"]["verdict"], expected, "the shadow changed a verdict");
        assert!(decided.get("shadow").is_none(), "the shadow is not part of the answer");
    }
    let (_, metrics) = request(&addr, "GET", "/metrics", b"");
    let metrics = String::from_utf8(metrics).unwrap();
    assert!(metrics.contains("qlp_shadow_differences_total 4"), "{metrics}");
    assert!(metrics.contains("role=\"shadow\""));
    let logged = stop_and_read_log(server, &log);
    assert_eq!(logged.len(), 4);
    for entry in &logged {
        assert_eq!(entry["shadow"]["verdict"], "ban", "{entry}");
        assert!(entry["shadow"]["fired"]
            .as_array()
            .unwrap()
            .contains(&Value::from("ban_everything")));
        assert_ne!(entry["decision"]["verdict"], "ban");
    }
}

/// A SIGTERM the moment the server has said where it listens (as a
/// supervisor may send it) stops it gracefully: the handlers are installed
/// before that line, not on the first poll (the default action killed it in
/// about one start of four).
#[test]
fn a_sigterm_right_after_startup_is_a_graceful_stop() {
    let dir = tempfile::tempdir().unwrap();
    policy_copy(dir.path(), "policies");
    let log = dir.path().join("decisions.jsonl");
    for _ in 0..8 {
        let server = start(
            dir.path(),
            &["-p", "policies", "--no-watch", "--decision-log", log.to_str().unwrap()],
        );
        // `stop_and_read_log` asserts the exit status is success.
        assert!(stop_and_read_log(server, &log).is_empty());
    }
}
