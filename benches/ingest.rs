//! Ingestion (JSON → row) against the parsers alone (sonic-rs and
//! `serde_json` into their own values, `serde_json` into a plain struct),
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

/// The shipped `Content` record as a plain struct, for `serde_json`'s
/// derived decoding of the same fields (borrowed strings where they have no
/// escapes, like qlp's keys; times kept as text: parsing them is qlp's work).
#[allow(dead_code)]
#[derive(serde::Deserialize)]
struct PlainContent<'a> {
    #[serde(borrow)]
    id: std::borrow::Cow<'a, str>,
    kind: std::borrow::Cow<'a, str>,
    #[serde(default)]
    title: String,
    text: String,
    ocr_text: Option<String>,
    asr_text: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    declared_labels: Vec<String>,
    created_at: std::borrow::Cow<'a, str>,
    ip_region: Option<String>,
    #[serde(default)]
    is_news: bool,
    repost_of: Option<String>,
    source_label: Option<String>,
    #[serde(default)]
    likes: i64,
    #[serde(default)]
    shares: i64,
    #[serde(default)]
    comments: i64,
    #[serde(default)]
    reports: i64,
    #[serde(default)]
    viewers: i64,
    displayed_viewers: Option<i64>,
    #[serde(default)]
    tips_total: f64,
    #[serde(default)]
    tippers: i64,
    minor_tippers: Option<i64>,
    #[serde(default)]
    max_single_tip: f64,
    sales_claimed: Option<i64>,
    sales_verified: Option<i64>,
    hot_rank: Option<i64>,
    #[serde(default)]
    scores: PlainScores,
    author: PlainAccount,
}

#[allow(dead_code)]
#[derive(serde::Deserialize, Default)]
struct PlainScores {
    vulgarity: Option<f64>,
    rumour: Option<f64>,
    clickbait: Option<f64>,
    bullying: Option<f64>,
    gambling: Option<f64>,
}

#[allow(dead_code)]
#[derive(serde::Deserialize)]
struct PlainAccount {
    id: String,
    kind: String,
    #[serde(default)]
    nickname: String,
    verification: Option<String>,
    created_at: String,
    followers: i64,
    inactive_follower_ratio: Option<f64>,
    mcn: Option<String>,
    age: Option<i64>,
    #[serde(default)]
    strikes: i64,
    #[serde(default)]
    banned_before: bool,
    #[serde(default)]
    linked_banned_accounts: i64,
    #[serde(default)]
    real_name_shown: bool,
}

/// Decoding the same lines without qlp: the limits ingestion is measured against.
fn parser_baselines(c: &mut Criterion, name: &str, lines: &[String], plain: bool) {
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements(lines.len() as u64));
    group.bench_function("hand_written_sonic_rs_value", |b| {
        b.iter(|| {
            for line in lines {
                black_box(sonic_rs::from_slice::<sonic_rs::Value>(black_box(line.as_bytes())).ok());
            }
        })
    });
    group.bench_function("hand_written_serde_json_value", |b| {
        b.iter(|| {
            for line in lines {
                black_box(serde_json::from_slice::<serde_json::Value>(black_box(line.as_bytes())).ok());
            }
        })
    });
    if plain {
        group.bench_function("hand_written_serde_json_struct", |b| {
            b.iter(|| {
                for line in lines {
                    black_box(serde_json::from_slice::<PlainContent>(black_box(line.as_bytes())).is_ok());
                }
            })
        });
    }
    group.finish();
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
                let decision = set.decision(EngineKind::Jit, record, &row, &outcome, now, &mut context);
                black_box(serde_json::to_string(&decision).ok());
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
    let lines = content_lines(&texts);
    assert!(lines.iter().all(|l| serde_json::from_str::<PlainContent>(l).is_ok()));
    bench_set(c, "content_records_shipped_policies", &shipped, content, &lines, now);
    parser_baselines(c, "content_records_shipped_policies", &lines, true);

    let bench = PolicySet::load(&root().join("benches/bench_policy.qlp")).expect("bench policy");
    let post = bench.record_type("Post").expect("Post");
    let lines = post_lines(&texts);
    bench_set(c, "post_records_22_rules", &bench, post, &lines, now);
    parser_baselines(c, "post_records_22_rules", &lines, false);
    let _ = Value::Absent;
}

criterion_group!(benches, ingest);
criterion_main!(benches);
