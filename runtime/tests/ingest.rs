//! Ingestion: JSON records into rows, and every way a record can be wrong.

// Test helpers may fail loudly: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::PathBuf;

use qlp_compiler::{MemoryLoader, Value};
use qlp_runtime::{EngineKind, PolicySet};

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
}
rule r(i: Item) {
  when: i.kind == live and i.score > 0.5 and i.count >= 0 and i.at > 2020-01-01 and i.window > 0s and i.ok
    and len(i.tags) >= 0 and (i.author.age ?? 0) >= 0 and (i.note ?? "") != "x" and len(i.others) >= 0
    and all(o in i.others: len(o.name) >= 0)
  then: review
}
"#;

fn set() -> PolicySet {
    let loader = MemoryLoader::new().with("p.qlp", POLICY);
    let checked = qlp_compiler::check(&[PathBuf::from("p.qlp")], &loader);
    PolicySet::new(checked.program.unwrap()).unwrap()
}

const GOOD: &str = r#"{"id":"i1","kind":"live","score":0.9,"count":3,"at":"2022-05-01T08:00:00+08:00","window":"1h30m","ok":true,
  "tags":["a","赌博"],"author":{"name":"王","age":20},"note":null,"unused":"skipped","others":[{"name":"x"},{"name":"y","age":null}],
  "extra":{"deep":[1,2,{"x":null}]}}"#;

fn ingest_error(json: &str) -> String {
    let set = set();
    let record = set.record_type("Item").unwrap();
    set.ingest(record, json.as_bytes()).unwrap_err().to_string()
}

#[test]
fn a_good_record_decodes_to_its_values() {
    let set = set();
    let record = set.record_type("Item").unwrap();
    let row = set.ingest(record, GOOD.as_bytes()).unwrap();
    let value = row.decode(set.program(), set.layout(), record).unwrap();
    let Value::Record(fields) = value else { panic!() };
    assert_eq!(fields[0], Value::str("i1"));
    assert_eq!(fields[1], Value::Enum(1));
    assert_eq!(fields[2], Value::Float(0.9));
    assert_eq!(fields[3], Value::Int(3));
    assert_eq!(
        fields[4],
        Value::Time(qlp_grammar::time::parse_time("2022-05-01T00:00:00Z").unwrap())
    );
    assert_eq!(fields[5], Value::Duration(90 * 60 * 1_000_000));
    assert_eq!(fields[6], Value::Bool(true));
    assert_eq!(fields[7], Value::List(vec![Value::str("a"), Value::str("赌博")].into()));
    assert_eq!(fields[8], Value::Record(vec![Value::str("王"), Value::Int(20)].into()));
    assert_eq!(fields[9], Value::Absent);
    // No rule reads `unused`: it is checked against its type but not stored.
    assert_eq!(fields[10], Value::str(""));
    let mut context = set.context();
    let jit = set.evaluate(EngineKind::Jit, record, &row, 0, &mut context);
    let interp = set.evaluate(EngineKind::Interp, record, &row, 0, &mut context);
    assert_eq!(jit, interp);
    assert_eq!(jit.fired.len(), 1);
}

#[test]
fn errors_name_the_field_path() {
    let cases = [
        (
            GOOD.replace(r#""count":3,"#, ""),
            "`count`: is missing (a required `int`)",
        ),
        (
            GOOD.replace(r#""count":3"#, r#""count":"3""#),
            "`count`: expected `int`, found a string",
        ),
        (
            GOOD.replace(r#""count":3"#, r#""count":3.5"#),
            "`count`: expected an integer, found 3.5",
        ),
        (
            GOOD.replace(r#""count":3"#, r#""count":18446744073709551615"#),
            "`count`: 18446744073709551615 does not fit a 64-bit `int`",
        ),
        (
            GOOD.replace(r#""kind":"live""#, r#""kind":"stream""#),
            "`kind`: `stream` is not a `Kind` (one of: post, live)",
        ),
        (
            GOOD.replace(r#""age":20"#, r#""age":"twenty""#),
            "`author.age`: expected `int`, found a string",
        ),
        (
            GOOD.replace(r#"{"name":"x"}"#, r#"{"nom":"x"}"#),
            "`others[0].name`: is missing (a required `string`)",
        ),
        (
            GOOD.replace(r#""ok":true"#, r#""ok":null"#),
            "`ok`: is null, but `bool` is not optional",
        ),
        (
            GOOD.replace(r#""unused":"skipped""#, r#""unused":null"#),
            "`unused`: is null, but `string` is not optional",
        ),
        (
            GOOD.replace(r#""at":"2022-05-01T08:00:00+08:00""#, r#""at":"yesterday""#),
            "`at`: `yesterday` is not a date or an RFC 3339 time",
        ),
        (
            GOOD.replace(
                r#""at":"2022-05-01T08:00:00+08:00""#,
                r#""at":"2022-05-01T08:00:00+25:00""#,
            ),
            "`at`: `2022-05-01T08:00:00+25:00` has the offset +25:00: offsets run from -23:59 to +23:59",
        ),
        (
            GOOD.replace(r#""window":"1h30m""#, r#""window":"soon""#),
            "`window`: `soon` is not a duration like `30m`",
        ),
        (
            GOOD.replace(r#""tags":["a","赌博"]"#, r#""tags":"a""#),
            "`tags`: expected `[string]`",
        ),
        (
            GOOD.replace(r#""id":"i1","#, r#""id":"i1","id":"i2","#),
            "`id`: appears twice",
        ),
        (
            GOOD.replace(r#""unused":"skipped""#, r#""unused":5"#),
            "`unused`: expected `string`, found a number",
        ),
        (
            GOOD.replace(r#""unused":"skipped""#, r#""unused":["a"]"#),
            "`unused`: expected `string`, found a list",
        ),
        (String::from("not json"), "invalid JSON at column 2: expected ident"),
        (
            String::from(r#"{"id": "x""#),
            "invalid JSON: the record ends early, at column 11",
        ),
        (
            String::from(r#"{"id": "赌博", x}"#),
            "invalid JSON at column 14: key must be a string",
        ),
        (String::from("[1, 2]"), "expected `Item`"),
        (
            GOOD.replace(
                r#""tags":["a","赌博"]"#,
                &format!(r#""tags":{}1{}"#, "[".repeat(100_000), "]".repeat(100_000)),
            ),
            "`tags[0]`: expected `string`, found a list",
        ),
    ];
    for (json, expected) in cases {
        let error = ingest_error(&json);
        assert!(
            error.contains(expected),
            "{json}\n  gave: {error}\n  expected: {expected}"
        );
    }
}

#[test]
fn absurd_nesting_in_an_ignored_field_is_skipped_safely() {
    let deep = format!("{}1{}", "[".repeat(100_000), "]".repeat(100_000));
    let json = GOOD.replace(r#"{"deep":[1,2,{"x":null}]}"#, &deep);
    let set = set();
    let record = set.record_type("Item").unwrap();
    // Either accepted or rejected, never a crash.
    let _ = set.ingest(record, json.as_bytes());
}

#[test]
fn invalid_utf8_is_an_error() {
    let set = set();
    let record = set.record_type("Item").unwrap();
    let mut bytes = GOOD.as_bytes().to_vec();
    let at = GOOD.find("王").unwrap();
    bytes[at] = 0xff;
    let error = set.ingest(record, &bytes).unwrap_err().to_string();
    assert!(error.contains("invalid"), "{error}");
}

#[test]
fn shipped_sample_records_agree_on_both_engines() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let set = PolicySet::load(&root.join("policies")).unwrap();
    let record = set.record_type("Content").unwrap();
    let data = std::fs::read_to_string(root.join("policies/examples/records.jsonl")).unwrap();
    let mut context = set.context();
    let mut fired = 0;
    for line in data.lines() {
        let row = set.ingest(record, line.as_bytes()).unwrap();
        let Some(Value::Time(now)) = set.field(record, &row, "created_at") else {
            panic!()
        };
        let jit = set.evaluate(EngineKind::Jit, record, &row, now, &mut context);
        let interp = set.evaluate(EngineKind::Interp, record, &row, now, &mut context);
        assert_eq!(jit, interp, "{line}");
        fired += jit.fired.len();
    }
    assert!(fired > 50, "the planted violations fire ({fired})");
}

/// A record with several problems reports them all, in record order.
#[test]
fn every_problem_of_a_record_is_reported_at_once() {
    let json = GOOD
        .replace(r#""count":3,"#, "")
        .replace(r#""score":0.9"#, r#""score":"high""#)
        .replace(r#""kind":"live""#, r#""kind":"stream""#)
        .replace(r#"{"name":"x"}"#, r#"{"nom":"x"}"#)
        .replace(r#""at":"2022-05-01T08:00:00+08:00","#, "");
    let set = set();
    let record = set.record_type("Item").unwrap();
    let error = set.ingest(record, json.as_bytes()).unwrap_err();
    let problems: Vec<String> = error.problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        problems,
        [
            "`kind`: `stream` is not a `Kind` (one of: post, live)",
            "`score`: expected `float`, found a string",
            "`others[0].name`: is missing (a required `string`)",
            "`count`: is missing (a required `int`)",
            "`at`: is missing (a required `time`)",
        ]
    );
    // One problem displays as it always did; several are joined.
    assert!(error
        .to_string()
        .starts_with("`kind`: `stream` is not a `Kind` (one of: post, live); `score`"));

    // A record wrong everywhere reports a bounded number of problems.
    let fields: Vec<String> = (0..100).map(|i| format!(r#""tags":{i}"#)).collect();
    let error = set
        .ingest(record, format!("{{{}}}", fields.join(",")).as_bytes())
        .unwrap_err();
    assert_eq!(error.problems.len(), qlp_runtime::ingest::MAX_PROBLEMS);
    assert!(error.more > 0 && error.to_string().ends_with(&format!("(and {} more)", error.more)));
}

const DEFAULTS: &str = r#"
enum Tier { free, paid }
record Meta { source: string = "app"  score: float? }
record Post {
  id: string
  text: string = ""
  likes: int = 0
  tier: Tier = paid
  tags: [string] = ["new"]
  meta: Meta = { score: 0.5 }
  since: time = 2022-01-01T00:00:00Z
  window: duration = 1h30m
  note: string?
}
rule r(p: Post) {
  when: p.likes > 10 and p.tier == paid and len(p.tags) > 0 and p.meta.source == "app"
    and (p.meta.score ?? 0.0) > 0.1 and p.since < 2023-01-01 and p.window > 1h and p.text == "" and p.note is none
  then: review
}
test "a post with only its id and likes takes every default" {
  given Post { id: "t", likes: 11 }
  expect r
}
"#;

fn defaults_set() -> PolicySet {
    let loader = MemoryLoader::new().with("p.qlp", DEFAULTS);
    let checked = qlp_compiler::check(&[PathBuf::from("p.qlp")], &loader);
    assert!(
        checked.diagnostics.iter().all(|d| !d.is_error()),
        "{:?}",
        checked.diagnostics
    );
    PolicySet::new(checked.program.unwrap()).unwrap()
}

#[test]
fn a_record_may_leave_out_fields_with_defaults() {
    let set = defaults_set();
    let record = set.record_type("Post").unwrap();
    let row = set.ingest(record, br#"{"id": "p1", "likes": 11}"#).unwrap();
    let Value::Record(fields) = row.decode(set.program(), set.layout(), record).unwrap() else {
        panic!()
    };
    assert_eq!(fields[1], Value::str(""));
    assert_eq!(fields[2], Value::Int(11), "a given value wins");
    assert_eq!(fields[3], Value::Enum(1));
    assert_eq!(fields[4], Value::List(vec![Value::str("new")].into()));
    assert_eq!(
        fields[5],
        Value::Record(vec![Value::str("app"), Value::Float(0.5)].into())
    );
    assert_eq!(fields[7], Value::Duration(90 * 60 * 1_000_000));
    assert_eq!(fields[8], Value::Absent);
    let mut context = set.context();
    let now = qlp_grammar::time::parse_time("2022-06-01").unwrap();
    for kind in [EngineKind::Jit, EngineKind::Interp] {
        assert_eq!(set.evaluate(kind, record, &row, now, &mut context).fired.len(), 1);
    }
    // Inside a nested record too; `id` has no default.
    let row = set.ingest(record, br#"{"id": "p2", "meta": {"score": null}}"#).unwrap();
    let Value::Record(fields) = row.decode(set.program(), set.layout(), record).unwrap() else {
        panic!()
    };
    assert_eq!(fields[5], Value::Record(vec![Value::str("app"), Value::Absent].into()));
    let error = set.ingest(record, br#"{"likes": 1}"#).unwrap_err().to_string();
    assert_eq!(error, "`id`: is missing (a required `string`)");
    // The language's tests take the defaults too.
    let loader = MemoryLoader::new().with("p.qlp", DEFAULTS);
    let checked = qlp_compiler::check(&[PathBuf::from("p.qlp")], &loader);
    let program = checked.program.unwrap();
    let results = qlp_compiler::policy_test::run_tests(&program);
    assert_eq!(results.len(), 1);
    assert!(results.iter().all(|r| r.passed()), "{results:?}");
}

#[test]
fn a_default_of_the_wrong_type_is_a_policy_error() {
    for (field, expected) in [
        ("likes: int = \"none\"", "expected `int`"),
        ("tier: Tier = gold", "gold"),
        ("since: time = 5", "expected `time`"),
        ("tags: [string] = [1]", "expected `string`"),
    ] {
        let source = format!("enum Tier {{ free, paid }}\nrecord Post {{\n  id: string\n  {field}\n}}\n");
        let loader = MemoryLoader::new().with("p.qlp", source.as_str());
        let checked = qlp_compiler::check(&[PathBuf::from("p.qlp")], &loader);
        let messages: Vec<String> = checked
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.message.clone())
            .collect();
        assert!(messages.iter().any(|m| m.contains(expected)), "{field}: {messages:?}");
    }
}

#[test]
fn times_are_read_in_every_documented_form() {
    let set = defaults_set();
    let record = set.record_type("Post").unwrap();
    let expected = qlp_grammar::time::parse_time("2022-05-01T02:00:00Z").unwrap();
    for since in [
        r#""2022-05-01T02:00:00Z""#,
        r#""2022-05-01T10:00:00+08:00""#,
        r#""2022-05-01T10:00:00+0800""#,
        r#""2022-05-01 10:00:00+08:00""#,
        "1651370400",
        "1651370400000",
        "1651370400.0",
    ] {
        let json = format!(r#"{{"id": "p", "since": {since}}}"#);
        let row = set
            .ingest(record, json.as_bytes())
            .unwrap_or_else(|e| panic!("{since}: {e}"));
        assert_eq!(set.field(record, &row, "since"), Some(Value::Time(expected)), "{since}");
    }
    let midnight = qlp_grammar::time::parse_time("2022-05-01T00:00:00Z").unwrap();
    let row = set.ingest(record, br#"{"id": "p", "since": "2022-05-01"}"#).unwrap();
    assert_eq!(set.field(record, &row, "since"), Some(Value::Time(midnight)));
    let error = set
        .ingest(record, br#"{"id": "p", "since": 1e20}"#)
        .unwrap_err()
        .to_string();
    assert!(error.contains("too large for epoch seconds or milliseconds"), "{error}");
}

#[test]
fn unknown_fields_are_warnings_with_a_suggestion_or_errors_when_strict() {
    let set = set();
    let record = set.record_type("Item").unwrap();
    let json = GOOD.replace(r#""note":null"#, r#""nota":"x","note":null"#);
    let mut warnings = Vec::new();
    set.ingest_checked(record, json.as_bytes(), false, &mut warnings)
        .unwrap();
    let warnings: Vec<String> = warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        warnings,
        [
            "`nota`: is not a field of `Item` (did you mean `note`?)",
            "`extra`: is not a field of `Item`",
        ]
    );
    let nested = GOOD.replace(r#""age":20"#, r#""age":20,"agee":1"#);
    let mut warnings = Vec::new();
    set.ingest_checked(record, nested.as_bytes(), false, &mut warnings)
        .unwrap();
    assert_eq!(
        warnings[0].to_string(),
        "`author.agee`: is not a field of `Author` (did you mean `age`?)"
    );
    let error = set
        .ingest_checked(record, json.as_bytes(), true, &mut Vec::new())
        .unwrap_err()
        .to_string();
    assert_eq!(
        error,
        "`nota`: is not a field of `Item` (did you mean `note`?); `extra`: is not a field of `Item`"
    );
    // A hostile key is shown shortened.
    let long = GOOD.replace(r#""note":null"#, &format!(r#""{}":1,"note":null"#, "k".repeat(10_000)));
    let mut warnings = Vec::new();
    set.ingest_checked(record, long.as_bytes(), false, &mut warnings)
        .unwrap();
    assert!(warnings[0].path.chars().count() < 100);
}

/// A record type that holds itself in lists lets a line nest as deep as it
/// likes in fields the schema declares: loading such a policy takes time
/// linear in its fields (two such lists once made the row checks of the
/// layout exponential), and a line nested absurdly deep is an error, not a
/// recursion until the stack runs out.
#[test]
fn absurd_nesting_in_a_self_holding_record_is_an_error() {
    let policy = "record Node {\n  id: string\n  kids: [Node]\n  more: [Node?]\n}\n\
                  rule r(n: Node) {\n  when: len(n.kids) > 0 or len(n.more) > 0\n  then: review\n}\n";
    let loader = MemoryLoader::new().with("p.qlp", policy);
    let checked = qlp_compiler::check(&[PathBuf::from("p.qlp")], &loader);
    let set = PolicySet::new(checked.program.expect("policy")).unwrap();
    let record = set.record_type("Node").unwrap();
    let shallow = r#"{"id":"a","kids":[{"id":"b","kids":[],"more":[null]}],"more":[{"id":"c","kids":[],"more":[]}]}"#;
    let row = set.ingest(record, shallow.as_bytes()).unwrap();
    let now = 0;
    let outcome = set.evaluate(EngineKind::Jit, record, &row, now, &mut set.context());
    assert_eq!((outcome.fired.len(), outcome.errors.len()), (1, 0));
    let depth = 100_000;
    let leaf = r#"{"id":"y","kids":[],"more":[]}"#;
    for key in ["kids", "more"] {
        let open = format!(
            r#"{{"id":"x","{}":[],"{key}":["#,
            if key == "kids" { "more" } else { "kids" }
        );
        let line = format!("{}{leaf}{}", open.repeat(depth), "]}".repeat(depth));
        let error = set.ingest(record, line.as_bytes()).unwrap_err().to_string();
        assert!(error.contains("recursion limit"), "{error}");
    }
}
