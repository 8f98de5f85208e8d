//! Keyword sets at scale: building the automaton for the 53k-entry list,
//! its memory, normalization cost, and scan throughput on real comments.
//!
//! `cargo bench --bench keywords`

// A benchmark stops on broken setup: that is its failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use qlp_compiler::text::{normalize, normalize_into, KeywordMatcher, MatchMode};

fn large_list() -> Vec<String> {
    let text = common::data_dir()
        .and_then(|dir| std::fs::read_to_string(dir.join("lexicon/large_mixed.txt")).ok())
        .unwrap_or_else(|| {
            eprintln!("note: ../shared/data is absent; using a generated 50k list");
            (0..50_000).map(|i| format!("词{i}条")).collect::<Vec<_>>().join("\n")
        });
    let mut keys: Vec<String> = text.lines().map(normalize).filter(|k| !k.is_empty()).collect();
    keys.sort();
    keys.dedup();
    keys
}

fn keywords(c: &mut Criterion) {
    let keys = large_list();
    let texts = common::texts();
    let matcher = KeywordMatcher::new(keys.clone(), MatchMode::Normalized).expect("automaton");
    eprintln!("{} distinct normalized keywords", keys.len());

    let mut group = c.benchmark_group("keywords_build");
    group.sample_size(10);
    group.bench_function("build_automaton_large_mixed", |b| {
        b.iter(|| black_box(KeywordMatcher::new(black_box(keys.clone()), MatchMode::Normalized).expect("automaton")))
    });
    group.finish();

    // About 200-byte texts: real comments joined to that length.
    let mut texts_200 = Vec::new();
    let mut current = String::new();
    for text in &texts {
        current.push_str(text);
        if current.len() >= 200 {
            texts_200.push(std::mem::take(&mut current));
        }
    }
    let bytes: usize = texts_200.iter().map(String::len).sum();
    let normalized: Vec<String> = texts_200.iter().map(|t| normalize(t)).collect();
    let mut group = c.benchmark_group("keywords_scan");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.bench_function("normalize_only", |b| {
        let mut buffer = String::new();
        b.iter(|| {
            for text in &texts_200 {
                buffer.clear();
                normalize_into(black_box(text), &mut buffer);
                black_box(buffer.len());
            }
        })
    });
    group.bench_function("scan_only_normalized_text", |b| {
        b.iter(|| {
            for text in &normalized {
                black_box(matcher.is_match_prepared(black_box(text)));
            }
        })
    });
    group.bench_function("normalize_and_scan", |b| {
        let mut buffer = String::new();
        b.iter(|| {
            for text in &texts_200 {
                buffer.clear();
                normalize_into(black_box(text), &mut buffer);
                black_box(matcher.is_match_prepared(&buffer));
            }
        })
    });
    group.finish();
    eprintln!(
        "{} texts of ~{} bytes; automaton heap: {:.1} MiB",
        texts_200.len(),
        bytes / texts_200.len().max(1),
        matcher.memory_usage() as f64 / (1 << 20) as f64
    );
}

criterion_group!(benches, keywords);
criterion_main!(benches);
