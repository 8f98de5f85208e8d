//! A keyword list's automata stay within tens of bytes a keyword byte
//! however long the list (the file limit allows 16 MiB): past
//! `MAX_DFA_KEYWORD_BYTES` no DFA is built, and matching still finds what
//! the keywords say.

// Test helpers may fail loudly: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use qlp_text::{normalize, KeywordMatcher, MatchMode, MAX_DFA_KEYWORD_BYTES};

#[test]
fn a_list_past_the_dfa_budget_is_matched_with_bounded_memory() {
    // Distinct pseudo-random three- to six-character Chinese words.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move |n: u64| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) % n
    };
    let mut keywords: Vec<String> = Vec::new();
    let mut bytes = 0;
    while bytes <= MAX_DFA_KEYWORD_BYTES + (MAX_DFA_KEYWORD_BYTES / 4) {
        let length = 3 + next(4);
        let word: String = (0..length)
            .map(|_| char::from_u32(0x4E00 + next(0x51A5) as u32).unwrap())
            .collect();
        let word = normalize(&word);
        bytes += word.len();
        keywords.push(word);
    }
    keywords.sort();
    keywords.dedup();
    let bytes: usize = keywords.iter().map(String::len).sum();
    assert!(bytes > MAX_DFA_KEYWORD_BYTES);
    let probe = keywords[keywords.len() / 2].clone();
    let matcher = KeywordMatcher::new(keywords, MatchMode::Normalized).unwrap();
    // A DFA of these would take ~270 bytes a keyword byte.
    assert!(
        matcher.memory_usage() < 64 * bytes,
        "{} bytes for {bytes}",
        matcher.memory_usage()
    );
    assert!(matcher.is_match(&format!("前文{probe}后文")));
    assert!(!matcher.is_match("abc def"));
}
