//! The fast parser against `serde_json`: on any line, the same row or the
//! same error.

// Test helpers may fail loudly: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::PathBuf;

use proptest::prelude::*;
use qlp_compiler::layout::Layout;
use qlp_compiler::program::Program;
use qlp_compiler::MemoryLoader;

use super::IngestPlan;

const POLICY: &str = r#"
enum Kind { post, live }
record Author { name: string  age: int? }
record Item {
  id: string
  kind: Kind
  score: float
  count: int
  at: time
  window: duration
  ok: bool
  tags: [string]
  author: Author
  note: string?
  unused: string
  others: [Author]
  level: int = 3
  label: string = "标签"
  zero: float = -0.0
  since: time = 2021-01-01
}
rule r(i: Item) {
  when: i.kind == live and i.score > 0.5 and i.count >= 0 and i.at > 2020-01-01 and i.window > 0s and i.ok
    and len(i.tags) >= 0 and (i.author.age ?? 0) >= 0 and (i.note ?? "") != "x" and len(i.others) >= 0
    and all(o in i.others: len(o.name) >= 0) and i.level > 0 and i.label != "" and i.zero <= 0.0
    and i.since > 2020-01-01
  then: review
}
"#;

fn program() -> Program {
    let loader = MemoryLoader::new().with("p.qlp", POLICY);
    qlp_compiler::check(&[PathBuf::from("p.qlp")], &loader).program.unwrap()
}

/// Values a field may hold, the ordinary and the odd: numbers at the edges
/// of what each parser reads exactly, escapes, surrogates, control
/// characters, and text that is not JSON at all.
const VALUES: &[&str] = &[
    "0",
    "-0",
    "-0.0",
    "-0e3",
    "-0.5",
    "-1e-400",
    "-2.5e-324",
    "1e-400",
    "1",
    "-1",
    "0.5",
    "0.1",
    "123.456",
    "0.30000000000000004",
    "9007199254740992.5",
    "1.0000000000000000000000001",
    "1.5e3",
    "-0.0",
    "1e3",
    "1E-3",
    "1.5e+2",
    "2.5e-324",
    "1e308",
    "1e309",
    "-1e309",
    "1.7976931348623157e308",
    "4.9e-324",
    "9007199254740993",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "-9223372036854775809",
    "18446744073709551615",
    "18446744073709551616",
    "123456789012345678901234567890",
    "0.1000000000000000055511151231257827",
    "01",
    "1.",
    ".5",
    "+1",
    "1e",
    "NaN",
    "Infinity",
    "true",
    "false",
    "null",
    "tru",
    "nul",
    "[]",
    "{}",
    "[1,2]",
    "[\"a\",\"b\"]",
    "[1,]",
    "{\"name\":\"x\"}",
    "{\"name\":\"x\",\"age\":3}",
    "{\"name\":\"x\",\"name\":\"y\"}",
    "[{\"name\":\"a\"}]",
    "\"\"",
    "\"post\"",
    "\"live\"",
    "\"LIVE\"",
    "\"2021-06-01\"",
    "\"2021-06-01T08:00:00Z\"",
    "\"2021-06-01T08:00:00+08:00\"",
    "\"2021-13-01\"",
    "\"1h\"",
    "\"90m\"",
    "\"0s\"",
    "\"1x\"",
    "\"\\u0000\"",
    "\"\\ud83d\\ude00\"",
    "\"\\ud800\"",
    "\"\\udc00x\"",
    "\"\\u00e9\\n\\t\\\"\\\\\\/\"",
    "\"a\\qb\"",
    "\"a\\\"b\"",
    "\"\\u4e2d\\u6587 text\"",
    "\"\u{7}\"",
    "\"tab\there\"",
    "\"王\"",
    "\"\u{feff}bom\"",
    "\"\\u00\"",
    "\"unterminated",
    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
    "1 2",
    "\"x\" \"y\"",
];

const FIELDS: &[&str] = &[
    "id", "kind", "score", "count", "at", "window", "ok", "tags", "author", "note", "unused", "others", "extra", "Id",
    "", "level", "label", "zero", "since",
];

/// A whole good record, then the same with fields replaced, dropped or added.
fn record(changes: &[(usize, usize, u8)]) -> Vec<u8> {
    let mut fields: Vec<(String, String)> = [
        ("id", "\"i1\""),
        ("kind", "\"live\""),
        ("score", "0.75"),
        ("zero", "0.25"),
        ("count", "3"),
        ("at", "\"2021-06-01T08:00:00Z\""),
        ("window", "\"1h\""),
        ("ok", "true"),
        ("tags", "[\"a\"]"),
        ("author", "{\"name\":\"王\",\"age\":17}"),
        ("note", "null"),
        ("unused", "\"u\""),
        ("others", "[]"),
    ]
    .iter()
    .map(|(k, v)| (format!("\"{k}\""), v.to_string()))
    .collect();
    for &(field, value, how) in changes {
        let key = format!("\"{}\"", FIELDS[field % FIELDS.len()]);
        let value = VALUES[value % VALUES.len()].to_string();
        match how % 4 {
            0 => {
                if let Some(entry) = fields.iter_mut().find(|(k, _)| *k == key) {
                    entry.1 = value;
                } else {
                    fields.push((key, value));
                }
            }
            1 => fields.retain(|(k, _)| *k != key),
            2 => fields.push((key, value)),
            _ => fields.insert(0, (key, value)),
        }
    }
    let body: Vec<String> = fields.iter().map(|(k, v)| format!("{k}:{v}")).collect();
    format!("{{{}}}", body.join(",")).into_bytes()
}

/// Whether the fast path decodes `line` itself (rather than leaving it to
/// the `serde_json` path).
fn fast_takes(plan: &IngestPlan, program: &Program, line: &[u8]) -> bool {
    let record = program.record_by_name("Item").unwrap();
    let size = plan.layout.record(record).map_or(0, |r| r.size) as usize;
    let (mut fixed, mut arena, mut lists) = (vec![0; size], Vec::new(), Vec::new());
    let out = super::direct::Out {
        arena: &mut arena,
        base: size,
        lists: &mut lists,
    };
    super::direct::decode(plan, program, record, line, &mut fixed, out).is_some()
}

/// Lines decoded by both paths, and by the fast path itself.
#[derive(Default)]
struct Tally {
    lines: usize,
    fast: usize,
}

fn agree(plan: &IngestPlan, program: &Program, line: &[u8]) -> Result<(), TestCaseError> {
    agree_counted(plan, program, line, &mut Tally::default())
}

fn agree_counted(plan: &IngestPlan, program: &Program, line: &[u8], tally: &mut Tally) -> Result<(), TestCaseError> {
    tally.lines += 1;
    tally.fast += usize::from(fast_takes(plan, program, line));
    let record = program.record_by_name("Item").unwrap();
    for strict in [false, true] {
        let (mut fast_warnings, mut slow_warnings) = (Vec::new(), Vec::new());
        let fast = plan.ingest_by(program, record, line, strict, &mut fast_warnings, true);
        let slow = plan.ingest_by(program, record, line, strict, &mut slow_warnings, false);
        let shown = String::from_utf8_lossy(line);
        prop_assert_eq!(&fast, &slow, "line {}", shown);
        prop_assert_eq!(&fast_warnings, &slow_warnings, "line {}", shown);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

    #[test]
    fn the_fast_parser_decodes_every_line_as_serde_json_does(
        changes in prop::collection::vec((0usize..64, 0usize..256, any::<u8>()), 0..6),
        cut in prop::option::of(0usize..400),
        byte in prop::option::of((0usize..400, any::<u8>())),
        pad in prop::sample::select(vec!["", " ", "\n", "\t ", "\r\n"]),
    ) {
        let program = program();
        let plan = IngestPlan::new(&program, Layout::new(&program));
        let mut line = pad.as_bytes().to_vec();
        line.extend(record(&changes));
        line.extend_from_slice(pad.as_bytes());
        if let Some((at, value)) = byte {
            let at = at % line.len();
            line[at] = value;
        }
        if let Some(cut) = cut {
            line.truncate(cut);
        }
        agree(&plan, &program, &line)?;
    }
}

#[test]
fn every_odd_value_in_every_field_decodes_as_serde_json_does() {
    let program = program();
    let plan = IngestPlan::new(&program, Layout::new(&program));
    let mut tally = Tally::default();
    agree_counted(&plan, &program, &record(&[]), &mut tally).unwrap();
    assert_eq!(tally.fast, 1, "the fast path takes a good record");
    for field in 0..FIELDS.len() {
        for value in 0..VALUES.len() {
            for how in [0, 1, 2] {
                agree_counted(&plan, &program, &record(&[(field, value, how)]), &mut tally).unwrap();
            }
        }
    }
    // Both paths were compared on many lines each.
    let (took, lines) = (tally.fast, tally.lines);
    assert!(took * 10 > lines, "fast path took {took} of {lines} lines");
    assert!(took * 2 < lines, "fast path took {took} of {lines} lines");
    // Values nested in the records and lists of the schema.
    for value in VALUES {
        let author = format!("{{\"name\":{value},\"age\":{value}}}");
        let line = String::from_utf8(record(&[]))
            .unwrap()
            .replace("{\"name\":\"王\",\"age\":17}", &author);
        agree(&plan, &program, line.as_bytes()).unwrap();
        let line = String::from_utf8(record(&[]))
            .unwrap()
            .replace("[\"a\"]", &format!("[{value},{value}]"));
        agree(&plan, &program, line.as_bytes()).unwrap();
    }
}

#[test]
fn a_line_longer_than_the_kept_buffers_decodes_as_serde_json_does() {
    let program = program();
    let plan = IngestPlan::new(&program, Layout::new(&program));
    let long = "赌".repeat(600_000);
    let line = String::from_utf8(record(&[]))
        .unwrap()
        .replace("\"u\"", &format!("\"{long}\""))
        .replace("[\"a\"]", &format!("[\"{long}\"]"));
    assert!(line.len() > 2 << 20);
    let mut tally = Tally::default();
    agree_counted(&plan, &program, line.as_bytes(), &mut tally).unwrap();
    // And the next, short line, with fresh buffers.
    agree_counted(&plan, &program, &record(&[]), &mut tally).unwrap();
    assert_eq!(tally.fast, 2);
}

/// Lines read one after another, so that the fast path finds most keys
/// where the last record had them (see `RecordPlan::learned`): the same
/// keys in another order, a key more or less, an odd value where the order
/// holds, enough lines of a new order that it is learned instead, then the
/// old order again, and nested records (`author`, each of `others`) whose
/// keys change order from one to the next.
#[test]
fn lines_in_a_learned_key_order_decode_as_serde_json_does() {
    let program = program();
    let plan = IngestPlan::new(&program, Layout::new(&program));
    let good = String::from_utf8(record(&[])).unwrap();
    let swapped = good.replace("\"score\":0.75,\"zero\":0.25", "\"zero\":0.25,\"score\":0.75");
    let reordered = String::from_utf8(record(&[(FIELDS.len() - 1, 0, 3)]))
        .unwrap()
        .replace("\"since\":0,", "");
    assert_ne!(swapped, good);
    let mut lines = vec![good.clone(), good.clone(), swapped.clone(), good.clone()];
    lines.push(String::from_utf8(record(&[(2, 16, 0)])).unwrap()); // an odd score, the order kept
    lines.push(String::from_utf8(record(&[(12, 0, 2)])).unwrap()); // a key more
    lines.push(String::from_utf8(record(&[(9, 0, 1)])).unwrap()); // a key less (note)
    lines.push(String::from_utf8(record(&[(8, 3, 0)])).unwrap()); // a record where a string was
    lines.extend(std::iter::repeat_n(swapped.clone(), 40));
    lines.extend(std::iter::repeat_n(good.clone(), 40));
    lines.push(reordered);
    let authors = good.replace(
        "\"others\":[]",
        "\"others\":[{\"name\":\"a\",\"age\":1},{\"age\":2,\"name\":\"b\"},{\"name\":\"c\"},{\"name\":\"d\",\"age\":null}]",
    );
    lines.extend(std::iter::repeat_n(authors, 3));
    let mut tally = Tally::default();
    for line in &lines {
        agree_counted(&plan, &program, line.as_bytes(), &mut tally).unwrap();
    }
    let (took, lines) = (tally.fast, tally.lines);
    assert!(took * 10 > lines * 9, "fast path took {took} of {lines} lines");
}

/// A record type of more fields than fit one word of `Seen`: good records,
/// repeated fields past the 64th, missing ones, in both paths.
#[test]
fn wide_records_decode_as_serde_json_does() {
    let fields: String = (0..70).map(|i| format!("  f{i}: int\n")).collect();
    let policy =
        format!("record Wide {{\n{fields}}}\nrule r(w: Wide) {{\n  when: w.f0 + w.f69 > 0\n  then: review\n}}\n");
    let loader = MemoryLoader::new().with("p.qlp", policy.as_str());
    let program = qlp_compiler::check(&[PathBuf::from("p.qlp")], &loader).program.unwrap();
    let plan = IngestPlan::new(&program, Layout::new(&program));
    let record = program.record_by_name("Wide").unwrap();
    let body = |keys: &mut dyn Iterator<Item = usize>| {
        let pairs: Vec<String> = keys.map(|i| format!("\"f{i}\":{i}")).collect();
        format!("{{{}}}", pairs.join(","))
    };
    let lines = [
        body(&mut (0..70)),
        body(&mut (0..70).rev()),
        body(&mut (0..70).chain([66])),
        body(&mut (0..70).filter(|&i| i != 67)),
    ];
    for (n, line) in lines.iter().enumerate() {
        for strict in [false, true] {
            let (mut fast_warnings, mut slow_warnings) = (Vec::new(), Vec::new());
            let fast = plan.ingest_by(&program, record, line.as_bytes(), strict, &mut fast_warnings, true);
            let slow = plan.ingest_by(&program, record, line.as_bytes(), strict, &mut slow_warnings, false);
            assert_eq!(fast, slow, "line {n}");
            assert_eq!(fast_warnings, slow_warnings, "line {n}");
            assert_eq!(fast.is_ok(), n < 2, "line {n}: {fast:?}");
        }
    }
}

/// A record type that holds itself in a list: lines nested up to and past
/// the depth limit decode (or fail) as `serde_json` says, on both paths.
#[test]
fn deep_lines_decode_as_serde_json_does() {
    let policy = "record Node {\n  id: string\n  kids: [Node]\n}\nrule r(n: Node) {\n  when: len(n.kids) > 0\n  then: review\n}\n";
    let loader = MemoryLoader::new().with("p.qlp", policy);
    let program = qlp_compiler::check(&[PathBuf::from("p.qlp")], &loader).program.unwrap();
    let plan = IngestPlan::new(&program, Layout::new(&program));
    let record = program.record_by_name("Node").unwrap();
    let mut decoded = Vec::new();
    for depth in [2usize, 62, 64, 66, 100, 126, 128, 130, 200] {
        // `depth` records and lists in all, alternating.
        let nodes = depth / 2;
        let line = format!(
            "{}{}{}",
            r#"{"id":"x","kids":["#.repeat(nodes - 1),
            r#"{"id":"z","kids":[]}"#,
            "]}".repeat(nodes - 1)
        );
        let (mut fast_warnings, mut slow_warnings) = (Vec::new(), Vec::new());
        let fast = plan.ingest_by(&program, record, line.as_bytes(), false, &mut fast_warnings, true);
        let slow = plan.ingest_by(&program, record, line.as_bytes(), false, &mut slow_warnings, false);
        assert_eq!(fast, slow, "depth {depth}");
        decoded.push((depth, fast.is_ok()));
    }
    // Both sides of the limit were tried.
    assert!(
        decoded.iter().any(|&(_, ok)| ok) && decoded.iter().any(|&(_, ok)| !ok),
        "{decoded:?}"
    );
}

/// Once a type's template is learned (from the first good record), lines
/// that leave it anywhere decode as `serde_json` says: blanks around keys
/// and colons, a key of the template given again after all of them, one
/// missing from the middle or the end, nested records in another order.
#[test]
fn lines_that_leave_the_learned_template_decode_as_serde_json_does() {
    let program = program();
    let plan = IngestPlan::new(&program, Layout::new(&program));
    let good = String::from_utf8(record(&[])).unwrap();
    let mut tally = Tally::default();
    agree_counted(&plan, &program, good.as_bytes(), &mut tally).unwrap();
    let item = program.record_by_name("Item").unwrap();
    assert!(
        plan.record(item).unwrap().template.get().is_some(),
        "a good record teaches the template"
    );
    let lines = [
        good.replace("\"kind\":", "\"kind\" :"),
        good.replace(",\"score\":", ", \"score\":"),
        good.replace(",\"score\":", ",\n\t\"score\":"),
        good.replace("{\"id\":", "{ \"id\":"),
        good.replace("\"others\":[]}", "\"others\":[],\"id\":\"again\"}"),
        good.replace("\"others\":[]}", "\"others\":[] ,\"kind\":\"post\"}"),
        good.replace(",\"count\":3", ""),
        good.replace(",\"others\":[]", ""),
        good.replace("\"others\":[]}", "\"others\":[]}  "),
        good.replace("{\"name\":\"王\",\"age\":17}", "{\"age\":17,\"name\":\"王\"}"),
        good.replace("{\"name\":\"王\",\"age\":17}", "{\"name\":\"王\"}"),
        good.replace(
            "{\"name\":\"王\",\"age\":17}",
            "{\"name\":\"王\",\"age\":17,\"name\":\"x\"}",
        ),
        good.replace("\"id\":\"i1\",", ""),
        good.replace("\"id\":", "\"Id\":"),
        good.clone(),
    ];
    for line in &lines {
        agree_counted(&plan, &program, line.as_bytes(), &mut tally).unwrap();
    }
    // The first line and the eight good ones (blanks, a nested record in
    // another order or without its optional field) were the fast path's;
    // the seven with something to report, the reference path's.
    assert_eq!((tally.fast, tally.lines), (9, 16));
}
