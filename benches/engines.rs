//! The engines compared on the same records: the reference interpreter, the
//! Cranelift JIT, and the same predicates hand-written in Rust (the limit).
//! Also: interpreter vs JIT on the shipped policies, and compile time.
//!
//! `cargo bench --bench engines`

// A benchmark stops on broken setup: that is its failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use aho_corasick::AhoCorasick;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use qlp_compiler::jit::CompiledPolicySet;
use qlp_compiler::layout::Row;
use qlp_compiler::outcome::conditions;
use qlp_compiler::program::{Program, RecordId};
use qlp_compiler::text::normalize;
use qlp_compiler::Value;
use qlp_runtime::{Limits, PolicySet, PolicyTree};

const N: usize = 1024;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn load(paths: &[PathBuf]) -> Program {
    std::env::set_current_dir(root()).expect("the project root");
    let tree = PolicyTree::open(paths, Limits::DEFAULT).expect("policy files");
    let checked = qlp_compiler::check(&tree.files, &tree.loader);
    checked.program.expect("the benchmark policies check")
}

/// One benchmark record as hand-written Rust sees it.
struct Post {
    kind: u32,
    text: String,
    likes: i64,
    reports: i64,
    score: f64,
    age: Option<i64>,
    followers: i64,
    verified: bool,
    region: String,
    tags: Vec<String>,
}

const KIND_POST: u32 = 0;
const KIND_COMMENT: u32 = 1;
const KIND_LIVE: u32 = 2;
const KIND_SHORT: u32 = 3;

fn posts(texts: &[String]) -> Vec<Post> {
    let mut rng = common::Rng(0x5eed);
    (0..N)
        .map(|i| Post {
            kind: rng.below(4) as u32,
            text: texts[i % texts.len()].clone(),
            likes: [0, 5, 50, 600, 2_000, 20_000, 200_000][rng.below(7) as usize],
            reports: [0, 0, 1, 3, 8, 20, 80][rng.below(7) as usize],
            score: rng.below(100) as f64 / 100.0,
            age: [None, Some(12), Some(16), Some(17), Some(30), Some(65)][rng.below(6) as usize],
            followers: [1, 50, 5_000, 2_000_000][rng.below(4) as usize],
            verified: rng.below(3) == 0,
            region: ["北京", "上海", "海外", "广东"][rng.below(4) as usize].to_string(),
            tags: (0..rng.below(8))
                .map(|t| ["广告", "旅行", "美食", "数码"][(t % 4) as usize].to_string())
                .collect(),
        })
        .collect()
}

fn to_value(post: &Post) -> Value {
    let author = Value::Record(
        vec![
            post.age.map_or(Value::Absent, Value::Int),
            Value::Int(post.followers),
            Value::Bool(post.verified),
            Value::str(&post.region),
        ]
        .into(),
    );
    let tags = Value::List(post.tags.iter().map(|t| Value::str(t)).collect::<Vec<_>>().into());
    Value::Record(
        vec![
            Value::Enum(post.kind),
            Value::str(&post.text),
            Value::Int(post.likes),
            Value::Int(post.reports),
            Value::Float(post.score),
            author,
            tags,
        ]
        .into(),
    )
}

/// The 22 rules of `bench_policy.qlp`, by hand, with the same text normalization.
fn hand_written(p: &Post, bad: &AhoCorasick) -> u64 {
    let mut bits = 0u64;
    let mut set = |i: u32, holds: bool| {
        if holds {
            bits |= 1 << i;
        }
    };
    let live = p.kind == KIND_LIVE;
    set(0, live && bad.is_match(&normalize(&p.text)) && p.likes > 10);
    set(1, p.likes > 1000 && p.reports > 10);
    set(2, p.age.unwrap_or(99) < 18 && (live || p.kind == KIND_SHORT));
    set(3, p.score > 0.9);
    set(4, p.followers < 10 && p.likes > 500);
    set(5, p.reports * 10 > p.likes && p.reports > 5);
    set(6, p.age.is_some_and(|a| a > 60) && p.score > 0.5);
    set(7, p.kind == KIND_COMMENT && p.text.chars().count() > 200);
    set(8, p.text.starts_with("http"));
    set(9, p.region == "海外" && live);
    set(10, !p.verified && p.likes > 10000);
    set(11, p.score > 0.5 && p.score < 0.7 && p.kind == KIND_POST);
    set(12, p.likes - p.reports > 100000);
    set(13, p.likes % 7 == 3 && p.reports == 0);
    set(14, p.followers > 1_000_000 && !p.verified);
    set(15, p.kind != KIND_POST && p.reports > 50);
    set(16, p.age.unwrap_or(0) >= 16 && p.age.unwrap_or(0) < 18 && live);
    set(17, p.tags.len() > 5);
    set(18, p.tags.iter().any(|t| t == "广告"));
    set(19, p.score * 100.0 > p.likes as f64 + 50.0);
    set(20, p.region == "北京" && p.kind == KIND_SHORT && p.likes > 100);
    set(21, p.likes > 0 && p.reports > 0 && p.likes / p.reports < 2);
    bits
}

fn engines(c: &mut Criterion) {
    let program = Arc::new(load(&[root().join("benches/bench_policy.qlp")]));
    let record = program.record_by_name("Post").expect("Post");
    let compiled = CompiledPolicySet::compile(program.clone()).expect("JIT");
    let bad_words: Vec<String> = program.keyword_sets[0].matcher.keywords().to_vec();
    let bad = AhoCorasick::new(&bad_words).expect("automaton");
    let posts = posts(&common::texts());
    let values: Vec<Value> = posts.iter().map(to_value).collect();
    let rows: Vec<Row> = values
        .iter()
        .map(|v| Row::encode(&program, compiled.layout(), record, v))
        .collect();

    // The three engines must agree before they are timed.
    let mut context = compiled.context();
    for ((post, value), row) in posts.iter().zip(&values).zip(&rows) {
        let jit = compiled
            .evaluate_bits(record, row, 0, &mut context)
            .first()
            .copied()
            .unwrap_or(0);
        let interp = conditions(&program, record, value, 0)
            .rules
            .iter()
            .filter(|(_, r)| *r == Ok(true))
            .fold(0u64, |bits, (id, _)| bits | 1 << id.0);
        assert_eq!(jit, interp, "JIT and interpreter disagree");
        assert_eq!(jit, hand_written(post, &bad), "JIT and hand-written Rust disagree");
    }

    let mut group = c.benchmark_group("engines_22_rules");
    group.throughput(Throughput::Elements(N as u64));
    group.bench_function("interpreter", |b| {
        b.iter(|| {
            for value in &values {
                black_box(conditions(&program, record, black_box(value), 0));
            }
        })
    });
    group.bench_function("jit", |b| {
        let mut context = compiled.context();
        b.iter(|| {
            for row in &rows {
                black_box(
                    compiled
                        .evaluate_bits(record, black_box(row), 0, &mut context)
                        .first()
                        .copied(),
                );
            }
        })
    });
    group.bench_function("hand_written_rust", |b| {
        b.iter(|| {
            for post in &posts {
                black_box(hand_written(black_box(post), &bad));
            }
        })
    });
    group.finish();
}

fn shipped_policies(c: &mut Criterion) {
    let set = PolicySet::load(&root().join("policies")).expect("shipped policies");
    let record: RecordId = set.record_type("Content").expect("Content");
    let data = std::fs::read_to_string(root().join("policies/examples/records.jsonl")).expect("sample records");
    let rows: Vec<(Row, i64)> = data
        .lines()
        .map(|line| {
            let row = set.ingest(record, line.as_bytes()).expect("sample record");
            let now = match set.field(record, &row, "created_at") {
                Some(Value::Time(t)) => t,
                _ => 0,
            };
            (row, now)
        })
        .collect();
    let values: Vec<Value> = rows
        .iter()
        .map(|(row, _)| row.decode(set.program(), set.layout(), record).expect("decode"))
        .collect();
    let mut group = c.benchmark_group("shipped_policies");
    group.throughput(Throughput::Elements(rows.len() as u64));
    group.bench_function("interpreter", |b| {
        b.iter(|| {
            for (value, (_, now)) in values.iter().zip(&rows) {
                black_box(conditions(set.program(), record, black_box(value), *now));
            }
        })
    });
    group.bench_function("jit", |b| {
        let compiled = set.compiled().expect("compiled to native code");
        let mut context = set.context();
        b.iter(|| {
            for (row, now) in &rows {
                black_box(
                    compiled
                        .evaluate_bits(record, black_box(row), *now, &mut context)
                        .first()
                        .copied(),
                );
            }
        })
    });
    group.finish();
}

fn compile_time(c: &mut Criterion) {
    let mut group = c.benchmark_group("compile");
    group.sample_size(20);
    group.bench_function("shipped_policies_parse_check_jit", |b| {
        b.iter(|| {
            let program = load(&[Path::new("policies").to_path_buf()]);
            black_box(CompiledPolicySet::compile(Arc::new(program)).expect("JIT"))
        })
    });
    group.bench_function("bench_policy_parse_check_jit", |b| {
        b.iter(|| {
            let program = load(&[root().join("benches/bench_policy.qlp")]);
            black_box(CompiledPolicySet::compile(Arc::new(program)).expect("JIT"))
        })
    });
    group.finish();
}

criterion_group!(benches, engines, shipped_policies, compile_time);
criterion_main!(benches);
