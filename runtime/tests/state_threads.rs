//! An `Engine` shared by many threads keeps state without losing or
//! reordering an increment: each thread's evaluator decides its records as
//! committed batches of one through the engine's store.

// Test helpers may fail loudly: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::PathBuf;
use std::sync::Arc;

use qlp_runtime::{Engine, PolicySet};

const POLICY: &str = r#"
record Event { id: string  sender: string  at: time }
counter sends(e: Event) { key: e.sender  time: e.at  window: 1d  bucket: 1h }
rule busy(e: Event) { when: sends(e) >= 1 then: label("counted") }
"#;

#[test]
fn many_threads_lose_no_increment() {
    let loader = qlp_compiler::MemoryLoader::new().with("p.qlp", POLICY.to_string());
    let program = qlp_compiler::check(&[PathBuf::from("p.qlp")], &loader).program.unwrap();
    let engine = Arc::new(Engine::new(PolicySet::new(program).unwrap()));
    let threads = 8;
    let per_thread = 500;
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let engine = engine.clone();
            std::thread::spawn(move || {
                let mut evaluator = engine.evaluator("Event");
                let mut seen = Vec::new();
                for i in 0..per_thread {
                    let json = format!("{{\"id\":\"t{t}-{i}\",\"sender\":\"shared\",\"at\":\"2022-05-01T08:00:00Z\"}}");
                    let decision = evaluator.decide(json.as_bytes(), 0).unwrap();
                    assert!(!decision.undecided, "{decision:?}");
                    seen.push(decision.fired[0].state[0].value.as_i64().unwrap());
                }
                seen
            })
        })
        .collect();
    let mut counts: Vec<i64> = handles.into_iter().flat_map(|h| h.join().unwrap()).collect();
    counts.sort_unstable();
    // Every record read a different count, 1 to 4,000: each increment landed
    // once, and each record saw exactly the records committed before it.
    let expected: Vec<i64> = (1..=(threads * per_thread) as i64).collect();
    assert_eq!(counts, expected);
}
