//! End-to-end tests of `qlp eval` on real files and streams.

// Test helpers may fail loudly: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::io::{Read, Write};
use std::process::{Command, Stdio};

fn qlp() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_qlp"));
    command.current_dir(env!("CARGO_MANIFEST_DIR"));
    command
}

fn sample_lines() -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/policies/examples/records.jsonl");
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn the_readme_command_fires_every_2022_campaign() {
    let out = qlp()
        .args([
            "eval",
            "--policies",
            "policies",
            "--type",
            "Content",
            "--now-from",
            "created_at",
        ])
        .arg("policies/examples/records.jsonl")
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stdout.lines().count(), 300);
    for (i, line) in stdout.lines().enumerate() {
        let decision: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(decision["line"], i + 1, "output keeps input order");
    }
    assert!(stderr.contains("records:    300 evaluated, 0 rejected"), "{stderr}");
    for campaign in [
        "livestream_2022",
        "mcn_2022",
        "rumours_2022",
        "minors_summer_2022",
        "apps_2022",
        "news_2022",
        "algorithm_2022",
        "spring_festival_2022",
        "traffic_2022",
        "accounts_2022",
    ] {
        assert!(
            stderr.contains(&format!("{campaign} ")),
            "{campaign} never fired:\n{stderr}"
        );
    }
}

#[test]
fn bad_records_are_reported_and_skipped() {
    let lines = sample_lines();
    let mut input = String::new();
    input.push_str(&lines[0]);
    input.push('\n');
    input.push_str("{not json\n");
    input.push_str(&lines[1].replace("\"viewers\":", "\"viewers\":\"many\",\"x\":"));
    input.push('\n');
    input.push('\n');
    input.push_str(&lines[2]);
    input.push('\n');
    let mut child = qlp()
        .args(["eval", "-p", "policies", "-t", "Content", "--now", "2022-06-01", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    // Rejected records make the run fail (past `--max-failed-share`, 0 by default)…
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("2 of 4 record(s) were rejected or undecided"),
        "{stderr}"
    );
    // …but every good record is still decided.
    let lines: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["line"], 1);
    assert_eq!(lines[1]["line"], 5);
    assert!(stderr.contains("error: line 2: invalid JSON"), "{stderr}");
    assert!(
        stderr.contains("error: line 3: `viewers`: expected `int`, found a string"),
        "{stderr}"
    );
    assert!(stderr.contains("2 evaluated, 2 rejected"), "{stderr}");
}

#[test]
fn empty_input_is_fine() {
    let out = qlp()
        .args([
            "eval",
            "-p",
            "policies",
            "-t",
            "Content",
            "--now",
            "2022-06-01",
            "/dev/null",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("0 evaluated, 0 rejected"));
}

#[test]
fn broken_policies_stop_before_reading_records() {
    let dir = std::env::temp_dir().join(format!("qlp-eval-broken-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("p.qlp"),
        "record R { x: int }\nrule r(c: R) { when: c.y > 1 then: review }\n",
    )
    .unwrap();
    let out = qlp().args(["eval", "-p"]).arg(&dir).arg("/dev/null").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`R` has no field `y`"));
    std::fs::remove_dir_all(dir).ok();
}

/// Peak resident memory of a running process, in KiB (Linux).
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Streams `target` bytes of sample records through `qlp eval` on a pipe;
/// returns the process's peak resident memory in KiB.
fn streamed_peak_kib(target: usize) -> u64 {
    let lines = sample_lines();
    let mut child = qlp()
        .args([
            "eval",
            "-p",
            "policies",
            "-t",
            "Content",
            "--now",
            "2022-06-01",
            "-q",
            "-",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let mut written = 0usize;
        let mut records = 0usize;
        'outer: loop {
            for line in &lines {
                if stdin.write_all(line.as_bytes()).is_err() || stdin.write_all(b"\n").is_err() {
                    break 'outer;
                }
                written += line.len() + 1;
                records += 1;
                if written >= target {
                    break 'outer;
                }
            }
        }
        (written, records)
    });
    let mut stdout = child.stdout.take().unwrap();
    let mut buffer = vec![0u8; 1 << 16];
    let mut output_lines = 0usize;
    let mut peak = 0u64;
    loop {
        let n = stdout.read(&mut buffer).unwrap();
        if n == 0 {
            break;
        }
        output_lines += buffer[..n].iter().filter(|b| **b == b'\n').count();
        if let Some(rss) = peak_rss_kib(pid) {
            peak = peak.max(rss);
        }
    }
    let (written, records) = writer.join().unwrap();
    assert!(child.wait().unwrap().success());
    assert!(written >= target);
    assert_eq!(output_lines, records, "every record got a decision");
    assert!(peak > 0);
    peak
}

#[test]
fn a_100_mb_stream_is_evaluated_in_bounded_memory() {
    // Memory is what the process needs to start (compiled policies,
    // buffers) plus a bounded number of batches in flight: ten times the
    // input adds (almost) nothing, and the whole stays below the input.
    let small = streamed_peak_kib(10 << 20);
    let large = streamed_peak_kib(100 << 20);
    eprintln!("peak resident memory: {small} KiB for 10 MiB, {large} KiB for 100 MiB");
    assert!(
        large < small + 24 * 1024,
        "memory grows with the input: {small} KiB for 10 MiB, {large} KiB for 100 MiB"
    );
    assert!(
        large < 100 * 1024,
        "peak resident memory {large} KiB for a 100 MiB stream"
    );
}

fn eval_child(extra: &[&str]) -> std::process::Child {
    qlp()
        .args(["eval", "-p", "policies", "-t", "Content", "--now", "2022-06-01"])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

#[test]
fn output_equal_to_the_input_is_refused_and_the_input_kept() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.jsonl");
    let original = sample_lines()[..5].join("\n") + "\n";
    std::fs::write(&input, &original).unwrap();
    std::os::unix::fs::symlink(&input, dir.path().join("link.jsonl")).unwrap();
    for output in ["in.jsonl", "link.jsonl"] {
        let out = qlp()
            .args(["eval", "-p", "policies", "-t", "Content", "--now", "2022-06-01"])
            .arg(&input)
            .arg("-o")
            .arg(dir.path().join(output))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("is the input file"));
        assert_eq!(std::fs::read_to_string(&input).unwrap(), original);
    }
    // Through standard input too.
    let out = qlp()
        .args(["eval", "-p", "policies", "-t", "Content", "--now", "2022-06-01", "-o"])
        .arg(&input)
        .stdin(std::fs::File::open(&input).unwrap())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(std::fs::read_to_string(&input).unwrap(), original);
}

#[test]
fn a_2_gb_line_is_rejected_with_its_line_number_and_the_rest_decided() {
    let lines = sample_lines();
    let mut child = eval_child(&[]);
    let mut stdin = child.stdin.take().unwrap();
    let before = lines[..100].join("\n") + "\n";
    let after = lines[100].clone() + "\n";
    let writer = std::thread::spawn(move || {
        stdin.write_all(before.as_bytes()).unwrap();
        let chunk = vec![b'x'; 1 << 20];
        stdin.write_all(b"{\"text\": \"").unwrap();
        for _ in 0..2048 {
            stdin.write_all(&chunk).unwrap();
        }
        stdin.write_all(b"\"}\n").unwrap();
        stdin.write_all(after.as_bytes()).unwrap();
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("error: line 101: the record is 2147483661 bytes, more than the limit of 4194304"),
        "{stderr}"
    );
    let decided: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(decided.len(), 101);
    assert_eq!(decided[99]["line"], 100);
    assert_eq!(decided[100]["line"], 102);
    assert!(stderr.contains("101 evaluated, 1 rejected"), "{stderr}");
}

/// Reads lines from a child's stdout on a thread, so a test can wait for each with a deadline.
fn line_reader(stdout: std::process::ChildStdout) -> std::sync::mpsc::Receiver<String> {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout).lines() {
            if sender.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    receiver
}

#[test]
fn a_live_feed_gets_each_decision_without_waiting_for_a_batch() {
    let lines = sample_lines();
    let mut child = eval_child(&["-q"]);
    let mut stdin = child.stdin.take().unwrap();
    let decisions = line_reader(child.stdout.take().unwrap());
    for (i, line) in lines[..3].iter().enumerate() {
        let sent = std::time::Instant::now();
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
        // Documented latency: 50 ms plus evaluation; 2 s leaves room for a loaded machine.
        let decision = decisions
            .recv_timeout(std::time::Duration::from_secs(2))
            .unwrap_or_else(|_| panic!("no decision for record {} within 2 s", i + 1));
        let decision: serde_json::Value = serde_json::from_str(&decision).unwrap();
        assert_eq!(decision["line"], i + 1);
        assert!(sent.elapsed() < std::time::Duration::from_secs(2));
    }
    drop(stdin);
    assert!(child.wait().unwrap().success());
}

#[test]
fn sigterm_decides_what_was_read_and_prints_the_summary() {
    let lines = sample_lines();
    let mut child = eval_child(&[]);
    let mut stdin = child.stdin.take().unwrap();
    let decisions = line_reader(child.stdout.take().unwrap());
    for line in &lines[..3] {
        writeln!(stdin, "{line}").unwrap();
    }
    stdin.flush().unwrap();
    for _ in 0..3 {
        decisions.recv_timeout(std::time::Duration::from_secs(5)).unwrap();
    }
    // SAFETY: sends a signal to our own child process.
    let sent = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    assert_eq!(sent, 0);
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(128 + 15), "{stderr}");
    assert!(stderr.contains("records:    3 evaluated, 0 rejected"), "{stderr}");
    assert!(stderr.contains("stopped by a signal"), "{stderr}");
    drop(stdin);
}

/// `qlp eval`'s arguments for the shipped policies on the sample records.
const SAMPLE_RUN: [&str; 7] = [
    "-p",
    "policies",
    "-t",
    "Content",
    "--now-from",
    "created_at",
    "policies/examples/records.jsonl",
];

#[test]
fn the_interpreter_alone_gives_the_same_decisions() {
    let run = |engine: &str| {
        let out = qlp()
            .args(["eval", "-q"])
            .args(SAMPLE_RUN)
            .args(["--engine", engine])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let jit = run("jit");
    assert_eq!(jit.lines().count(), 300);
    assert_eq!(run("interp"), jit);
    // Loaded for the interpreter, a policy set has no native code at all.
    let policies = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
    let tree = qlp_runtime::PolicyTree::open(std::slice::from_ref(&policies), qlp_runtime::Limits::DEFAULT).unwrap();
    let set = qlp_runtime::PolicySet::load_tree_for(&tree, &policies, qlp_runtime::EngineKind::Interp).unwrap();
    assert!(set.compiled().is_none());
}

/// On one core every stage runs on the calling thread, on more the
/// records are decoded (and, without state, decided) in parallel: the
/// decisions are the same, in the same order, with and without state.
#[test]
fn one_thread_and_many_give_the_same_decisions() {
    let dir = tempfile::tempdir().unwrap();
    let stateless = dir.path().join("p.qlp");
    std::fs::write(
        &stateless,
        "record Post { id: string  text: string }\nrule ad(p: Post) { when: contains(p.text, \"加微信\") then: limit }\n",
    )
    .unwrap();
    let posts = dir.path().join("posts.jsonl");
    let lines: String = (0..1000)
        .map(|i| {
            format!(
                "{{\"id\":\"{i}\",\"text\":\"{}\"}}\n",
                if i % 7 == 0 { "加微信" } else { "你好" }
            )
        })
        .collect();
    std::fs::write(&posts, lines).unwrap();
    let run = |threads: &str, args: &[&std::ffi::OsStr]| {
        let out = qlp()
            .env("RAYON_NUM_THREADS", threads)
            .args(["eval", "-q"])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let content: Vec<&std::ffi::OsStr> = SAMPLE_RUN.iter().map(std::ffi::OsStr::new).collect();
    let one = run("1", &content);
    assert_eq!(one.lines().count(), 300);
    assert_eq!(run("2", &content), one);
    let plain: Vec<&std::ffi::OsStr> = vec![
        "-p".as_ref(),
        stateless.as_os_str(),
        "--now".as_ref(),
        "2022-01-01".as_ref(),
        posts.as_os_str(),
    ];
    let one = run("1", &plain);
    assert_eq!(one.lines().filter(|l| l.contains("\"limit\"")).count(), 143);
    assert_eq!(run("2", &plain), one);
}

/// Follower growth is counted from follow events: the sample stream's
/// planted burst fires from its thousandth new follower on, and the near
/// miss (as many follows, most by old accounts) never does.
#[test]
fn the_follows_sample_fires_follower_growth_for_the_burst_only() {
    let out = qlp()
        .args(["eval", "-p", "policies", "--type", "Follow", "--now-from", "at"])
        .arg("policies/examples/follows.jsonl")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let fired: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|d| d["decision"]["fired"].as_array().is_some_and(|f| !f.is_empty()))
        .collect();
    assert_eq!(fired.len(), 201, "the 1,000th to the 1,200th follow of the burst");
    for decision in &fired {
        let rule = &decision["decision"]["fired"][0];
        assert_eq!(rule["rule"], "abnormal_follower_growth");
        assert_eq!(rule["state"][0]["key"], "a00042", "{decision}");
        assert!(rule["state"][1]["value"].as_i64().unwrap() >= 1000);
    }
}

#[test]
fn selection_flags_choose_the_rules_and_the_summary_is_written_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.json");
    let run = |extra: &[&str]| {
        let output = qlp()
            .args(["eval", "-p", "tests/data/backtest/v1", "--now-from", "created_at", "-q"])
            .args(extra)
            .arg("--summary-json")
            .arg(&summary)
            .arg("tests/data/backtest/records.jsonl")
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        serde_json::from_slice::<serde_json::Value>(&std::fs::read(&summary).unwrap()).unwrap()
    };
    let all = run(&[]);
    assert_eq!(all["records"], 9);
    assert_eq!(all["rules"]["gambling_post"], 3);
    assert_eq!(all["rules"]["ads_post"], 3);
    assert_eq!(all["campaigns"]["gambling_2022"], 3);
    let ads = run(&["--rule", "ads_post"]);
    assert_eq!(ads["rules"]["gambling_post"], serde_json::Value::Null);
    assert_eq!(ads["verdicts"]["review"], 3);
    let gambling = run(&["--campaign", "gambling_2022", "--all-active"]);
    assert_eq!(gambling["rules"]["gambling_post"], 4, "the August post too");
    assert_eq!(gambling["rules"]["ads_post"], serde_json::Value::Null);

    let output = qlp()
        .args([
            "eval",
            "-p",
            "tests/data/backtest/v1",
            "--now",
            "2022-05-01",
            "--campaign",
            "gambling",
        ])
        .arg("tests/data/backtest/records.jsonl")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no campaign `gambling`; the policies declare: gambling_2022, ads_2022"),
        "{stderr}"
    );
}

/// A file saved with a byte-order mark, a truncated line, a record with
/// several problems and one with an unknown field: each reported with its
/// file line (and column), the rest decided.
#[test]
fn records_are_reported_by_file_line_with_every_problem() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.jsonl");
    let lines = [
        "\u{feff}{\"id\":\"p1\",\"text\":\"博彩\",\"created_at\":\"2022-05-01T10:00:00\"}",
        "{\"id\":\"p2\",\"text\":\"博彩\",\"created_at\":\"2022-05-",
        "{\"id\":\"p3\",\"text\":5}",
        "{\"id\":\"p4\",\"txet\":\"博彩\",\"text\":\"博彩\",\"created_at\":1651370400}",
    ];
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    let output = qlp()
        .args([
            "eval",
            "-p",
            "tests/data/backtest/v1",
            "--now-from",
            "created_at",
            "--max-failed-share",
            "1",
        ])
        .arg(&input)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let decided: Vec<serde_json::Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ids: Vec<&str> = decided.iter().map(|d| d["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["p1", "p4"], "the byte-order mark does not lose the first record");
    assert_eq!(decided[0]["decision"]["verdict"], "remove");
    assert!(
        stderr.contains("error: line 2: invalid JSON: the record ends early, at column 46"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "error: line 3: `text`: expected `string`, found a number; `created_at`: is missing (a required `time`)"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("warning: line 4: `txet`: is not a field of `Post` (did you mean `text`?)"),
        "{stderr}"
    );
    assert!(stderr.contains("unknown fields, ignored: txet (1)"), "{stderr}");

    let strict = qlp()
        .args([
            "eval",
            "-p",
            "tests/data/backtest/v1",
            "--now-from",
            "created_at",
            "--strict",
            "-q",
        ])
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(strict.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&strict.stderr).contains("error: line 4: `txet`: is not a field of `Post`"));
}

/// A rule (or campaign) in shadow is evaluated and reported in `shadow`,
/// never in the verdict, labels or tags; its tests run like any other.
#[test]
fn rules_in_shadow_are_reported_and_never_decide() {
    let out = qlp().args(["test", "tests/data/shadow.qlp"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("posts.jsonl");
    std::fs::write(
        &input,
        "{\"id\":\"1\",\"author\":\"a\",\"text\":\"博彩\",\"at\":\"2022-05-01T10:00:00Z\"}\n\
         {\"id\":\"2\",\"author\":\"a\",\"text\":\"你好\",\"at\":\"2022-05-01T11:00:00Z\"}\n\
         {\"id\":\"3\",\"author\":\"b\",\"text\":\"这是一条很长很长很长的帖子\",\"at\":\"2022-05-01T12:00:00Z\"}\n",
    )
    .unwrap();
    for engine in ["jit", "interp"] {
        let out = qlp()
            .args([
                "eval",
                "-p",
                "tests/data/shadow.qlp",
                "--now-from",
                "at",
                "--engine",
                engine,
            ])
            .arg(&input)
            .output()
            .unwrap();
        assert!(out.status.success());
        let decisions: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["decision"].clone())
            .collect();
        assert_eq!(decisions[0]["verdict"], "review", "{engine}");
        assert_eq!(decisions[0]["labels"], serde_json::json!(["涉赌"]));
        assert_eq!(decisions[0]["shadow"][0]["rule"], "gambling_ban");
        assert_eq!(
            decisions[1]["verdict"], "allow",
            "the shadow rule's tag was not written"
        );
        assert_eq!(decisions[2]["verdict"], "allow", "a campaign in shadow");
        assert!(decisions[2].get("suspend").is_none());
        assert_eq!(decisions[2]["shadow"][0]["rule"], "long_posts");
        assert!(String::from_utf8_lossy(&out.stderr).contains("in shadow:  gambling_ban 1, long_posts 1"));
    }
}

#[test]
fn eval_writes_a_decision_log_like_serve() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("decisions.jsonl");
    let out = qlp()
        .args([
            "eval",
            "-q",
            "-p",
            "tests/data/backtest/v1",
            "--now-from",
            "created_at",
            "--decision-log",
        ])
        .arg(&log)
        .arg("tests/data/backtest/records.jsonl")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let entries: Vec<serde_json::Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(entries.len(), 9, "one entry per decision");
    let ids: std::collections::HashSet<&str> = entries.iter().map(|e| e["decision_id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 9, "decision ids are unique");
    assert_eq!(entries[0]["id"], "p1");
    assert_eq!(entries[0]["line"], 1);
    assert_eq!(entries[0]["record_type"], "Post");
    assert_eq!(entries[0]["now"], "2022-05-01T10:00:00Z");
    assert_eq!(entries[0]["decision"]["verdict"], "remove");
    assert_eq!(entries[0]["policy_version"].as_str().unwrap().len(), 16);
}

/// `qlp eval` loads the rules alone: a test that does not check (here, one
/// that gives a field the record type does not have and expects a rule
/// that does not exist) stops `qlp check` and `qlp test`, not the
/// evaluation of the rules it tests.
#[test]
fn eval_loads_the_rules_without_parsing_the_tests() {
    let dir = tempfile::tempdir().unwrap();
    let policy = std::fs::read_to_string("tests/data/backtest/v1/posts.qlp").unwrap();
    let broken_test =
        "\ntest \"a broken test\" {\n  given Post { id: \"p1\", txt: \"博彩\" }\n  expect no_such_rule\n}\n";
    std::fs::write(dir.path().join("posts.qlp"), format!("{policy}{broken_test}")).unwrap();
    let policies = dir.path().to_str().unwrap();

    let check = qlp().args(["check", policies]).output().unwrap();
    assert!(!check.status.success(), "the broken test is an error for `qlp check`");
    let errors = String::from_utf8(check.stderr).unwrap();
    assert!(errors.contains("txt") || errors.contains("no_such_rule"), "{errors}");

    let mut eval = qlp()
        .args(["eval", "-p", policies, "--now", "2022-05-01"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let record = r#"{"id": "p1", "text": "来博彩", "created_at": "2022-05-01T00:00:00Z"}"#;
    eval.stdin.take().unwrap().write_all(record.as_bytes()).unwrap();
    let out = eval.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("\"gambling_post\""), "{stdout}");
}
