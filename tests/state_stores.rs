//! The same stream through every state store gives the same decisions, and
//! a run killed mid-stream and resumed on a durable store counts exactly as
//! a clean run. Redis tests start `redis-server` on a free loopback port;
//! they skip when it is not installed, unless `QLP_REQUIRE_REDIS=1`.

// Test helpers may fail loudly: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

#[path = "support/redis_server.rs"]
mod redis_server;

use redis_server::Redis;

fn qlp() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_qlp"));
    command.current_dir(env!("CARGO_MANIFEST_DIR"));
    command
}

/// A stream of `n` events: pushes and posts by 3,000 senders, 40 texts in
/// a few spellings each, mostly in time order with some records up to two
/// hours late, over about two days.
fn stream(n: u64) -> String {
    let mut out = String::new();
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let spellings = ["转发{}有大事", "转发 {} 有大事！", "轉發{}有大事"];
    for i in 0..n {
        let r = next();
        let late = if r % 10 == 0 { (r >> 8) % 7200 } else { 0 };
        let seconds = (8 * 3600 + i * 2).saturating_sub(late);
        let kind = if r >> 20 & 1 == 0 { "push" } else { "post" };
        let text = spellings[(r >> 24) as usize % 3].replace("{}", &((r >> 32) % 40).to_string());
        out.push_str(&format!(
            "{{\"id\":\"e{i}\",\"kind\":\"{kind}\",\"sender\":\"s{}\",\"text\":\"{text}\",\"at\":\"2022-05-{:02}T{:02}:{:02}:{:02}Z\"}}\n",
            (r >> 40) % 3_000,
            1 + seconds / 86_400,
            seconds / 3600 % 24,
            seconds / 60 % 60,
            seconds % 60
        ));
    }
    out
}

fn eval(input: &Path, state: &str, extra: &[&str]) -> String {
    let out = qlp()
        .args(["eval", "-q", "-p", "tests/data/state", "--state", state])
        .args(extra)
        .arg(input)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn every_store_gives_the_same_decisions_on_a_100k_record_stream() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("events.jsonl");
    std::fs::write(&input, stream(100_000)).unwrap();
    let memory = eval(&input, "memory", &[]);
    assert_eq!(memory.lines().count(), 100_000);
    let fired = memory.lines().filter(|l| l.contains("\"rule\":")).count();
    assert!(
        fired > 1_000,
        "the stream should fire the rules, fired on {fired} records"
    );
    let embedded = eval(&input, dir.path().join("state.redb").to_str().unwrap(), &[]);
    assert!(memory == embedded, "the embedded store differs from memory");
    if let Some(redis) = Redis::start() {
        let shared = eval(&input, &redis.url, &[]);
        assert!(memory == shared, "the Redis store differs from memory");
    }
}

/// Kills `qlp eval --state PATH` with SIGKILL mid-stream, resumes it on the
/// same input with `--resume`, and compares every decision the resumed run
/// makes with a clean run's.
#[test]
fn a_killed_run_resumed_on_a_durable_store_counts_as_a_clean_run() {
    let dir = tempfile::tempdir().unwrap();
    let lines = stream(40_000);
    let input = dir.path().join("events.jsonl");
    std::fs::write(&input, &lines).unwrap();
    let clean = eval(&input, "memory", &[]);
    let store = dir.path().join("state.redb");

    // Feed half the stream through a pipe, wait for decisions, kill.
    let mut child = qlp()
        .args([
            "eval",
            "-q",
            "-p",
            "tests/data/state",
            "--state",
            store.to_str().unwrap(),
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let half: String = lines.lines().take(20_000).map(|l| format!("{l}\n")).collect();
    // Read decisions while writing records: neither pipe may fill up.
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        let mut seen = 0;
        for _ in std::io::BufReader::new(stdout).lines() {
            seen += 1;
            if seen == 5_000 {
                break;
            }
        }
        seen
    });
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        // The pipe breaks when the run is killed: that is expected.
        let _ = stdin.write_all(half.as_bytes());
        let _ = stdin.flush();
        stdin
    });
    assert_eq!(reader.join().unwrap(), 5_000);
    child.kill().unwrap();
    child.wait().unwrap();
    drop(writer.join().unwrap());

    let resumed = eval(&input, store.to_str().unwrap(), &["--resume"]);
    let first = resumed.lines().next().unwrap();
    let line: serde_json::Value = serde_json::from_str(first).unwrap();
    let from = line["line"].as_u64().unwrap() as usize;
    assert!(from > 1 && from <= 20_001, "resumed at line {from}");
    let expected: Vec<&str> = clean.lines().skip(from - 1).collect();
    let got: Vec<&str> = resumed.lines().collect();
    assert_eq!(got.len(), expected.len());
    for (got, expected) in got.iter().zip(&expected) {
        assert_eq!(got, expected);
    }
}

/// Two processes on one Redis (two connections here), their batches
/// interleaved on the same counter keys: every increment is kept, since a
/// commit adds what its batch counted (`HINCRBY`) instead of replacing the
/// counter; and tags are readable values with a time to live.
#[test]
fn processes_sharing_redis_keep_each_others_increments() {
    use qlp_compiler::outcome::Outcome;
    use qlp_compiler::state::prepare;
    use qlp_compiler::{MemoryLoader, Value};
    use qlp_runtime::{Batch, State};
    use std::sync::Arc;

    let Some(redis) = Redis::start() else { return };
    let source = r#"
record Event { id: string  sender: string  at: time }
counter pushes(e: Event) { key: e.sender  time: e.at  window: 1h  bucket: 1m }
tag flooding(e: Event) { key: e.sender  time: e.at  ttl: 1d }
rule flood(e: Event) { when: pushes(e) > 3 then: limit, tag(flooding) }
rule known(e: Event) { when: flooding(e) then: review }
"#;
    let loader = MemoryLoader::new().with("p.qlp", source.to_string());
    let program = qlp_compiler::check(&[std::path::PathBuf::from("p.qlp")], &loader)
        .program
        .unwrap();
    let event = program.record_by_name("Event").unwrap();
    let pushes = program.states.iter().position(|s| s.name == "pushes").unwrap();
    let touch = |i: i64, sender: &str| {
        let record = Value::Record(Arc::from(vec![
            Value::Str(Arc::from(format!("e{i}"))),
            Value::Str(Arc::from(sender)),
            Value::Time(1_650_000_000_000_000 + i * 1_000_000),
        ]));
        prepare(&program, event, &record)
    };
    let (a, b) = (State::open(&redis.url).unwrap(), State::open(&redis.url).unwrap());
    // Both load the same keys before either commits; each counts two
    // records of sender s1, one of them also one of s2.
    let (a_records, b_records) = (
        [touch(0, "s1"), touch(1, "s1"), touch(2, "s2")],
        [touch(3, "s1"), touch(4, "s1")],
    );
    let mut batch_a = Batch::begin(&a, &program, &a_records).unwrap();
    let mut batch_b = Batch::begin(&b, &program, &b_records).unwrap();
    for p in &a_records {
        batch_a.write(&program, p, &Outcome::default());
    }
    for p in &b_records {
        batch_b.write(&program, p, &Outcome::default());
    }
    batch_a.commit(&program, None).unwrap();
    batch_b.commit(&program, None).unwrap();

    // A fifth record of s1 counts the four before it: none was lost.
    let fifth = touch(5, "s1");
    let batch = Batch::begin(&a, &program, [&fifth]).unwrap();
    assert_eq!(batch.read(&program, &fifth).values[pushes], 5);
    drop(batch);
    let sixth = touch(6, "s2");
    let batch = Batch::begin(&b, &program, [&sixth]).unwrap();
    assert_eq!(batch.read(&program, &sixth).values[pushes], 2);
    drop(batch);

    // The flood fires on the fifth and tags s1: the tag is its end time, with a ttl.
    let fired = qlp_compiler::outcome::Outcome::from_conditions(
        &program,
        &qlp_compiler::outcome::Conditions {
            rules: vec![(qlp_compiler::program::RuleId(0), Ok(true))],
            exempts: Vec::new(),
        },
    );
    let mut batch = Batch::begin(&a, &program, [&fifth]).unwrap();
    batch.write(&program, &fifth, &fired);
    batch.commit(&program, None).unwrap();
    let client = redis::Client::open(redis.url.as_str()).unwrap();
    let mut connection = client.get_connection().unwrap();
    let keys: Vec<String> = redis::cmd("KEYS").arg("qlp:t:*").query(&mut connection).unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    let expires: i64 = redis::cmd("GET").arg(&keys[0]).query(&mut connection).unwrap();
    assert_eq!(expires, 1_650_000_000_000_000 + 5 * 1_000_000 + 86_400_000_000);
    let ttl: i64 = redis::cmd("PTTL").arg(&keys[0]).query(&mut connection).unwrap();
    assert!(ttl > 0, "the tag has a time to live");
    let counters: Vec<String> = redis::cmd("KEYS").arg("qlp:n:*").query(&mut connection).unwrap();
    assert_eq!(counters.len(), 2, "a hash per counter key: {counters:?}");
}
