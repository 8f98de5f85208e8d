//! `qlp eval` end to end, as a user runs it: the shipped policies, with
//! state in memory, on 150,000 generated records (`examples/gen.rs`, seed
//! 7, as the README's sample records), one core (`taskset -c 1` when the
//! machine has it), process start, reading, decoding, state, evaluation
//! and writing every decision included. Criterion's throughput is the
//! records per second. Issue #12's target: at least 150,000 on one core.
//!
//! `cargo bench --bench eval`

// A benchmark stops on broken setup: that is its failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

#[path = "../examples/gen.rs"]
#[allow(dead_code)]
mod gen;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const RECORDS: u64 = 150_000;

/// `qlp eval` on `records`, pinned to one core when `taskset` is there.
fn qlp_eval(root: &Path, records: &Path, pinned: bool) -> Command {
    let qlp = env!("CARGO_BIN_EXE_qlp");
    let mut command = if pinned {
        let mut command = Command::new("taskset");
        command.args(["-c", "0", qlp]);
        command
    } else {
        Command::new(qlp)
    };
    command
        .args(["eval", "-p"])
        .arg(root.join("policies"))
        .args(["-t", "Content", "--now-from", "created_at", "--quiet"])
        .arg(records)
        .env("RAYON_NUM_THREADS", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

fn end_to_end(c: &mut Criterion) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let records = dir.path().join("records.jsonl");
    {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&records).unwrap());
        for record in gen::in_time_order(gen::content_records(7, RECORDS, Vec::new()), "created_at") {
            writeln!(out, "{record}").unwrap();
        }
    }
    let pinned = Command::new("taskset")
        .args(["-c", "0", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if !pinned {
        eprintln!("taskset is not there: one evaluating thread (RAYON_NUM_THREADS=1), not pinned to one core");
    }
    // Every run must succeed, or the figure measures a failure.
    assert!(qlp_eval(&root, &records, pinned).status().unwrap().success());
    let mut group = c.benchmark_group("qlp eval end to end");
    group.sample_size(10);
    group.measurement_time(std::time::Duration::from_secs(15));
    group.throughput(Throughput::Elements(RECORDS));
    group.bench_function("shipped policies, state in memory, 150k records, one core", |b| {
        b.iter(|| assert!(qlp_eval(&root, &records, pinned).status().unwrap().success()))
    });
    group.finish();
}

criterion_group!(benches, end_to_end);
criterion_main!(benches);
