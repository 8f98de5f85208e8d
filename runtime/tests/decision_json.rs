//! `PolicySet::write_decision` writes the bytes `serde_json` writes for a
//! decision, for every part a decision can have: labels, suspension,
//! shadow rules, exemptions, run-time errors, evidence (bounded, with
//! strings that need escaping) and state; and for a decision an embedder
//! changed.

// Test helpers may fail loudly: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::PathBuf;

use qlp_compiler::MemoryLoader;
use qlp_runtime::{Decision, EngineKind, PolicySet, State};

const POLICY: &str = r#"
record Post { id: string  author: string  title: string = ""  text: string  n: int = 1  at: time }

campaign trial {
  title: "清朗·\"试行\"\t\\ 专项"
}

keywords gambling = ["赌博", "\"下注\"", "back\\slash", "tab	here"]

counter posts(p: Post) { key: p.author  time: p.at  window: 1h  bucket: 1m }

rule gambling_post(p: Post) {
  campaign: trial
  when: p.text has_any gambling or p.title has_any gambling
  then: remove, label("涉赌 \"标签\""), suspend(3d)
  reason: "理由 \\ \"引号\"\n换行"
}

rule gambling_shadow(p: Post) {
  when: p.text has_any gambling
  then: ban
  reason: "shadow"
  shadow: true
}

rule busy(p: Post) {
  when: posts(p) >= 2
  then: limit, label("刷屏")
}

rule ratio(p: Post) {
  when: 10 / p.n > 1
  then: review
}

rule quiet(p: Post) {
  when: p.title == "静"
  then: label("安静")
}

exempt quiet_author(p: Post) {
  when: p.author == "静音"
  cancels: quiet
  reason: "免 \"检\""
}
"#;

fn set() -> PolicySet {
    let loader = MemoryLoader::new().with("p.qlp", POLICY.to_string());
    let checked = qlp_compiler::check(&[PathBuf::from("p.qlp")], &loader);
    let program = checked.program.unwrap_or_else(|| panic!("{:?}", checked.diagnostics));
    PolicySet::new(program).unwrap()
}

fn serde_bytes(decision: &Decision) -> String {
    serde_json::to_string(decision).unwrap()
}

fn written(set: &PolicySet, decision: &Decision) -> String {
    let mut out = b"prefix:".to_vec();
    set.write_decision(decision, &mut out);
    String::from_utf8(out)
        .unwrap()
        .strip_prefix("prefix:")
        .unwrap()
        .to_string()
}

#[test]
fn every_part_of_a_decision_is_written_as_serde_json_writes_it() {
    let set = set();
    let record = set.record_type("Post").unwrap();
    let state = State::memory();
    let mut context = set.context();
    let many = "赌博 \"下注\" ".repeat(20);
    let records = [
        // Evidence with escapes, a campaign, labels, suspension, shadow.
        serde_json::json!({"id": "1", "author": "a", "text": "来赌博 \"下注\" back\\slash tab\there", "at": "2022-05-01T10:00:00Z"}),
        // The counter's second post: state evidence; a run-time error.
        serde_json::json!({"id": "2", "author": "a", "text": "你好", "n": 0, "at": "2022-05-01T10:01:00Z"}),
        // More hits than evidence keeps: a count of the rest.
        serde_json::json!({"id": "3", "author": "b", "text": many, "title": "赌博", "at": "2022-05-01T10:02:00Z"}),
        // An exemption.
        serde_json::json!({"id": "4", "author": "静音", "title": "静", "text": "", "at": "2022-05-01T10:03:00Z"}),
        // Nothing fires.
        serde_json::json!({"id": "5", "author": "c", "text": "", "n": 20, "at": "2022-05-01T10:04:00Z"}),
        // Control characters in matched text.
        serde_json::json!({"id": "6", "author": "d", "text": "赌\u{1}博 赌\u{7f}博\u{1f}赌博\r\n", "at": "2022-05-01T10:05:00Z"}),
    ];
    let mut seen = std::collections::BTreeSet::new();
    for json in &records {
        let json = json.to_string();
        let decision = set
            .decide_with_state(EngineKind::Jit, record, json.as_bytes(), 0, &state, &mut context)
            .unwrap()
            .unwrap();
        let serde = serde_bytes(&decision);
        assert_eq!(written(&set, &decision), serde);
        for part in [
            "\"labels\":[\"",
            "\"suspend\"",
            "\"shadow\"",
            "\"exempted\"",
            "\"errors\"",
            "\"undecided\"",
            "\"evidence\"",
            "\"evidence_omitted\"",
            "\"state\"",
            "\\\"",
            "\\\\",
            "\\t",
            "\\u0001",
        ] {
            if serde.contains(part) {
                seen.insert(part);
            }
        }
    }
    // The records above reach every part (else this test checks less than it says).
    assert_eq!(seen.len(), 13, "parts seen: {seen:?}");
}

#[test]
fn a_decision_an_embedder_changed_is_written_with_its_own_fields() {
    let set = set();
    let record = set.record_type("Post").unwrap();
    let mut context = set.context();
    let json = r#"{"id": "1", "author": "a", "text": "赌博", "at": "2022-05-01T10:00:00Z"}"#;
    let mut decision = set
        .decide_with_state(
            EngineKind::Jit,
            record,
            json.as_bytes(),
            0,
            &State::memory(),
            &mut context,
        )
        .unwrap()
        .unwrap();
    decision.fired[0].reason = Some("changed \"here\"".to_string());
    decision.fired[0].campaign_title = None;
    let out = written(&set, &decision);
    assert_eq!(out, serde_bytes(&decision));
    assert!(out.contains("changed \\\"here\\\""), "{out}");
    // An unknown rule name too.
    decision.fired[0].rule = "not_a_rule".to_string();
    assert_eq!(written(&set, &decision), serde_bytes(&decision));
}
