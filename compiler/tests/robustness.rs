//! No input panics the parser or the checker, and their stack use stays
//! bounded: hostile sources get diagnostics. Every check runs on a thread
//! with a small, fixed stack, so unbounded recursion would crash the test.

// Test helpers may fail loudly: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::PathBuf;

use proptest::prelude::*;
use qlp_compiler::MemoryLoader;

const STACK: usize = 1 << 20;

/// Checks `bytes` as a policy file on a 1 MiB stack; returns whether it had errors.
fn check_bytes(bytes: Vec<u8>) -> bool {
    std::thread::Builder::new()
        .stack_size(STACK)
        .spawn(move || {
            let loader = MemoryLoader::new().with("p.qlp", bytes);
            let checked = qlp_compiler::check(&[PathBuf::from("p.qlp")], &loader);
            checked.has_errors()
        })
        .unwrap()
        .join()
        .expect("the checker panicked")
}

/// The codes of the diagnostics of `source`, checked on a 1 MiB stack.
fn check_diagnostics(source: String) -> String {
    std::thread::Builder::new()
        .stack_size(STACK)
        .spawn(move || {
            let loader = MemoryLoader::new().with("p.qlp", source);
            let checked = qlp_compiler::check(&[PathBuf::from("p.qlp")], &loader);
            let codes: std::collections::BTreeSet<_> = checked.diagnostics.iter().map(|d| d.code.to_string()).collect();
            codes.into_iter().collect::<Vec<_>>().join(" ")
        })
        .unwrap()
        .join()
        .expect("the checker panicked")
}

fn assert_rejected(source: String) {
    assert!(check_bytes(source.into_bytes()), "expected an error");
}

/// Record types that each hold two of the next double a row at every step:
/// 60 of them would lay out 2^60-byte rows (and as many row checks) if the
/// checker let them through.
#[test]
fn doubling_record_chains() {
    let doubling: String = (0..60)
        .map(|i| format!("record R{i} {{\n  a: R{next}\n  b: R{next}?\n}}\n", next = i + 1))
        .chain(std::iter::once(String::from("record R60 {\n  x: int\n}\n")))
        .collect();
    assert_rejected(doubling);
}

/// Record types each holding the next: a chain of 20,000 is too deep and a
/// cycle of as many holds itself, both said at once (a walk per type made a
/// chain of 8,000 take 48 s to check in release).
#[test]
fn long_record_chains() {
    let chain: String = (0..20_000)
        .map(|i| format!("record R{i} {{\n  next: R{}\n}}\n", i + 1))
        .collect();
    let deep = check_diagnostics(format!("{chain}record R20000 {{\n  x: int\n}}\n"));
    assert!(deep.contains("qlp::record_too_deep"), "{deep}");
    let cycle = check_diagnostics(format!("{chain}record R20000 {{\n  first: R0\n}}\n"));
    assert!(cycle.contains("qlp::recursive_record"), "{cycle}");
}

/// Declarations with 100,000 fields, variants, defaults or parameters check
/// in linear time (duplicates were looked for by a scan per name: 23 s for
/// the fields in release), and a diagnostic spanning such a record shows
/// its first line, not 100,000.
#[test]
fn wide_declarations() {
    const N: usize = 100_000;
    let list = |item: &dyn Fn(usize) -> String, separator: &str| (0..N).map(item).collect::<Vec<_>>().join(separator);
    let fields = format!("record B {{\n{}\n}}\n", list(&|i| format!("  f{i}: int"), "\n"));
    let defaults = format!("record B {{\n{}\n}}\n", list(&|i| format!("  f{i}: int = 1"), "\n"));
    let variants = format!("enum E {{ {} }}\n", list(&|i| format!("v{i}"), ", "));
    let params = format!("fn f({}) -> int = 1\n", list(&|i| format!("p{i}: int"), ", "));
    assert_eq!(check_diagnostics(variants), "");
    assert_eq!(check_diagnostics(params), "");
    assert_eq!(check_diagnostics(defaults), "qlp::record_too_large");
    let source = fields;
    let rendered = std::thread::Builder::new()
        .stack_size(STACK)
        .spawn(move || {
            let loader = MemoryLoader::new().with("p.qlp", source);
            let checked = qlp_compiler::check(&[PathBuf::from("p.qlp")], &loader);
            let handler = miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor());
            let mut out = String::new();
            for diagnostic in &checked.diagnostics {
                handler
                    .render_report(&mut out, &diagnostic.with_source(&checked.sources))
                    .unwrap();
            }
            out
        })
        .unwrap()
        .join()
        .expect("the checker panicked");
    assert!(rendered.contains("record_too_large"), "{rendered}");
    assert!(rendered.lines().count() < 30, "{rendered}");
}

#[test]
fn deep_parentheses() {
    assert_rejected(format!("const X = {}1{}", "(".repeat(10_000), ")".repeat(10_000)));
    assert_rejected(format!("const X = {}", "(".repeat(10_000)));
    assert_rejected(format!("const X = {}1{}", "[".repeat(10_000), "]".repeat(10_000)));
}

#[test]
fn long_operator_chains() {
    assert_rejected(format!("const X = {}1", "not ".repeat(10_000)));
    assert_rejected(format!("const X = {}1", "-".repeat(10_000)));
    assert_rejected(format!("const X = 1{}", " + 1".repeat(100_000)));
    assert_rejected(format!("const X = 1{}", " ?? 1".repeat(10_000)));
    assert_rejected(format!("const X = {}1", "let a = 1; ".repeat(10_000)));
    assert_rejected(format!(
        "const X = {}1{}",
        "if true then ".repeat(5_000),
        " else 2".repeat(5_000)
    ));
    assert_rejected(format!("const X = 1{}", ".a".repeat(10_000)));
}

#[test]
fn long_definition_chains() {
    // Each constant uses the next one, so checking the first needs all the others first.
    let mut consts = String::new();
    for i in 0..2_000 {
        consts.push_str(&format!("const C{i} = C{} + 1\n", i + 1));
    }
    let cycle = format!("{consts}const C2000 = C0\n");
    consts.push_str("const C2000 = 1\n");
    // A long chain is fine (constants are checked in dependency order) ...
    assert!(!check_bytes(consts.into_bytes()));
    // ... and a long cycle is an error.
    assert_rejected(cycle);
    let mut fns = String::from("fn f0(x: int) -> int = x\n");
    for i in 1..2_000 {
        fns.push_str(&format!("fn f{i}(x: int) -> int = f{}(x)\n", i - 1));
    }
    assert_rejected(fns);
}

#[test]
fn huge_numbers_and_bad_literals() {
    assert_rejected(format!("const X = {}", "9".repeat(10_000)));
    assert_rejected(String::from("const X = 1e999999"));
    assert_rejected(String::from("const X = 99999999999999999999999d"));
    assert_rejected(String::from("const X = 9999-99-99"));
    assert_rejected(String::from("const X = \"unterminated"));
    assert_rejected(String::from("const X = \"bad \\u{110000}\""));
    assert_rejected(String::from("const X = \"bad \\u{zz}\""));
}

#[test]
fn invalid_utf8() {
    assert!(check_bytes(vec![b'c', b'o', 0xff, 0xfe, b'\n']));
    assert!(check_bytes(b"const X = \"\xc3\x28\"".to_vec()));
}

#[test]
fn pathological_regex_is_rejected_not_hung() {
    assert_rejected(String::from(
        "record R { s: string }\nrule r(x: R) {\n when: x.s matches \"(a{1000}){1000}\"\n then: review\n}",
    ));
}

const SAMPLE: &str = r#"import "schema.qlp"
enum Kind { post, live }
record Content { kind: Kind  text: string  age: int?  tags: [string] }
keywords bad = ["赌博", "博彩"]
const LIMIT: int = 18
fn is_live(c: Content) -> bool = c.kind in [live]
campaign camp { title: "清朗" active: 2022-01-01 .. 2022-12-31 }
rule r(c: Content) {
  campaign: camp
  when: is_live(c) and (c.age ?? 99) < LIMIT and c.text has_any bad and any(t in c.tags: len(t) > 3)
  then: block, label("x")
  reason: "理由"
}
test "t" { now: 2022-05-01 given Content { kind: live, age: 3 } expect r }
"#;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        check_bytes(bytes);
    }

    #[test]
    fn random_text_never_panics(text in "[a-z(){}\\[\\]:,.?\" 0-9+*/%<>=!-]{0,300}") {
        check_bytes(text.into_bytes());
    }

    #[test]
    fn mutated_policies_never_panic(
        edits in prop::collection::vec((0usize..SAMPLE.len(), prop::sample::select(vec!["", "(", ")", "\"", "{", "}", "?", "??", "not ", "-", "9999999999999999999999", ".", ",", "\n", "赌", "\u{200B}", "//"])), 1..6)
    ) {
        let mut text = SAMPLE.to_string();
        for (at, insert) in edits {
            let mut at = at.min(text.len());
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            let end = (at + 1..=text.len()).find(|i| text.is_char_boundary(*i)).unwrap_or(text.len());
            text.replace_range(at..end, insert);
        }
        check_bytes(text.into_bytes());
    }
}

/// Counts the values the interpreter computes: its steps.
#[derive(Default)]
struct Steps(std::cell::Cell<u64>);

impl qlp_compiler::interp::Observer for Steps {
    fn value(&self, _expr: &qlp_compiler::program::TExpr, _result: &qlp_compiler::interp::Eval) {
        self.0.set(self.0.get() + 1);
    }
}

/// The steps of rule `r` on a record whose list `xs` has `n` elements, and
/// the rule's expanded size.
fn steps(source: &str, n: usize) -> (u64, u64) {
    use qlp_compiler::interp::Interpreter;
    use qlp_compiler::Value;
    let loader = MemoryLoader::new().with("p.qlp", source);
    let program = qlp_compiler::check(&[PathBuf::from("p.qlp")], &loader).program.unwrap();
    let rule = program.rules.first().unwrap();
    let size = qlp_compiler::typeck::expanded_size(&rule.when, &qlp_compiler::typeck::expanded_fn_sizes(&program));
    let items: Vec<Value> = (0..n as i64).map(Value::Int).collect();
    let record = Value::Record(vec![Value::Int(1), Value::List(items.into())].into());
    let interpreter = Interpreter::with_observer(&program, Steps::default());
    interpreter.eval_rule(rule, &record, 0).unwrap();
    (interpreter.observer().0.get(), size)
}

#[test]
fn evaluation_is_linear_in_the_expanded_rule_and_the_record() {
    // Functions that double their callee: steps stay within the expanded
    // size, which the checker bounds.
    let mut doubling = String::from("record M { n: int  xs: [int] }\nfn f0(x: int) -> int = x + 1\n");
    for level in 1..=10 {
        doubling.push_str(&format!(
            "fn f{level}(x: int) -> int = f{}(x) + f{}(x)\n",
            level - 1,
            level - 1
        ));
    }
    doubling.push_str("rule r(m: M) { when: f10(m.n) > 3 then: review }\n");
    let (taken, size) = steps(&doubling, 0);
    assert!(taken <= size, "{taken} steps for a rule of {size} nodes");
    // A quantifier walks the record's list once: steps grow linearly with it.
    let quantified = "record M { n: int  xs: [int] }\n\
                      fn big(x: int) -> bool = x * 2 + 1 > 7 and x % 3 != 5\n\
                      rule r(m: M) { when: count(x in m.xs: big(x) or x == m.n) > 1000000 then: review }\n";
    let (small, size) = steps(quantified, 1_000);
    let (large, _) = steps(quantified, 2_000);
    assert!(small <= size * 1_001, "{small} steps, {size} nodes, 1000 elements");
    assert!(large <= size * 2_001, "{large} steps, {size} nodes, 2000 elements");
    assert!(
        large < 2 * small + size,
        "{small} steps for 1000 elements, {large} for 2000"
    );
}

/// Distinct pseudo-random Chinese words, `bytes` of them, one a line.
fn random_word_lines(bytes: usize, seed: u64) -> String {
    let mut state = seed;
    let mut next = move |n: u64| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) % n
    };
    let mut words = std::collections::BTreeSet::new();
    let mut total = 0;
    while total <= bytes {
        let word: String = (0..3 + next(4))
            .map(|_| char::from_u32(0x4E00 + next(0x51A5) as u32).unwrap())
            .collect();
        total += word.len();
        words.insert(word);
    }
    words.into_iter().collect::<Vec<_>>().join("\n")
}

/// A policy of `files.len()` keyword sets, one a file, and a rule each.
fn keyword_tree(files: &[String]) -> MemoryLoader {
    let mut source = String::from("record R { text: string }\n");
    let mut loader = MemoryLoader::new();
    for (i, words) in files.iter().enumerate() {
        source.push_str(&format!(
            "keywords k{i} = file(\"k{i}.txt\")\nrule r{i}(x: R) {{\n  when: x.text has_any k{i}\n  then: remove\n  reason: \"k\"\n}}\n"
        ));
        loader = loader.with(format!("k{i}.txt"), words.clone());
    }
    loader.with("p.qlp", source)
}

#[test]
fn keyword_sets_share_one_budget_of_dfas() {
    use qlp_compiler::text::{dfa_cost, MatchMode, MAX_DFA_MEMORY};
    // Each set's DFAs alone fit the budget (~40% of it), all three do not:
    // without a budget for the whole program, a tree of many such files
    // took ~800 bytes of DFA a keyword byte (3.6 MB of keywords: 3 GB).
    let files: Vec<String> = (0..3).map(|i| random_word_lines(230_000, 11 + i)).collect();
    let checked = qlp_compiler::check(&[PathBuf::from("p.qlp")], &keyword_tree(&files));
    let program = checked.program.expect("the tree checks");
    let sets = &program.keyword_sets;
    let costs: Vec<usize> = sets
        .iter()
        .map(|s| dfa_cost(s.matcher.keywords(), MatchMode::Normalized))
        .collect();
    assert!(
        costs.iter().all(|&c| c <= MAX_DFA_MEMORY && c > MAX_DFA_MEMORY / 3),
        "{costs:?}"
    );
    let dfas: Vec<bool> = sets.iter().map(|s| s.matcher.is_dfa()).collect();
    assert_eq!(dfas, [true, true, false]);
    let memory: usize = sets.iter().map(|s| s.matcher.memory_usage()).sum();
    assert!(memory <= MAX_DFA_MEMORY + (64 << 20), "{memory} bytes");
    // The set without a DFA matches all the same.
    let word = files[2].lines().nth(100).unwrap();
    assert!(sets[2].matcher.is_match(&format!("前文{word}后文")));
}

#[test]
fn keyword_sets_past_the_memory_limit_are_an_error() {
    let files: Vec<String> = (0..4).map(|i| random_word_lines(20_000, 31 + i)).collect();
    let check = |limit: usize| {
        let loader = keyword_tree(&files).with_keyword_memory(limit);
        let checked = qlp_compiler::check(&[PathBuf::from("p.qlp")], &loader);
        let errors: Vec<String> = checked
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| format!("{} {}", d.code, d.message))
            .collect();
        errors
    };
    assert!(check(qlp_compiler::MAX_KEYWORD_MEMORY).is_empty());
    // Each set takes ~20 MB as DFAs: the third passes 50 MB, reported once.
    let errors = check(50 << 20);
    assert_eq!(
        errors,
        ["qlp::keywords_too_large keyword sets take more than 50 MiB together (`[limits] keyword_memory_bytes`), past the limit with `k2`"]
    );
}

/// `n` rules, each matching the text against `pattern(i)`.
fn pattern_rules(n: usize, pattern: impl Fn(usize) -> String) -> String {
    let mut source = String::from("record R { text: string }\n");
    for i in 0..n {
        source.push_str(&format!(
            "rule r{i}(x: R) {{\n  when: x.text matches \"{}\"\n  then: remove\n  reason: \"p\"\n}}\n",
            pattern(i)
        ));
    }
    source
}

#[test]
fn patterns_are_compiled_once_and_share_one_budget() {
    use qlp_compiler::pattern::MAX_PATTERNS_BYTES;
    // One pattern written 500 times is compiled once.
    let loader = MemoryLoader::new().with("p.qlp", pattern_rules(500, |_| String::from("^[0-9]{11}$")));
    let program = qlp_compiler::check(&[PathBuf::from("p.qlp")], &loader).program.unwrap();
    assert_eq!(program.regexes.len(), 1);
    // Distinct patterns of ~0.8 MB each (a Unicode class repeated): 300 took
    // 431 MB and 2.6 s to check. They stop at the budget, each past it an
    // error that says so.
    let loader = MemoryLoader::new().with("p.qlp", pattern_rules(120, |i| format!("\\\\w{{15}}z{i}")));
    let checked = qlp_compiler::check(&[PathBuf::from("p.qlp")], &loader);
    let refused: Vec<&str> = checked
        .diagnostics
        .iter()
        .filter(|d| d.code == "qlp::invalid_regex")
        .map(|d| d.label.as_str())
        .collect();
    assert!(refused.len() > 20 && refused.len() < 100, "{} refused", refused.len());
    assert!(
        refused
            .iter()
            .all(|l| l.contains("the patterns together are too large")),
        "{refused:?}"
    );
    // What was compiled fits the budget: the rules that compiled, alone.
    let fitting = 120 - refused.len();
    let loader = MemoryLoader::new().with("p.qlp", pattern_rules(fitting, |i| format!("\\\\w{{15}}z{i}")));
    let program = qlp_compiler::check(&[PathBuf::from("p.qlp")], &loader).program.unwrap();
    let bytes: usize = program.regexes.iter().map(|p| p.memory_usage()).sum();
    assert!(bytes <= MAX_PATTERNS_BYTES, "{bytes} bytes");
}

#[test]
fn the_patterns_caches_share_one_budget() {
    use qlp_compiler::pattern::{cache_share, MAX_PATTERN_CACHES_BYTES};
    // Few patterns keep whole caches; many share the budget evenly, and
    // still match as they did.
    let loader = MemoryLoader::new().with("p.qlp", pattern_rules(3, |i| format!("^a{i}[0-9]+$")));
    let program = qlp_compiler::check(&[PathBuf::from("p.qlp")], &loader).program.unwrap();
    assert!(program.regexes.iter().all(|p| p.cache() == cache_share(1)));
    let loader = MemoryLoader::new().with("p.qlp", pattern_rules(600, |i| format!("(a|b)*a(a|b){{12}}c{i}")));
    let program = qlp_compiler::check(&[PathBuf::from("p.qlp")], &loader).program.unwrap();
    assert_eq!(program.regexes.len(), 600);
    let total: usize = program.regexes.iter().map(|p| p.cache()).sum();
    assert!(total <= MAX_PATTERN_CACHES_BYTES, "{total} bytes");
    assert!(program
        .regexes
        .iter()
        .all(|p| p.cache() == MAX_PATTERN_CACHES_BYTES / 600));
    let text = format!("{}a{}c7", "ab".repeat(500), "ab".repeat(6));
    let found: Vec<usize> = (0..600).filter(|&i| program.regexes[i].is_match(&text)).collect();
    assert_eq!(found, vec![7]);
    assert!(!program.regexes[8].is_match(&text));
}

/// What a record costs, as a test-work message gives it.
fn record_cost(message: &str) -> u64 {
    message
        .split("records cost ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap()
}

#[test]
fn the_text_a_test_gives_counts_in_its_work() {
    use qlp_compiler::typeck::{MAX_TEST_WORK, TEST_TEXT_BYTES};
    // 100 patterns over a 100 KB text: each given record reads the text
    // once per pattern, so 30 of them pass the limit though their nodes
    // are few.
    let tests = |text_bytes: usize, repeat: u32| {
        let mut source = pattern_rules(100, |i| format!("(a|b)*a(a|b){{12}}c{i}"));
        source.push_str(&format!(
            "test \"long\" {{\n  given {repeat} R {{ text: \"{}\" }}\n  expect nothing\n}}\n",
            "ab".repeat(text_bytes / 2)
        ));
        source
    };
    assert_eq!(check_diagnostics(tests(100, 30)), "");
    assert_eq!(check_diagnostics(tests(100_000, 1)), "");
    let loader = MemoryLoader::new().with("p.qlp", tests(100_000, 30));
    let checked = qlp_compiler::check(&[PathBuf::from("p.qlp")], &loader);
    let message = checked
        .diagnostics
        .first()
        .map(|d| d.message.as_str())
        .unwrap_or_default();
    assert_eq!(checked.diagnostics.first().map(|d| d.code), Some("qlp::too_complex"));
    // A unit per byte for each pattern (and one per 16 bytes for the rest).
    let cost = record_cost(message);
    // 100 patterns, each a unit per byte (`TEST_TEXT_BYTES` sixteenths), and
    // the rules' few hundred nodes.
    let reading = 100 * TEST_TEXT_BYTES * 100_000 / TEST_TEXT_BYTES;
    assert!((reading..reading + 1_000).contains(&cost), "{message}");
    assert!(30 * cost > MAX_TEST_WORK, "{message}");
}

/// `count` files, each importing the next (and, when `fan` > 1, the
/// `fan` - 1 after it too).
fn import_chain(count: usize, fan: usize) -> MemoryLoader {
    let mut loader = MemoryLoader::new();
    for i in 0..count {
        let mut text = String::new();
        for j in i + 1..(i + 1 + fan).min(count) {
            text.push_str(&format!("import \"c{j}.qlp\"\n"));
        }
        text.push_str(&format!("enum E{i} {{ a{i} }}\nfn f{i}() -> int = {i}\n"));
        loader = loader.with(format!("c{i}.qlp"), text);
    }
    loader
}

#[test]
fn import_graphs_are_resolved_in_linear_time_up_to_the_file_limit() {
    use qlp_compiler::load::MAX_POLICY_FILES;
    // The top file sees the last of the chain's functions, through every
    // import between (a walk per file, with a list of files seen, made a
    // chain of 5,000 take minutes).
    let tree = |count: usize| {
        import_chain(count, 1).with(
            "top.qlp",
            format!("import \"c0.qlp\"\nfn top() -> int = f{}()\n", count - 1),
        )
    };
    let checked = qlp_compiler::check(&[PathBuf::from("top.qlp")], &tree(MAX_POLICY_FILES - 1));
    let codes: Vec<&str> = checked.diagnostics.iter().map(|d| d.code).collect();
    assert!(codes.is_empty(), "{codes:?}");
    // One more is refused, once (and the function in the file not read is
    // unknown).
    let checked = qlp_compiler::check(&[PathBuf::from("top.qlp")], &tree(MAX_POLICY_FILES));
    let codes: Vec<&str> = checked.diagnostics.iter().map(|d| d.code).collect();
    assert_eq!(
        codes.iter().filter(|c| **c == "qlp::too_many_files").count(),
        1,
        "{codes:?}"
    );
    // Dense: each file imports the next 20; the last is still seen.
    let checked = qlp_compiler::check(
        &[PathBuf::from("c0.qlp")],
        &import_chain(2_000, 20).with("c0.qlp", "import \"c1.qlp\"\nfn top() -> int = f1999()\n"),
    );
    assert!(!checked.has_errors());
}

#[test]
fn state_declarations_per_record_type_are_bounded() {
    use qlp_compiler::typeck::MAX_STATES_PER_RECORD;
    // Every record touches each declaration of its type: 20,000 counters
    // made `qlp test` of 2,000 given records take 43 s.
    let counters = |count: usize| {
        let mut source = String::from("record R { id: string  at: time }\n");
        for i in 0..count {
            source.push_str(&format!(
                "counter c{i}(x: R) {{\n  key: x.id\n  time: x.at\n  window: 1h\n  bucket: 5m\n}}\n"
            ));
        }
        source
    };
    assert_eq!(check_diagnostics(counters(MAX_STATES_PER_RECORD)), "");
    let loader = MemoryLoader::new().with("p.qlp", counters(20_000));
    let checked = qlp_compiler::check(&[PathBuf::from("p.qlp")], &loader);
    let messages: Vec<String> = checked
        .diagnostics
        .iter()
        .map(|d| format!("{} {}", d.code, d.message))
        .collect();
    assert_eq!(messages, ["qlp::too_complex `R` has more than 256 state declarations"]);
}

#[test]
fn the_work_of_a_test_run_is_bounded() {
    use qlp_compiler::typeck::{MAX_TEST_WORK, TEST_RECORD_WORK};
    let tests = |count: usize, repeat: u32| {
        let mut source = String::from("record R { id: string  n: int }\nrule r(c: R) { when: c.n > 3 then: review }\n");
        for t in 0..count {
            source.push_str(&format!(
                "test \"t{t}\" {{\n  given {repeat} R {{ id: \"a\", n: 5 }}\n  expect r\n}}\n"
            ));
        }
        source
    };
    assert_eq!(check_diagnostics(tests(100, 10_000)), "");
    let loader = MemoryLoader::new().with("p.qlp", tests(5_000, 10_000));
    let checked = qlp_compiler::check(&[PathBuf::from("p.qlp")], &loader);
    let messages: Vec<&str> = checked.diagnostics.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(checked.diagnostics.first().map(|d| d.code), Some("qlp::too_complex"));
    // Reported at the first test past the limit, with what a record costs.
    let message = messages.first().copied().unwrap_or_default();
    let cost = record_cost(message);
    assert!(cost > TEST_RECORD_WORK, "{message}");
    let first_past = MAX_TEST_WORK / (10_000 * cost);
    assert!(message.contains(&format!("up to test `t{first_past}`")), "{message}");
}
