//! Ingestion (JSON → row) against decoding into `serde_json::Value` first,
//! evaluation alone, and end to end, on realistic records whose texts come
//! from real comments (COLD).
//!
//! `cargo bench --bench ingest`

// A benchmark stops on broken setup: that is its failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use qlp_compiler::program::RecordId;
use qlp_compiler::Value;
use qlp_runtime::{EngineKind, PolicySet};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The sample records with their texts replaced by real comments.
fn content_lines(texts: &[String]) -> Vec<String> {
    let data = std::fs::read_to_string(root().join("policies/examples/records.jsonl")).expect("sample records");
    let samples: Vec<serde_json::Value> = data.lines().map(|l| serde_json::from_str(l).expect("json")).collect();
    (0..2048)
        .map(|i| {
            let mut record = samples[i % samples.len()].clone();
            record["text"] = serde_json::Value::String(texts[i % texts.len()].clone());
            record.to_string()
        })
        .collect()
}

/// Compact records of the engine benchmark's schema, about 300 bytes each.
fn post_lines(texts: &[String]) -> Vec<String> {
    let mut rng = common::Rng(7);
    (0..2048)
        .map(|i| {
            let kind = ["post", "comment", "livestream", "short_video"][rng.below(4) as usize];
            serde_json::json!({
                "kind": kind,
                "text": texts[i % texts.len()],
                "likes": rng.below(100_000),
                "reports": rng.below(50),
                "score": rng.below(100) as f64 / 100.0,
                "author": { "age": 20 + rng.below(50), "followers": rng.below(1_000_000), "verified": rng.below(2) == 0, "region": "北京" },
                "tags": ["旅行", "美食"],
            })
            .to_string()
        })
        .collect()
}

fn bench_set(c: &mut Criterion, name: &str, set: &PolicySet, record: RecordId, lines: &[String], now: i64) {
    let bytes: usize = lines.iter().map(|l| l.len() + 1).sum();
    eprintln!(
        "{name}: {} records, {:.0} bytes per record",
        lines.len(),
        bytes as f64 / lines.len() as f64
    );
    let rows: Vec<_> = lines
        .iter()
        .map(|l| set.ingest(record, l.as_bytes()).expect("benchmark record"))
        .collect();
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements(lines.len() as u64));
    group.bench_function("ingest_schema_driven", |b| {
        b.iter(|| {
            for line in lines {
                black_box(set.ingest(record, black_box(line.as_bytes())).ok());
            }
        })
    });
    group.bench_function("decode_serde_json_value", |b| {
        b.iter(|| {
            for line in lines {
                black_box(serde_json::from_slice::<serde_json::Value>(black_box(line.as_bytes())).ok());
            }
        })
    });
    group.bench_function("evaluate_jit", |b| {
        let compiled = set.compiled().expect("compiled to native code");
        let mut context = set.context();
        b.iter(|| {
            for row in &rows {
                black_box(
                    compiled
                        .evaluate_bits(record, black_box(row), now, &mut context)
                        .first()
                        .copied(),
                );
            }
        })
    });
    group.bench_function("end_to_end_decision_json", |b| {
        let mut context = set.context();
        b.iter(|| {
            for line in lines {
                let row = set.ingest(record, line.as_bytes()).expect("record");
                let outcome = set.evaluate(EngineKind::Jit, record, &row, now, &mut context);
                black_box(serde_json::to_string(&set.decision(record, &row, &outcome, now)).ok());
            }
        })
    });
    group.finish();
}

fn ingest(c: &mut Criterion) {
    let texts = common::texts();
    let now = qlp_grammar::time::parse_time("2022-06-01").expect("time");
    let shipped = PolicySet::load(&root().join("policies")).expect("shipped policies");
    let content = shipped.record_type("Content").expect("Content");
    bench_set(
        c,
        "content_records_shipped_policies",
        &shipped,
        content,
        &content_lines(&texts),
        now,
    );

    let bench = PolicySet::load(&root().join("benches/bench_policy.qlp")).expect("bench policy");
    let post = bench.record_type("Post").expect("Post");
    bench_set(c, "post_records_22_rules", &bench, post, &post_lines(&texts), now);
    let _ = Value::Absent;
}

criterion_group!(benches, ingest);
criterion_main!(benches);
