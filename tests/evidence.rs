//! Evidence and explanations come from the interpreter's own run: a keyword
//! search that short-circuiting skipped is never evidence.

// Test helpers may fail loudly: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::process::Command;

const POLICY: &str = "record C { id: string  n: int  text: string }\n\
                      keywords gamble = [\"赌博\"]\n\
                      fn gambling(c: C) -> bool = c.text has_any gamble\n\
                      rule r(c: C) { when: c.n > 5 or c.text has_any gamble then: review }\n\
                      rule via_fn(c: C) { when: c.n > 5 or gambling(c) then: label(\"x\") }\n";

fn qlp(dir: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_qlp"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn tree(record: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("qlp.toml"), "").unwrap();
    std::fs::write(dir.path().join("p.qlp"), POLICY).unwrap();
    std::fs::write(dir.path().join("r.json"), record).unwrap();
    std::fs::write(dir.path().join("r.jsonl"), format!("{record}\n")).unwrap();
    dir
}

#[test]
fn a_skipped_keyword_search_is_not_evidence() {
    let dir = tree(r#"{"id": "a", "n": 10, "text": "一起赌博"}"#);
    let explained = qlp(dir.path(), &["explain", "-p", ".", "r.json"]);
    assert!(
        explained.contains("c.text has_any gamble  => not evaluated"),
        "{explained}"
    );
    assert!(
        !explained.contains("赌博"),
        "evidence from a branch never evaluated:\n{explained}"
    );
    let decisions = qlp(dir.path(), &["eval", "-p", ".", "--now", "2022-06-01", "r.jsonl"]);
    let decision: serde_json::Value = serde_json::from_str(decisions.lines().next().unwrap()).unwrap();
    for fired in decision["decision"]["fired"].as_array().unwrap() {
        assert!(fired.get("evidence").is_none(), "{decision}");
    }
}

#[test]
fn an_evaluated_keyword_search_is_evidence_inside_functions_too() {
    let dir = tree(r#"{"id": "a", "n": 1, "text": "一起赌博"}"#);
    let decisions = qlp(dir.path(), &["eval", "-p", ".", "--now", "2022-06-01", "r.jsonl"]);
    let decision: serde_json::Value = serde_json::from_str(decisions.lines().next().unwrap()).unwrap();
    let fired = decision["decision"]["fired"].as_array().unwrap();
    assert_eq!(fired.len(), 2, "{decision}");
    for rule in fired {
        let evidence = &rule["evidence"][0];
        assert_eq!(evidence["keyword"], "赌博", "{decision}");
        assert_eq!(evidence["field"], "c.text", "{decision}");
        assert_eq!(evidence["start"], 6, "{decision}");
        assert_eq!(evidence["end"], 12, "{decision}");
    }
}
