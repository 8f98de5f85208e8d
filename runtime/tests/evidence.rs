//! Evidence is bounded: a record with a keyword on every line gets the
//! first `MAX_HITS_PER_FIELD` matches of each searched text and a count of
//! the rest, so a decision stays small whatever the record's size.

// Test helpers may fail loudly: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::PathBuf;

use qlp_compiler::explain::MAX_HITS_PER_FIELD;
use qlp_compiler::MemoryLoader;
use qlp_runtime::{EngineKind, PolicySet};

const POLICY: &str = r#"
record Post { id: string  title: string  text: string }
keywords gambling = ["赌博", "下注"]
rule gambling_post(p: Post) {
  when: p.text has_any gambling or p.title has_any gambling
  then: remove
}
"#;

fn set() -> PolicySet {
    let loader = MemoryLoader::new().with("p.qlp", POLICY.to_string());
    let checked = qlp_compiler::check(&[PathBuf::from("p.qlp")], &loader);
    PolicySet::new(checked.program.unwrap()).unwrap()
}

#[test]
fn a_megabyte_of_keywords_gives_a_small_decision_with_a_count_of_the_rest() {
    let set = set();
    let record = set.record_type("Post").unwrap();
    // 100,000 hits in the text (about a megabyte), 3 in the title.
    let text = "来赌博，".repeat(50_000) + &"快下注。".repeat(50_000);
    let json = serde_json::json!({ "id": "p1", "title": "赌博 下注 赌博", "text": text }).to_string();
    assert!(json.len() > 1_000_000);
    let mut context = set.context();
    let decision = set
        .decide(EngineKind::Jit, record, json.as_bytes(), 0, &mut context)
        .unwrap();
    let fired = &decision.fired[0];
    // `or` stops at the text: the title is never searched, so it is no evidence.
    assert_eq!(fired.evidence.len(), MAX_HITS_PER_FIELD);
    assert!(fired.evidence.iter().all(|e| e.field == "p.text"));
    assert_eq!(
        fired.evidence_omitted.get("p.text"),
        Some(&(100_000 - MAX_HITS_PER_FIELD))
    );
    // The kept hits are the first ones, in text order.
    assert_eq!(fired.evidence[0].start, "来".len());
    assert!(fired.evidence.windows(2).all(|w| w[0].start < w[1].start));
    let out = serde_json::to_string(&decision).unwrap();
    assert!(out.len() < 8_000, "the decision is {} bytes", out.len());
    assert!(out.contains(r#""evidence_omitted":{"p.text":99984}"#), "{out}");
}

#[test]
fn a_record_with_few_hits_keeps_them_all_and_reports_nothing_omitted() {
    let set = set();
    let record = set.record_type("Post").unwrap();
    let json = r#"{"id": "p2", "title": "", "text": "赌博 下注 赌.博"}"#;
    let mut context = set.context();
    let decision = set
        .decide(EngineKind::Jit, record, json.as_bytes(), 0, &mut context)
        .unwrap();
    let fired = &decision.fired[0];
    assert_eq!(fired.evidence.len(), 3);
    assert!(fired.evidence_omitted.is_empty());
    assert!(!serde_json::to_string(&decision).unwrap().contains("evidence_omitted"));
}
