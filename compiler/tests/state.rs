//! State across records: the JIT agrees with the interpreter on random
//! event sequences (counters, distinct counts, first-seen, tags; late and
//! out-of-order records), and the counts are the ones the definition gives,
//! checked against a brute-force count over the whole history.

// Test helpers may fail loudly: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::PathBuf;
use std::sync::Arc;

use proptest::prelude::*;
use qlp_compiler::jit::CompiledPolicySet;
use qlp_compiler::layout::Row;
use qlp_compiler::outcome::{conditions_with_state, Outcome};
use qlp_compiler::program::Program;
use qlp_compiler::state::{prepare, StateMap};
use qlp_compiler::{MemoryLoader, Value};

/// The policy, with its thresholds and windows in `{..}` placeholders.
const POLICY: &str = r#"
enum Kind { post, push }
record Event {
  id: string
  kind: Kind
  author: string
  text: string
  at: time
}

counter pushes(e: Event) {
  key: e.author
  time: e.at
  window: {push_window}
  bucket: {push_bucket}
  when: e.kind == push
}

distinct authors(e: Event) {
  key: fingerprint(e.text)
  of: e.author
  time: e.at
  window: {text_window}
  bucket: {text_bucket}
}

first_seen origin(e: Event) {
  key: fingerprint(e.text)
  id: e.id
  time: e.at
}

tag suspect(e: Event) {
  key: e.author
  time: e.at
  ttl: {ttl}
}

counter by_kind(e: Event) {
  key: e.kind
  time: e.at
  window: {push_window}
  bucket: {push_bucket}
  when: len(e.text) > 3
}

distinct kinds_by_length(e: Event) {
  key: 100 / (len(e.text) - 3)
  of: e.kind
  time: e.at
  window: {text_window}
  bucket: {text_bucket}
}

rule flood(e: Event) {
  when: e.kind == push and pushes(e) >= {flood}
  then: limit, tag(suspect)
}

rule known(e: Event) {
  when: suspect(e) and e.kind == post
  then: review
}

rule spread(e: Event) {
  when: authors(e) >= {spread} and origin(e) < e.at
  then: review
}

first_seen text_origin(e: Event) {
  key: e.text
  id: e.text
  time: e.at
}

rule mixed(e: Event) {
  when: by_kind(e) >= 2 and kinds_by_length(e) >= 2 and text_origin(e) <= e.at
  then: label("mixed kinds")
}

rule counts(e: Event) {
  when: pushes(e) * 100 + authors(e) == 302
  then: label("3 pushes, 2 authors")
}
"#;

/// Windows, thresholds and a ttl for [`POLICY`].
#[derive(Debug, Clone, Copy)]
struct Shape {
    push: (&'static str, &'static str),
    text: (&'static str, &'static str),
    ttl: &'static str,
    flood: u8,
    spread: u8,
}

const SHAPE: Shape = Shape {
    push: ("10m", "1m"),
    text: ("10m", "2m"),
    ttl: "5m",
    flood: 3,
    spread: 2,
};

fn shapes() -> impl Strategy<Value = Shape> {
    let windows = prop_oneof![
        Just(("10m", "1m")),
        Just(("10m", "2m")),
        Just(("1h", "5m")),
        Just(("2m", "2m"))
    ];
    (
        windows.clone(),
        windows,
        prop_oneof![Just("1m"), Just("5m"), Just("1h")],
        1u8..6,
        1u8..4,
    )
        .prop_map(|(push, text, ttl, flood, spread)| Shape {
            push,
            text,
            ttl,
            flood,
            spread,
        })
}

fn program() -> Arc<Program> {
    program_of(SHAPE)
}

fn program_of(shape: Shape) -> Arc<Program> {
    let source = POLICY
        .replace("{push_window}", shape.push.0)
        .replace("{push_bucket}", shape.push.1)
        .replace("{text_window}", shape.text.0)
        .replace("{text_bucket}", shape.text.1)
        .replace("{ttl}", shape.ttl)
        .replace("{flood}", &shape.flood.to_string())
        .replace("{spread}", &shape.spread.to_string());
    let loader = MemoryLoader::new().with("p.qlp", source);
    let checked = qlp_compiler::check(&[PathBuf::from("p.qlp")], &loader);
    assert!(!checked.has_errors(), "{:?}", checked.diagnostics);
    Arc::new(checked.program.unwrap())
}

const TEXTS: [&str; 4] = [
    "有大事",
    "有 大事！",
    "别的事",
    "一段很长很长的话，一段很长很长的话，一段很长很长的话，一段很长很长的话，一段很长很长的话，一段很长很长的话，一段很长很长的话，一段很长很长的话，一段很长很长的话，一段很长很长的话，一段很长很长的话。",
];

/// One event: (author, push?, text, minutes, seconds).
type Event = (u8, bool, u8, i64, i64);

fn record(id: usize, (author, push, text, minutes, seconds): Event) -> Value {
    let time = (minutes * 60 + seconds) * 1_000_000;
    Value::Record(Arc::from(vec![
        Value::Str(Arc::from(format!("r{id}"))),
        Value::Enum(u32::from(push)),
        Value::Str(Arc::from(format!("author{author}"))),
        // Texts 0 and 1 are spellings of one text: one fingerprint; 3 is a
        // key past `MAX_KEY_BYTES`; texts of 3 characters make the
        // `kinds_by_length` key divide by zero.
        Value::Str(Arc::from(TEXTS[usize::from(text) % TEXTS.len()])),
        Value::Time(time),
    ]))
}

/// Each record's outcome with the interpreter and with the JIT, state kept
/// in a map per engine.
fn run(program: &Arc<Program>, compiled: &CompiledPolicySet, events: &[Event]) -> (Vec<Outcome>, Vec<Outcome>) {
    let event = program.record_by_name("Event").unwrap();
    let mut context = compiled.context();
    let (mut interp_state, mut jit_state) = (StateMap::new(), StateMap::new());
    let (mut interp, mut jit) = (Vec::new(), Vec::new());
    for (i, e) in events.iter().enumerate() {
        let value = record(i, *e);
        let prepared = prepare(program, event, &value);
        let values = interp_state.read(program, &prepared);
        let conditions = conditions_with_state(program, event, &value, 0, &values, &qlp_compiler::interp::NoObserver);
        let outcome = Outcome::from_conditions(program, &conditions);
        interp_state.write(program, &prepared, &outcome);
        interp.push(outcome);

        // The JIT computes its own touches: they must be the interpreter's.
        let row = Row::encode(program, compiled.layout(), event, &value);
        let jit_prepared = compiled.prepare(event, &row, &mut context).unwrap();
        assert_eq!(jit_prepared, prepared, "touches of record {i}");
        let prepared = jit_prepared;
        // Read and counted at once, tags after: the values and the state
        // of a read, then a write.
        let jit_values = jit_state.read_and_count(program, &prepared);
        assert_eq!(jit_values, values, "values read by record {i}");
        let outcome = compiled.evaluate_with_state(event, &row, 0, &jit_values, &mut context);
        jit_state.write_tags(program, &prepared, &outcome);
        jit.push(outcome);
    }
    (interp, jit)
}

fn events() -> impl Strategy<Value = Vec<Event>> {
    // Mostly forward in time, sometimes back (late and out-of-order records).
    prop::collection::vec((0u8..3, any::<bool>(), 0u8..4, -12i64..3, 0i64..60), 1..60).prop_map(|steps| {
        let mut minute = 100;
        steps
            .into_iter()
            .map(|(author, push, text, step, second)| {
                // Mostly one minute on or none; a third of the time back, up
                // to 12 minutes (past the 10-minute window: late).
                minute += if step >= -4 { step.max(0) } else { step };
                (author, push, text, minute, second)
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn the_jit_agrees_with_the_interpreter_on_event_sequences(shape in shapes(), events in events()) {
        let program = program_of(shape);
        let compiled = CompiledPolicySet::compile(program.clone()).unwrap();
        let (interp, jit) = run(&program, &compiled, &events);
        for (i, (a, b)) in interp.iter().zip(&jit).enumerate() {
            prop_assert_eq!(a, b, "record {} of {:?} with {:?}", i, events, shape);
        }
    }

    /// For records in time order, a counter is the number of earlier
    /// records of the key in the window, plus the record: a brute-force
    /// count over the history.
    #[test]
    fn in_order_counts_match_a_count_over_the_history(mut events in events()) {
        events.sort_by_key(|e| e.3 * 60 + e.4);
        let program = program();
        let event = program.record_by_name("Event").unwrap();
        let pushes = program.states.iter().position(|s| s.name == "pushes").unwrap();
        let mut state = StateMap::new();
        for (i, e) in events.iter().enumerate() {
            let value = record(i, *e);
            let prepared = prepare(&program, event, &value);
            let values = state.read(&program, &prepared);
            let bucket = |e: &Event| (e.3 * 60 + e.4).div_euclid(60);
            let expected = events[..=i]
                .iter()
                .filter(|o| o.0 == e.0 && o.1 && bucket(o) > bucket(e) - 10 && bucket(o) <= bucket(e))
                .count() as i64;
            prop_assert_eq!(values.values[pushes], expected, "record {}", i);
            state.write(&program, &prepared, &Outcome::default());
        }
    }
}

#[test]
fn a_tag_written_by_one_record_is_read_by_the_next_and_expires() {
    let program = program();
    let compiled = CompiledPolicySet::compile(program.clone()).unwrap();
    // Three pushes in a minute flood and tag author 0; a post a minute later
    // is known; a post after the 5-minute ttl is not.
    let events = [
        (0, true, 2, 100, 0),
        (0, true, 2, 100, 10),
        (0, true, 2, 100, 20),
        (0, false, 2, 101, 0),
        (0, false, 2, 106, 0),
    ];
    let (interp, jit) = run(&program, &compiled, &events);
    assert_eq!(interp, jit);
    let names = |o: &Outcome| {
        o.fired
            .iter()
            .map(|id| program.rule(*id).unwrap().name.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&interp[2]), ["flood"]);
    assert_eq!(names(&interp[3]), ["known"]);
    assert!(names(&interp[4]).is_empty());
}
