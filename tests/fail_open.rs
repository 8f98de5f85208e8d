//! Fail-open made visible: the shipped rules decide every well-formed
//! record, however extreme its numbers (no run-time error makes a rule
//! silently not fire), and a record on which a rule could not decide says so.

// Test helpers may fail loudly: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::Path;

use qlp_runtime::{EngineKind, PolicySet};
use serde_json::Value;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Replaces every integer in `value` by `pick(index)`, counting integers in order.
fn set_integers(value: &mut Value, next: &mut usize, pick: &dyn Fn(usize) -> i64) {
    match value {
        Value::Number(n) if n.is_i64() || n.is_u64() => {
            *value = Value::from(pick(*next));
            *next += 1;
        }
        Value::Array(items) => items.iter_mut().for_each(|v| set_integers(v, next, pick)),
        Value::Object(fields) => fields.values_mut().for_each(|v| set_integers(v, next, pick)),
        _ => {}
    }
}

#[test]
fn shipped_rules_decide_records_with_extreme_numbers() {
    let set = PolicySet::load(&root().join("policies")).unwrap();
    let record = set.record_type("Content").unwrap();
    let created_at = |json: &Value| qlp_grammar::time::parse_time(json["created_at"].as_str().unwrap()).unwrap();
    let samples = std::fs::read_to_string(root().join("policies/examples/records.jsonl")).unwrap();
    let picks: [&dyn Fn(usize) -> i64; 6] = [
        &|_| i64::MAX,
        &|_| i64::MIN,
        &|i| if i % 2 == 0 { i64::MAX } else { i64::MIN },
        &|i| if i % 2 == 0 { i64::MIN } else { i64::MAX },
        &|i| if i % 3 == 0 { i64::MAX } else { 1 },
        &|i| if i % 3 == 1 { i64::MIN / 2 } else { i64::MAX / 3 },
    ];
    let mut context = set.context();
    // Rules that read state (push floods, bursts) see the stream so far.
    let state = qlp_runtime::State::memory();
    let mut decided = 0;
    for line in samples.lines() {
        let original: Value = serde_json::from_str(line).unwrap();
        for pick in picks {
            let mut json = original.clone();
            set_integers(&mut json, &mut 0, pick);
            let bytes = serde_json::to_vec(&json).unwrap();
            for kind in [EngineKind::Jit, EngineKind::Interp] {
                let decision = set
                    .decide_with_state(kind, record, &bytes, created_at(&json), &state, &mut context)
                    .unwrap()
                    .unwrap();
                assert!(
                    decision.errors.is_empty() && !decision.undecided,
                    "{kind:?} could not decide {json}: {:?}",
                    decision.errors
                );
                decided += 1;
            }
        }
    }
    assert_eq!(decided, 300 * 6 * 2);
}

#[test]
fn a_rule_that_cannot_decide_marks_the_decision_and_fails_eval() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("qlp.toml"), "").unwrap();
    std::fs::write(
        dir.path().join("p.qlp"),
        "record R { id: string  n: int }\nrule doubled(r: R) { when: r.n * 2 > 10 then: review }\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("in.jsonl"),
        "{\"id\": \"a\", \"n\": 9}\n{\"id\": \"b\", \"n\": 9223372036854775807}\n",
    )
    .unwrap();
    let run = |extra: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_qlp"))
            .current_dir(dir.path())
            .args(["eval", "-p", ".", "--now", "2022-06-01", "in.jsonl"])
            .args(extra)
            .output()
            .unwrap()
    };
    let out = run(&[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let lines: Vec<Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines[0]["decision"]["verdict"], "review");
    assert!(lines[0]["decision"].get("undecided").is_none());
    assert_eq!(lines[1]["decision"]["undecided"], true);
    assert_eq!(lines[1]["decision"]["errors"][0]["rule"], "doubled");
    assert_eq!(lines[1]["decision"]["errors"][0]["error"], "integer overflow");
    assert!(stderr.contains("1 rule error(s); 1 record(s) undecided"), "{stderr}");
    assert!(
        stderr.contains("1 of 2 record(s) were rejected or undecided"),
        "{stderr}"
    );
    // A tolerated share passes.
    let out = run(&["--max-failed-share", "0.5"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
}
