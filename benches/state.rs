//! State: the per-record cost of a counter read and update in the memory
//! store (against a hand-written `HashMap` increment, the limit), the whole
//! stateful pipeline on the shipped policies and sample records, and the
//! same pipeline on a real Redis server (when `redis-server` is installed).
//!
//! `cargo bench --bench state`

// A benchmark stops on broken setup: that is its failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::collections::HashMap;
use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

#[path = "../tests/support/redis_server.rs"]
mod redis_server;

use qlp_compiler::outcome::Outcome;
use qlp_compiler::program::Program;
use qlp_compiler::state::{prepare, Prepared, StateValues};
use qlp_compiler::{MemoryLoader, Value};
use qlp_runtime::{Batch, EngineKind, PolicySet, RedisStore, State};
use redis_server::Redis;

const RECORDS: usize = 1024;

const COUNTER: &str = r#"
record Event { id: string  sender: string  at: time }
counter pushes(e: Event) { key: e.sender  time: e.at  window: 1h  bucket: 1m }
rule flood(e: Event) { when: pushes(e) > 5 then: limit }
"#;

fn counter_program() -> Arc<Program> {
    let loader = MemoryLoader::new().with("p.qlp", COUNTER.to_string());
    let checked = qlp_compiler::check(&[PathBuf::from("p.qlp")], &loader);
    Arc::new(checked.program.expect("the benchmark policy checks"))
}

/// Touches of `RECORDS` events by 10,000 senders, one a second.
fn touches(program: &Program) -> (Vec<Prepared>, Vec<String>) {
    let event = program.record_by_name("Event").unwrap();
    let mut senders = Vec::new();
    let prepared = (0..RECORDS)
        .map(|i| {
            let sender = format!("s{}", (i * 7919) % 10_000);
            senders.push(sender.clone());
            let record = Value::Record(Arc::from(vec![
                Value::Str(Arc::from(format!("e{i}"))),
                Value::Str(Arc::from(sender)),
                Value::Time(1_650_000_000_000_000 + i as i64 * 1_000_000),
            ]));
            prepare(program, event, &record)
        })
        .collect();
    (prepared, senders)
}

fn counter(c: &mut Criterion) {
    let program = counter_program();
    let (prepared, senders) = touches(&program);
    let mut group = c.benchmark_group("counter read+update");
    group.throughput(Throughput::Elements(RECORDS as u64));
    let state = State::memory();
    let mut values = StateValues::default();
    group.bench_function("qlp memory store (batch of 1024)", |b| {
        b.iter(|| {
            let mut batch = Batch::begin(&state, &program, &prepared).unwrap();
            let mut total = 0;
            for p in &prepared {
                batch.read_into(&program, p, &mut values);
                total += values.values[0];
                batch.write(&program, p, &Outcome::default());
            }
            batch.commit(&program, None).unwrap();
            black_box(total)
        })
    });
    // The limit: a hand-written map of counts, no windows, no qlp code.
    let mut counts: HashMap<String, u64> = HashMap::new();
    group.bench_function("hand-written HashMap increment", |b| {
        b.iter(|| {
            let mut total = 0;
            for sender in &senders {
                let count = counts.entry(sender.clone()).or_default();
                *count += 1;
                total += *count;
            }
            black_box(total)
        })
    });
    if let Some(redis) = Redis::start() {
        let state = State::new(RedisStore::open(&redis.url).unwrap());
        group.bench_function("qlp Redis store (batch of 1024, loopback)", |b| {
            b.iter(|| {
                let mut batch = Batch::begin(&state, &program, &prepared).unwrap();
                for p in &prepared {
                    let values = batch.read(&program, p);
                    black_box(values.values[0]);
                    batch.write(&program, p, &Outcome::default());
                }
                batch.commit(&program, None).unwrap();
            })
        });
    }
    group.finish();
}

/// The shipped policies on the sample records, with state: decode, prepare,
/// read, evaluate (JIT), write, decide; against the same records without
/// state (every stateful rule reports that it has none).
fn pipeline(c: &mut Criterion) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let set = PolicySet::load(&root.join("policies")).unwrap();
    let record = set.record_type("Content").unwrap();
    let lines: Vec<Vec<u8>> = std::fs::read_to_string(root.join("policies/examples/records.jsonl"))
        .unwrap()
        .lines()
        .map(|l| l.as_bytes().to_vec())
        .collect();
    let now = qlp_grammar::time::parse_time("2022-06-01").unwrap();
    let mut group = c.benchmark_group("shipped policies, sample records");
    group.throughput(Throughput::Elements(lines.len() as u64));
    let mut context = set.context();
    group.bench_function("ingest + evaluate, no state", |b| {
        b.iter(|| {
            for line in &lines {
                black_box(set.decide(EngineKind::Jit, record, line, now, &mut context).unwrap());
            }
        })
    });
    group.bench_function("ingest + prepare + state + evaluate (memory)", |b| {
        b.iter(|| {
            let state = State::memory();
            let rows: Vec<_> = lines.iter().map(|l| set.ingest(record, l).unwrap()).collect();
            let prepared: Vec<Prepared> = rows
                .iter()
                .map(|row| set.prepare(EngineKind::Jit, record, row, &mut context))
                .collect();
            let mut batch = Batch::begin(&state, set.program(), &prepared).unwrap();
            for (row, p) in rows.iter().zip(&prepared) {
                let values = batch.read(set.program(), p);
                let outcome = set.evaluate_with_state(EngineKind::Jit, record, row, now, &values, &mut context);
                batch.write(set.program(), p, &outcome);
                black_box(set.decision(EngineKind::Jit, record, row, &outcome, now, &mut context));
            }
            batch.commit(set.program(), None).unwrap();
        })
    });
    group.finish();
}

criterion_group!(benches, counter, pipeline);
criterion_main!(benches);
