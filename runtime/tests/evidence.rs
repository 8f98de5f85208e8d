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

/// Evidence decodes only the fields the fired rules read, following the
/// record into the functions it is passed to; a record bound to a name is
/// decoded whole. Either way the evidence is the interpreter's, complete.
#[test]
fn evidence_reads_the_fields_a_rule_reads_through_its_functions() {
    const POLICY: &str = r#"
record Author { name: string  bio: string }
record Post { id: string  title: string  text: string  note: string = ""  author: Author }
keywords gambling = ["赌博", "下注"]
fn joined(p: Post) -> string = p.title + " " + p.text
fn about(a: Author) -> string = a.bio
fn outer(p: Post) -> string = joined(p) + " " + about(p.author)
rule through_functions(p: Post) {
  when: outer(p) has_any gambling
  then: review
}
rule bound_to_a_name(p: Post) {
  when: let q = p; q.note has_any gambling
  then: label("note")
}
"#;
    let loader = MemoryLoader::new().with("p.qlp", POLICY.to_string());
    let checked = qlp_compiler::check(&[PathBuf::from("p.qlp")], &loader);
    let program = checked.program.unwrap_or_else(|| panic!("{:?}", checked.diagnostics));
    let record = program.records.iter().position(|r| r.name == "Post").unwrap();
    // `outer` reads title, text and author (through two functions), not note.
    let rule = &program.rules[0];
    let mut fields = vec![false; program.records[record].fields.len()];
    assert!(qlp_compiler::state::mark_fields(
        &program,
        &rule.when,
        0,
        &mut fields,
        0
    ));
    assert_eq!(fields, [false, true, true, false, true]);
    // A record bound to a name is used whole.
    let mut fields = vec![false; program.records[record].fields.len()];
    assert!(!qlp_compiler::state::mark_fields(
        &program,
        &program.rules[1].when,
        0,
        &mut fields,
        0
    ));

    let set = PolicySet::new(program).unwrap();
    let record = set.record_type("Post").unwrap();
    let json =
        r#"{"id": "p3", "title": "赌博", "text": "快下注", "note": "赌博", "author": {"name": "a", "bio": "下注"}}"#;
    for kind in [EngineKind::Jit, EngineKind::Interp] {
        let mut context = set.context();
        let decision = set.decide(kind, record, json.as_bytes(), 0, &mut context).unwrap();
        let hits = |rule: &str| -> Vec<(String, usize)> {
            let fired = decision.fired.iter().find(|f| f.rule == rule).unwrap();
            fired.evidence.iter().map(|e| (e.matched.clone(), e.start)).collect()
        };
        // Title, text and the author's bio, at their offsets in `outer(p)`.
        assert_eq!(
            hits("through_functions"),
            [
                ("赌博".to_string(), 0),
                ("下注".to_string(), 10),
                ("下注".to_string(), 17)
            ],
            "{kind:?}"
        );
        assert_eq!(hits("bound_to_a_name"), [("赌博".to_string(), 0)], "{kind:?}");
    }
}
