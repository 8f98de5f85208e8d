//! DESIGN.md's 3-clause predicate — a 20-keyword clause over ~110-character
//! Chinese texts, a numeric and an enum clause — on 20,000 and 200,000
//! records: the interpreter, the JIT, and the limit, hand-written Rust that
//! uses no qlp code (raw `aho-corasick`, `MatchKind::LeftmostFirst`, on the
//! raw text), in the written order and with the comparisons first (the
//! order the JIT gives a condition whose clauses cannot fail). Every
//! verdict is checked to agree before anything is timed.
//!
//! `cargo bench --bench predicate`

// A benchmark stops on broken setup: that is its failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;

use aho_corasick::{AhoCorasick, MatchKind};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use qlp_compiler::jit::CompiledPolicySet;
use qlp_compiler::layout::Row;
use qlp_compiler::outcome::conditions;
use qlp_compiler::{MemoryLoader, Value};

use common::WORDS;

fn policy() -> String {
    let words: Vec<String> = WORDS.iter().map(|w| format!("\"{w}\"")).collect();
    format!(
        "enum Kind {{ post, comment, livestream, short_video }}\n\
         record Post {{ kind: Kind  text: string  likes: int }}\n\
         keywords bad = [{}]\n\
         rule flagged(p: Post) {{ when: p.text has_any bad and p.likes > 10 and p.kind != comment  then: remove }}\n",
        words.join(", ")
    )
}

/// One record as the hand-written predicate sees it.
struct Post {
    kind: usize,
    text: String,
    likes: i64,
}

/// `n` records: real comments joined and cut to 110 characters, a keyword
/// planted in one in ten.
fn posts(n: usize) -> Vec<Post> {
    let texts = common::texts();
    let mut rng = common::Rng(0x3c1a_u64);
    let mut next = 0;
    (0..n)
        .map(|_| {
            let mut text = String::new();
            while text.chars().count() < 110 {
                if !text.is_empty() {
                    text.push('，');
                }
                text.push_str(&texts[next % texts.len()]);
                next += 1;
            }
            let mut text: String = text.chars().take(110).collect();
            if rng.below(10) == 0 {
                let at = text
                    .char_indices()
                    .nth(text.chars().count() / 2)
                    .map_or(0, |(at, _)| at);
                text.insert_str(at, WORDS[rng.below(WORDS.len() as u64) as usize]);
            }
            Post {
                kind: rng.below(4) as usize,
                text,
                likes: rng.below(1000) as i64,
            }
        })
        .collect()
}

/// The limit: no qlp code, the raw text.
fn hand_written(p: &Post, bad: &AhoCorasick) -> bool {
    bad.is_match(&p.text) && p.likes > 10 && p.kind != 1
}

/// The limit with the comparisons first, as the JIT orders a condition
/// whose clauses cannot fail (text searches last).
fn hand_written_cheap_first(p: &Post, bad: &AhoCorasick) -> bool {
    p.likes > 10 && p.kind != 1 && bad.is_match(&p.text)
}

fn predicate(c: &mut Criterion) {
    let loader = MemoryLoader::new().with("p.qlp", policy());
    let checked = qlp_compiler::check(&[PathBuf::from("p.qlp")], &loader);
    let program = Arc::new(checked.program.expect("the predicate checks"));
    let record = program.record_by_name("Post").unwrap();
    let compiled = CompiledPolicySet::compile(program.clone()).unwrap();
    let bad = AhoCorasick::builder()
        .match_kind(MatchKind::LeftmostFirst)
        .build(WORDS)
        .unwrap();
    let mut group = c.benchmark_group("predicate_3_clauses");
    group.sample_size(10);
    for n in [20_000, 200_000] {
        let posts = posts(n);
        let bytes: usize = posts.iter().map(|p| p.text.len()).sum();
        eprintln!("{n} records, {:.0} bytes of text each", bytes as f64 / n as f64);
        let values: Vec<Value> = posts
            .iter()
            .map(|p| {
                Value::Record(Arc::from(vec![
                    Value::Enum(p.kind as u32),
                    Value::Str(Arc::from(p.text.as_str())),
                    Value::Int(p.likes),
                ]))
            })
            .collect();
        let rows: Vec<Row> = values
            .iter()
            .map(|v| Row::encode(&program, compiled.layout(), record, v))
            .collect();
        // Every verdict agrees before anything is timed.
        let mut context = compiled.context();
        let mut fired = 0;
        for ((post, value), row) in posts.iter().zip(&values).zip(&rows) {
            let jit = compiled
                .evaluate_bits(record, row, 0, &mut context)
                .first()
                .copied()
                .unwrap_or(0)
                == 1;
            let interp = conditions(&program, record, value, 0).rules.first().map(|(_, r)| *r) == Some(Ok(true));
            assert_eq!(jit, interp, "JIT and interpreter disagree on {:?}", post.text);
            assert_eq!(hand_written(post, &bad), hand_written_cheap_first(post, &bad));
            assert_eq!(
                jit,
                hand_written(post, &bad),
                "JIT and hand-written Rust disagree on {:?}",
                post.text
            );
            fired += usize::from(jit);
        }
        eprintln!("{n} records: the predicate holds on {fired}");
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(
            BenchmarkId::new("hand_written_raw_aho_corasick", n),
            &posts,
            |b, posts| b.iter(|| posts.iter().filter(|p| hand_written(black_box(p), &bad)).count()),
        );
        group.bench_with_input(
            BenchmarkId::new("hand_written_raw_aho_corasick_cheap_first", n),
            &posts,
            |b, posts| {
                b.iter(|| {
                    posts
                        .iter()
                        .filter(|p| hand_written_cheap_first(black_box(p), &bad))
                        .count()
                })
            },
        );
        group.bench_with_input(BenchmarkId::new("jit", n), &rows, |b, rows| {
            let mut context = compiled.context();
            b.iter(|| {
                rows.iter()
                    .filter(|row| compiled.evaluate_bits(record, black_box(row), 0, &mut context).first() == Some(&1))
                    .count()
            })
        });
        group.bench_with_input(BenchmarkId::new("interpreter", n), &values, |b, values| {
            b.iter(|| {
                values
                    .iter()
                    .filter(|v| {
                        conditions(&program, record, black_box(v), 0)
                            .rules
                            .first()
                            .map(|(_, r)| *r)
                            == Some(Ok(true))
                    })
                    .count()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, predicate);
criterion_main!(benches);
