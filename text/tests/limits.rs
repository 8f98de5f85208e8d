//! A keyword list's automata stay within tens of bytes a keyword byte
//! however long the list (the file limit allows 16 MiB): past
//! `MAX_DFA_MEMORY` no DFA is built, and matching still finds what the
//! keywords say; and what a DFA would take is known before it is built.

// Test helpers may fail loudly: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use qlp_text::{dfa_cost, dfa_memory, normalize, KeywordMatcher, MatchMode, MAX_DFA_MEMORY};

/// Distinct pseudo-random Chinese words of three to six characters,
/// normalized, `bytes` of them in all.
fn random_words(bytes: usize, seed: u64) -> Vec<String> {
    let mut state: u64 = seed;
    let mut next = move |n: u64| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) % n
    };
    let mut keywords: Vec<String> = Vec::new();
    let mut total = 0;
    while total <= bytes {
        let length = 3 + next(4);
        let word: String = (0..length)
            .map(|_| char::from_u32(0x4E00 + next(0x51A5) as u32).unwrap())
            .collect();
        let word = normalize(&word);
        total += word.len();
        keywords.push(word);
    }
    keywords.sort();
    keywords.dedup();
    keywords
}

#[test]
fn a_list_past_the_dfa_budget_is_matched_with_bounded_memory() {
    let keywords = random_words(1_300_000, 0x9e37_79b9_7f4a_7c15);
    let bytes: usize = keywords.iter().map(String::len).sum();
    assert!(dfa_cost(&keywords, MatchMode::Normalized) > MAX_DFA_MEMORY);
    let probe = keywords[keywords.len() / 2].clone();
    let matcher = KeywordMatcher::new(keywords, MatchMode::Normalized).unwrap();
    assert!(!matcher.is_dfa());
    // DFAs of these would take ~1,000 bytes a keyword byte (1.3 GB).
    assert!(
        matcher.memory_usage() < 64 * bytes,
        "{} bytes for {bytes}",
        matcher.memory_usage()
    );
    assert!(matcher.is_match(&format!("前文{probe}后文")));
    assert!(!matcher.is_match("abc def"));
}

/// The transitions of a DFA of `keywords`, built as the matcher builds it.
fn dfa_bytes(keywords: &[String], insensitive: bool) -> usize {
    let dfa = AhoCorasick::builder()
        .kind(Some(AhoCorasickKind::DFA))
        .match_kind(MatchKind::Standard)
        .ascii_case_insensitive(insensitive)
        .build(keywords)
        .unwrap();
    dfa.memory_usage()
}

#[test]
fn what_a_dfa_takes_is_known_before_it_is_built() {
    let latin: Vec<String> = ["bet", "casino", "betting", "poker", "vip", "Bet365", "赌博", "网络赌博"]
        .iter()
        .map(|k| k.to_string())
        .collect();
    let digits: Vec<String> = (0..2_000).map(|i| format!("{}", i * 7919)).collect();
    for (keywords, insensitive) in [
        (random_words(20_000, 7), false),
        (random_words(5_000, 8), true),
        (latin.clone(), false),
        (latin, true),
        (digits, false),
    ] {
        let predicted = dfa_memory(&keywords, insensitive);
        let built = dfa_bytes(&keywords, insensitive);
        // The transition table is all but the matches and the prefilter:
        // never under, and over by no more than those.
        let matches = keywords.len() * 64 + (64 << 10);
        assert!(
            predicted <= built && built <= predicted + matches,
            "{predicted} predicted, {built} built, {} keywords",
            keywords.len()
        );
    }
}
