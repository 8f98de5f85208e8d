//! `qlp eval` keeps state across a stream: in input order, across batches
//! and threads, with the values a fired rule read in its decision.

// Test helpers may fail loudly: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::process::Command;

fn qlp() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_qlp"));
    command.current_dir(env!("CARGO_MANIFEST_DIR"));
    command
}

/// 5,000 pushes by 7 senders, one every 3 seconds, round robin: each
/// sender's n-th push in the day reads n, across eval's batches of 2,048
/// records and its worker threads. Both engines give the same decisions.
#[test]
fn counts_follow_the_stream_in_input_order_across_batches() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("events.jsonl");
    let mut lines = String::new();
    for i in 0..5_000u64 {
        let seconds = 8 * 3600 + 3 * i;
        lines.push_str(&format!(
            "{{\"id\":\"e{i}\",\"kind\":\"push\",\"sender\":\"s{}\",\"text\":\"\",\"at\":\"2022-05-01T{:02}:{:02}:{:02}Z\"}}\n",
            i % 7,
            seconds / 3600,
            seconds / 60 % 60,
            seconds % 60
        ));
    }
    std::fs::write(&input, lines).unwrap();
    let mut outputs = Vec::new();
    for engine in ["jit", "interp"] {
        let out = qlp()
            .args(["eval", "-q", "-p", "tests/data/state", "--engine", engine])
            .arg(&input)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        outputs.push(String::from_utf8(out.stdout).unwrap());
    }
    assert_eq!(outputs[0], outputs[1], "the engines disagree");
    let decisions: Vec<serde_json::Value> = outputs[0].lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(decisions.len(), 5_000);
    for (i, decision) in decisions.iter().enumerate() {
        let nth = i / 7 + 1;
        let fired = decision["decision"]["fired"].as_array().unwrap();
        if nth <= 5 {
            assert!(fired.is_empty(), "record {i}: {decision}");
            continue;
        }
        let state = &fired[0]["state"][0];
        assert_eq!(state["name"], "pushes_by_sender");
        assert_eq!(state["key"], format!("s{}", i % 7));
        assert_eq!(state["value"], nth as u64, "record {i}");
    }
}

/// The policy's sequence tests (several `given`s, expectations per record)
/// pass: `qlp test` runs each on both engines, state kept per engine.
#[test]
fn sequence_tests_pass_on_both_engines() {
    let out = qlp().args(["test", "tests/data/state"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("4 passed, 0 failed"), "{stdout}");
}

/// `qlp explain --state` reads what `qlp eval --state` left in a store
/// file, and shows each value a rule read with its key; it writes nothing.
#[test]
fn explain_shows_the_state_a_rule_read() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("events.jsonl");
    let push = |i: u32| {
        format!("{{\"id\":\"e{i}\",\"kind\":\"push\",\"sender\":\"app\",\"text\":\"\",\"at\":\"2022-05-01T08:0{i}:00Z\"}}\n")
    };
    std::fs::write(&input, (0..5).map(push).collect::<String>()).unwrap();
    let store = dir.path().join("state.redb");
    let out = qlp()
        .args(["eval", "-q", "-p", "tests/data/state", "--state"])
        .arg(&store)
        .arg(&input)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let record = dir.path().join("sixth.json");
    std::fs::write(&record, push(5)).unwrap();
    for _ in 0..2 {
        let out = qlp()
            .args(["explain", "-p", "tests/data/state", "--state"])
            .arg(&store)
            .arg(&record)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains("rule push_flood: FIRES"), "{stdout}");
        assert!(
            stdout.contains("counter `pushes_by_sender` for key `app` is 6"),
            "{stdout}"
        );
    }
}

/// Records are decoded for state with only the fields state declarations
/// read: the touches are those of the whole record, on every sample record.
#[test]
fn partial_decoding_prepares_what_the_whole_record_does() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let set = qlp_runtime::PolicySet::load(&root.join("policies")).unwrap();
    let record = set.record_type("Content").unwrap();
    let samples = std::fs::read_to_string(root.join("policies/examples/records.jsonl")).unwrap();
    let mut touched = 0;
    for line in samples.lines() {
        let row = set.ingest(record, line.as_bytes()).unwrap();
        let whole = row.decode(set.program(), set.layout(), record).unwrap();
        let expected = qlp_compiler::state::prepare(set.program(), record, &whole);
        let mut context = set.context();
        for kind in [qlp_runtime::EngineKind::Interp, qlp_runtime::EngineKind::Jit] {
            assert_eq!(
                set.prepare(kind, record, &row, &mut context),
                expected,
                "{kind:?}: {line}"
            );
        }
        touched += expected.touches.len();
    }
    assert!(
        touched >= 300 * 5,
        "the shipped policies keep state for every record: {touched}"
    );
}

/// A store file that is the input or the output is refused before anything
/// is written: the records and the decisions stay as they were.
#[test]
fn the_store_is_never_the_input_or_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("events.jsonl");
    let record = "{\"id\":\"e1\",\"kind\":\"push\",\"sender\":\"a\",\"text\":\"\",\"at\":\"2022-05-01T08:00:00Z\"}\n";
    std::fs::write(&input, record).unwrap();
    let output = dir.path().join("out.jsonl");
    for (state, out) in [(&input, None), (&output, Some(&output))] {
        let mut command = qlp();
        command
            .args(["eval", "-q", "-p", "tests/data/state", "--state"])
            .arg(state)
            .arg(&input);
        if let Some(out) = out {
            command.arg("-o").arg(out);
        }
        let result = command.output().unwrap();
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert!(!result.status.success(), "{stderr}");
        assert!(stderr.contains("needs a file of its own"), "{stderr}");
    }
    assert_eq!(std::fs::read_to_string(&input).unwrap(), record);
}

/// A record whose `when:` fails writes nothing: the memory store keeps no
/// entry for the keys it only read, and the summary counts live keys.
#[test]
fn records_that_count_nothing_leave_no_keys_behind() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("pushes.qlp");
    std::fs::write(
        &policy,
        "enum Kind { post, push }\n\
         record Event { id: string\n kind: Kind\n sender: string\n at: time }\n\
         counter pushes(e: Event) { key: e.sender\n time: e.at\n window: 1d\n bucket: 1h\n when: e.kind == push }\n\
         rule flood(e: Event) { when: pushes(e) > 5\n then: limit }\n",
    )
    .unwrap();
    let input = dir.path().join("events.jsonl");
    let line = |i: u64, kind: &str| {
        format!("{{\"id\":\"e{i}\",\"kind\":\"{kind}\",\"sender\":\"s{i}\",\"at\":\"2022-05-01T08:00:{i:02}Z\"}}\n")
    };
    // Forty posts by forty senders, then one push.
    let mut lines: String = (0..40).map(|i| line(i, "post")).collect();
    lines.push_str(&line(40, "push"));
    std::fs::write(&input, lines).unwrap();
    let out = qlp().args(["eval", "-p"]).arg(&policy).arg(&input).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summary = String::from_utf8(out.stderr).unwrap();
    assert!(summary.contains("state:      1 key(s)"), "{summary}");
}
