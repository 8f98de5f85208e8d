//! Keyword matching that survives evasion, on a table of techniques and
//! near-misses, on real OpenCC conversion cases, and at the scale of a
//! 53k-entry list. Tests that need `../shared/data` skip with a message when
//! it is absent, unless `QLP_REQUIRE_DATA=1`.

// Test helpers may fail loudly: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};

use qlp_compiler::text::{normalize, prepare, to_simplified, KeywordMatcher, MatchMode};
use qlp_compiler::MemoryLoader;

fn matcher(keywords: &[&str], mode: MatchMode) -> KeywordMatcher {
    let mut prepared: Vec<String> = keywords.iter().map(|k| prepare(k, mode)).collect();
    prepared.dedup();
    KeywordMatcher::new(prepared, mode).unwrap()
}

/// (text, keyword, should match, technique)
const EVASIONS: &[(&str, &str, bool, &str)] = &[
    ("一起赌博吧", "赌博", true, "plain"),
    ("η οδος", "ΟΔΟΣ", true, "final sigma against a capital keyword"),
    ("İSTANBUL casino", "istanbul", true, "dotted capital I lowercases to i"),
    ("一起赌.博吧", "赌博", true, "dot between Han characters"),
    ("一起赌 博吧", "赌博", true, "space"),
    ("一起赌\u{3000}博吧", "赌博", true, "ideographic space"),
    ("一起赌*博吧", "赌博", true, "asterisk"),
    ("一起赌-博吧", "赌博", true, "hyphen"),
    ("一起赌/博吧", "赌博", true, "slash"),
    ("一起赌|博吧", "赌博", true, "pipe"),
    ("一起赌，博吧", "赌博", true, "full-width comma"),
    ("一起赌😀博吧", "赌博", true, "emoji between"),
    (
        "一起赌\n博吧",
        "赌博",
        true,
        "line break (separators vanish everywhere, by design)",
    ),
    ("一起赌\u{200B}博吧", "赌博", true, "zero-width space"),
    ("一起赌\u{200C}博吧", "赌博", true, "zero-width non-joiner"),
    ("一起赌\u{200D}博吧", "赌博", true, "zero-width joiner"),
    ("一起赌\u{2060}博吧", "赌博", true, "word joiner"),
    ("一起赌\u{FEFF}博吧", "赌博", true, "byte order mark"),
    ("一起赌\u{00AD}博吧", "赌博", true, "soft hyphen"),
    ("一起賭博吧", "赌博", true, "traditional characters"),
    ("網賭平台", "网赌", true, "traditional, both characters"),
    ("ＢＥＴ３６５", "bet365", true, "full-width letters and digits"),
    ("BeT365", "bet365", true, "mixed case"),
    ("Ⓑⓔⓣ365", "bet365", true, "circled letters"),
    ("⒝⒠⒯365", "bet365", true, "parenthesized letters"),
    ("𝐛𝐞𝐭365", "bet365", true, "mathematical bold letters"),
    ("𝕓𝕖𝕥365", "bet365", true, "double-struck letters"),
    ("b e t 3 6 5", "bet365", true, "spaced letters"),
    ("bet³⁶⁵", "bet365", true, "superscript digits"),
    (
        "加微①③⑨①②③④⑤⑥⑦⑧",
        "13912345678",
        true,
        "circled digits in a phone number",
    ),
    ("加微⑴⑶⑼12345678", "13912345678", true, "parenthesized digits"),
    ("加微１３９１２３４５６７８", "13912345678", true, "full-width digits"),
    ("约.炮", "约炮", true, "dot in a two-character keyword"),
    ("博彩＿网站", "博彩网站", true, "full-width underscore"),
    (
        "一起赌了个博",
        "赌博",
        false,
        "other characters between (different words)",
    ),
    ("赌", "赌博", false, "half a keyword"),
    ("博赌", "赌博", false, "reversed order"),
    ("堵博", "赌博", false, "homophone with another character"),
    ("博物馆", "赌博", false, "unrelated word sharing a character"),
    ("beta testing", "bet365", false, "prefix of a Latin keyword"),
    ("13912345", "13912345678", false, "truncated number"),
    ("赌_博", "赌注", false, "different keyword"),
];

#[test]
fn evasion_table() {
    assert!(EVASIONS.len() >= 40);
    let mut failures = Vec::new();
    for (text, keyword, expected, technique) in EVASIONS {
        let m = matcher(&[keyword], MatchMode::Normalized);
        if m.is_match(text) != *expected {
            failures.push(format!("{technique}: {text:?} vs {keyword:?} should be {expected}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// The `sound` and `lookalike` modes catch every evasion the default mode
/// does (they normalize first), and the ones they add.
#[test]
fn evasion_modes_catch_what_normalized_does_and_more() {
    for (text, keyword, expected, technique) in EVASIONS {
        if *expected {
            for mode in [MatchMode::Sound, MatchMode::Lookalike] {
                assert!(
                    matcher(&[keyword], mode).is_match(text),
                    "{mode:?}, {technique}: {text:?} vs {keyword:?}"
                );
            }
        }
    }
    let shape = matcher(&["bet", "马上"], MatchMode::Lookalike);
    for (text, expected) in [
        ("ВЕТ", true),
        ("ΒΕΤ", true),
        ("Ᏼet", true),
        ("⻢上", true),
        ("b3t", false),
        ("вет", false),
    ] {
        assert_eq!(shape.is_match(text), expected, "{text}");
    }
    let sound = matcher(&["赌博", "博彩"], MatchMode::Sound);
    for (text, expected) in [
        ("菠菜平台", true),
        ("来睹愽", true),
        ("DuBo", true),
        ("ｂｏｃａｉ", true),
        ("賭博", true),
        ("ㄉㄨˇㄅㄛˊ", true),
        ("ㄉㄨˇㄆㄛˊ", false),
        ("菠萝", false),
        ("博物馆", false),
    ] {
        assert_eq!(sound.is_match(text), expected, "{text}");
    }
}

#[test]
fn word_mode_and_exact_mode() {
    let word = matcher(&["bet", "casino"], MatchMode::Word);
    assert!(word.is_match("place a bet now"));
    assert!(word.is_match("CASINO!"));
    assert!(!word.is_match("alphabet soup"));
    assert!(!word.is_match("casinos"));
    let exact = matcher(&["VIP群"], MatchMode::Exact);
    assert!(exact.is_match("加入VIP群"));
    assert!(!exact.is_match("加入vip群"));
    assert!(!exact.is_match("加入V.I.P群"));
}

#[test]
fn keyword_set_options_in_policies() {
    let source = r#"
record R { text: string }
keywords latin(word) = ["bet"]
keywords verbatim(exact) = ["VIP"]
rule latin_rule(r: R) { when: r.text has_any latin then: review }
rule exact_rule(r: R) { when: r.text has_any verbatim then: review }
test "whole word" { given R { text: "place a bet" } expect latin_rule }
test "inside a word" { given R { text: "alphabet" } expect not latin_rule }
test "verbatim" { given R { text: "VIP" } expect exact_rule }
test "case matters" { given R { text: "vip" } expect not exact_rule }
"#;
    let loader = MemoryLoader::new().with("p.qlp", source);
    let checked = qlp_compiler::check(&[PathBuf::from("p.qlp")], &loader);
    let program = std::sync::Arc::new(checked.program.unwrap());
    let compiled = qlp_compiler::jit::CompiledPolicySet::compile(program).unwrap();
    for result in qlp_compiler::policy_test::run_tests_both(&compiled, qlp_compiler::policy_test::Engine::Jit) {
        assert!(result.passed(), "{}: {:?}", result.name, result.failures);
    }
}

/// `../shared/data`, or `None` (with a message) when it is absent and not required.
fn data_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("QLP_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"));
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("QLP_REQUIRE_DATA").is_none(),
        "QLP_REQUIRE_DATA is set but {} is missing",
        dir.display()
    );
    eprintln!("skipped: {} is absent", dir.display());
    None
}

#[test]
fn opencc_cases_are_mostly_converted() {
    let Some(dir) = data_dir() else { return };
    let text = std::fs::read_to_string(dir.join("opencc/to_simplified.jsonl")).unwrap();
    let (mut cases, mut whole) = (0usize, 0usize);
    let (mut chars, mut right) = (0usize, 0usize);
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let case: serde_json::Value = serde_json::from_str(line).unwrap();
        let input = case["input"].as_str().unwrap();
        let expected = case["expected"].as_str().unwrap();
        let got = to_simplified(input);
        cases += 1;
        whole += usize::from(got == expected);
        for (a, b) in got.chars().zip(expected.chars()) {
            chars += 1;
            right += usize::from(a == b);
        }
    }
    let char_rate = right as f64 / chars as f64;
    eprintln!(
        "OpenCC to-simplified: {right}/{chars} characters ({:.1}%), {whole}/{cases} whole phrases ({:.1}%)",
        char_rate * 100.0,
        whole as f64 / cases as f64 * 100.0
    );
    assert!(cases >= 100);
    // The cases are OpenCC's phrase-level edge cases; a character-level
    // converter gets the large majority of characters right.
    assert!(char_rate >= 0.9, "character agreement {char_rate:.3}");
}

#[test]
fn a_53k_entry_list_loads_compiles_and_scans() {
    let Some(dir) = data_dir() else { return };
    let list = dir.join("lexicon/large_mixed.txt");
    let source = "record R { text: string }\nkeywords big = file(\"large_mixed.txt\")\nrule hit(r: R) { when: r.text has_any big then: review }\n";
    let bytes = std::fs::read(&list).unwrap();
    let loader = MemoryLoader::new()
        .with("p.qlp", source)
        .with("large_mixed.txt", bytes.clone());
    let started = std::time::Instant::now();
    let checked = qlp_compiler::check(&[PathBuf::from("p.qlp")], &loader);
    eprintln!(
        "checked a {}-line list in {:?}",
        bytes.split(|b| *b == b'\n').count(),
        started.elapsed()
    );
    let program = checked.program.expect("the large list compiles");
    let set = &program.keyword_sets[0];
    assert!(set.entries.len() > 35_000, "{} distinct entries", set.entries.len());
    // Within the DFA budget: matched at DFA speed.
    assert!(set.matcher.is_dfa());
    // Duplicates after normalization are reported once, as a warning.
    assert!(checked.diagnostics.iter().all(|d| !d.is_error()));
    // Every entry matches a text that contains it.
    let text = std::str::from_utf8(&bytes).unwrap();
    let mut checked_entries = 0;
    for entry in text
        .lines()
        .map(str::trim)
        .filter(|e| !e.is_empty() && !e.starts_with('#'))
        .step_by(97)
    {
        if normalize(entry).is_empty() {
            continue;
        }
        let haystack = format!("前缀{entry}后缀");
        assert!(set.matcher.is_match(&haystack), "{entry:?}");
        checked_entries += 1;
    }
    assert!(checked_entries > 400);
}

/// Two rules that search keywords, one directly and one through a function.
const TWO_KEYWORD_RULES: &str = r#"
keywords gambling = ["赌博", "下注", "bet"]
keywords fraud = ["刷单", "返利"]
record R { title: string  text: string }
fn all_text(r: R) -> string = r.title + " " + r.text
rule gambling_talk(r: R) { when: all_text(r) has_any gambling then: review }
rule fraud_talk(r: R) { when: r.text has_any fraud or count_matches(r.title, gambling) > 1 then: remove }
"#;

#[test]
fn evidence_functions_can_be_compiled_ahead_once() {
    use qlp_compiler::explain::keyword_evidence;
    use qlp_compiler::jit::CompiledPolicySet;
    use qlp_compiler::layout::Row;
    use qlp_compiler::Value;
    // A rule that searches no keywords has no evidence function.
    let source = format!("{TWO_KEYWORD_RULES}rule long_text(r: R) {{ when: len(r.text) > 1000 then: review }}\n");
    let loader = MemoryLoader::new().with("p.qlp", source);
    let program = std::sync::Arc::new(qlp_compiler::check(&[PathBuf::from("p.qlp")], &loader).program.unwrap());
    let compiled = CompiledPolicySet::compile(program.clone()).unwrap();
    // None until asked for; then one per rule that searches keywords.
    assert_eq!(compiled.evidence_functions_compiled(), 0);
    assert_eq!(compiled.compile_evidence_functions(), 2);
    assert_eq!(compiled.evidence_functions_compiled(), 2);
    assert_eq!(compiled.compile_evidence_functions(), 2);
    let record = program.record_by_name("R").unwrap();
    let value = Value::Record(vec![Value::Str("赌博".into()), Value::Str("返利".into())].into());
    let row = Row::encode(&program, compiled.layout(), record, &value);
    let (id, rule) = program.rule_ids().next().unwrap();
    let expected = keyword_evidence(&program, rule.location.file, &rule.when, rule.n_locals, &value, 0, &[]);
    let found = compiled.evidence(id, &row, 0, &[], &mut compiled.context());
    assert_eq!(found, Some(expected));
}

/// Evidence functions are compiled the first time a rule's evidence is
/// asked for, under a lock: threads asking at once for the same and for
/// different rules all get the interpreter's evidence.
#[test]
fn evidence_functions_compile_once_on_first_use_from_many_threads() {
    use qlp_compiler::explain::keyword_evidence;
    use qlp_compiler::jit::CompiledPolicySet;
    use qlp_compiler::layout::Row;
    use qlp_compiler::Value;
    let loader = MemoryLoader::new().with("p.qlp", TWO_KEYWORD_RULES);
    let program = std::sync::Arc::new(qlp_compiler::check(&[PathBuf::from("p.qlp")], &loader).program.unwrap());
    let compiled = CompiledPolicySet::compile(program.clone()).unwrap();
    let record = program.record_by_name("R").unwrap();
    let value = Value::Record(
        vec![
            Value::Str("下注 BET 赌博".into()),
            Value::Str("刷单返利, 一起下.注".into()),
        ]
        .into(),
    );
    let row = Row::encode(&program, compiled.layout(), record, &value);
    let expected: Vec<_> = program
        .rule_ids()
        .map(|(_, rule)| keyword_evidence(&program, rule.location.file, &rule.when, rule.n_locals, &value, 0, &[]))
        .collect();
    assert!(expected.iter().all(|e| !e.hits.is_empty()), "{expected:?}");
    let ids: Vec<_> = program.rule_ids().map(|(id, _)| id).collect();
    std::thread::scope(|scope| {
        for thread in 0..8 {
            let (compiled, ids, row, expected) = (&compiled, &ids, &row, &expected);
            scope.spawn(move || {
                let mut context = compiled.context();
                for round in 0..20 {
                    // Threads start on different rules.
                    for id in ids.iter().cycle().skip(thread + round).take(2) {
                        let found = compiled.evidence(*id, row, 0, &[], &mut context);
                        assert_eq!(found.as_ref(), expected.get(id.index()));
                    }
                }
            });
        }
    });
}
