//! Swapping the policy set while threads evaluate: no crash, and every
//! decision comes wholly from the old set or wholly from the new one.

// Test helpers may fail loudly: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use qlp_compiler::MemoryLoader;
use qlp_runtime::{Engine, PolicySet};

fn policy_set(name: &str) -> PolicySet {
    // Two rules per set that always fire together: a decision mixing sets
    // would name rules of both, or one rule alone.
    let source = format!(
        "record R {{ id: string  n: int }}\n\
         rule {name}_first(r: R) {{ when: r.n >= 0 then: review }}\n\
         rule {name}_second(r: R) {{ when: r.n >= 0 then: label(\"{name}\") }}\n"
    );
    let loader = MemoryLoader::new().with("p.qlp", source);
    let checked = qlp_compiler::check(&[PathBuf::from("p.qlp")], &loader);
    PolicySet::new(checked.program.unwrap()).unwrap()
}

#[test]
fn swapping_under_load_keeps_every_decision_whole() {
    let engine = Arc::new(Engine::new(policy_set("old")));
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..3)
        .map(|_| {
            let engine = engine.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut evaluator = engine.evaluator("R");
                let mut seen = [0usize; 2];
                while !stop.load(Ordering::Relaxed) {
                    let decision = evaluator.decide(br#"{"id": "x", "n": 1}"#, 0).unwrap();
                    let names: Vec<&str> = decision.fired.iter().map(|f| f.rule.as_str()).collect();
                    match names.as_slice() {
                        ["old_first", "old_second"] => seen[0] += 1,
                        ["new_first", "new_second"] => seen[1] += 1,
                        other => panic!("a decision mixes policy sets: {other:?}"),
                    }
                    assert_eq!(decision.labels.len(), 1);
                }
                seen
            })
        })
        .collect();
    for i in 0..200 {
        engine.swap(policy_set(if i % 2 == 0 { "new" } else { "old" }));
        std::thread::yield_now();
    }
    stop.store(true, Ordering::Relaxed);
    let mut total = [0usize; 2];
    for worker in workers {
        let seen = worker.join().expect("a worker panicked");
        total[0] += seen[0];
        total[1] += seen[1];
    }
    assert!(total[0] > 0 && total[1] > 0, "both sets were used: {total:?}");
}

#[test]
fn a_failed_reload_keeps_the_current_set() {
    let engine = Engine::new(policy_set("old"));
    let dir = std::env::temp_dir().join(format!("qlp-reload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("bad.qlp"), "rule broken(").unwrap();
    let error = engine.reload(&dir).unwrap_err();
    assert!(!error.diagnostics.is_empty());
    let mut evaluator = engine.evaluator("R");
    let decision = evaluator.decide(br#"{"id": "x", "n": 1}"#, 0).unwrap();
    assert_eq!(decision.fired[0].rule, "old_first");
    std::fs::remove_dir_all(dir).ok();
}

/// An evaluator can move to another thread (held across an `.await`, handed
/// to a worker), and the engine is shared: checked by the compiler.
#[test]
fn evaluators_are_send_and_engines_are_shared() {
    fn send<T: Send>() {}
    fn shared<T: Send + Sync>() {}
    send::<qlp_runtime::Evaluator<'static>>();
    shared::<qlp_runtime::Engine>();
    shared::<qlp_runtime::PolicySet>();
}

/// A load error an embedder only logs still says what is wrong and where.
#[test]
fn a_load_error_displays_its_diagnostics() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("qlp.toml"), "").unwrap();
    std::fs::write(
        dir.path().join("p.qlp"),
        "record R { n: int }\nrule r(x: R) { when: x.m > 1 then: review }\n",
    )
    .unwrap();
    let error = qlp_runtime::PolicySet::load(dir.path()).unwrap_err().to_string();
    assert!(error.contains("1 error(s)"), "{error}");
    assert!(
        error.contains("p.qlp:2:24: qlp::unknown_field: `R` has no field `m`"),
        "{error}"
    );
    assert!(
        error.contains("(help: did you mean `n`?)") || error.contains("(help:"),
        "{error}"
    );
}

#[test]
fn verdicts_and_actions_are_typed_and_serialize_as_written() {
    use qlp_runtime::{Action, ActionKind, Verdict};
    let action = Action {
        kind: ActionKind::Suspend,
        label: None,
        duration: Some(7 * 86_400 * 1_000_000),
        tag: None,
    };
    assert_eq!(action.to_string(), "suspend(7d)");
    assert_eq!(serde_json::to_string(&action).unwrap(), "\"suspend(7d)\"");
    assert_eq!(serde_json::to_string(&Verdict::Remove).unwrap(), "\"remove\"");
    assert!(Verdict::Ban > Verdict::Remove && Verdict::of(None) == Verdict::Allow);
    assert_eq!(Verdict::of(Some(ActionKind::Tag)), Verdict::Allow);
}
