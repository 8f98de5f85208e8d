//! Memory of the in-memory state store for many live keys: one counter
//! cell (one bucket) per key, committed in batches of 10,000.
//!
//! `cargo run --release -p qlp-runtime --example state_memory -- 10000000`

// An example program: it may stop on bad arguments.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::PathBuf;
use std::sync::Arc;

use qlp_compiler::outcome::Outcome;
use qlp_compiler::state::prepare;
use qlp_compiler::{MemoryLoader, Value};
use qlp_runtime::{Batch, State};

/// Resident memory of this process, in bytes (Linux).
fn resident() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn main() {
    let keys: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let source = r#"
record Event { sender: string  at: time }
counter pushes(e: Event) { key: e.sender  time: e.at  window: 1h  bucket: 1m }
rule flood(e: Event) { when: pushes(e) > 5 then: limit }
"#;
    let loader = MemoryLoader::new().with("p.qlp", source.to_string());
    let program = qlp_compiler::check(&[PathBuf::from("p.qlp")], &loader).program.unwrap();
    let event = program.record_by_name("Event").unwrap();
    let state = State::memory();
    let before = resident();
    let mut n = 0;
    while n < keys {
        let prepared: Vec<_> = (n..(n + 10_000).min(keys))
            .map(|i| {
                let record = Value::Record(Arc::from(vec![
                    Value::Str(Arc::from(format!("sender-{i:010}"))),
                    Value::Time(1_650_000_000_000_000),
                ]));
                prepare(&program, event, &record)
            })
            .collect();
        let mut batch = Batch::begin(&state, &program, &prepared).unwrap();
        for p in &prepared {
            batch.write(&program, p, &Outcome::default());
        }
        batch.commit(&program, None).unwrap();
        n += prepared.len() as u64;
    }
    let after = resident();
    let (count, bytes) = state.store().size().unwrap_or((0, 0));
    println!(
        "{count} live counter keys: {:.0} MiB resident ({:.0} bytes a key); cells count {:.0} MiB",
        (after - before) as f64 / (1 << 20) as f64,
        (after - before) as f64 / keys as f64,
        bytes as f64 / (1 << 20) as f64
    );
}
