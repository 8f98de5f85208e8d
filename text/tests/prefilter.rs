//! The raw-text test never rules out a text that holds a keyword once
//! normalized, and a keyword found in the raw text is always there once
//! normalized, on random texts that mix every evasion the normalization
//! folds: traditional characters, full-width, circled and mathematical
//! letters, capitals, compatibility ideographs, invisible characters,
//! punctuation and spaces between characters.

// Test helpers may fail loudly: a failure is the test failing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use proptest::prelude::*;
use qlp_text::{normalize, prepare_bytes_by_character, prepare_bytes_into, KeywordMatcher, MatchMode};

/// Characters texts and keywords are drawn from.
const ALPHABET: &[&str] = &[
    "赌", "賭", "博", "下", "注", "註", "网", "網", "彩", "票", "刷", "单", "單", "水", "军", "軍", "b", "B", "ｂ",
    "Ｂ", "ⓑ", "Ⓑ", "𝐛", "e", "E", "ｅ", "ⓔ", "t", "T", "ｔ", "Ⓣ", "𝐭", "1", "①", "１", "k", "㎏", "g", "\u{200B}",
    "\u{FEFF}", " ", "，", "。", "!", "-", "·", "的", "是", "天", "好", "ｇ", "ﬁ", "f", "i", "兀", "⼤", "大", "е",
];

fn piece() -> impl Strategy<Value = String> {
    prop::sample::select(ALPHABET).prop_map(str::to_string)
}

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(piece(), 0..40).prop_map(|p| p.concat())
}

fn keywords() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(prop::collection::vec(piece(), 1..4).prop_map(|p| p.concat()), 1..6)
}

/// A `normalized` matcher of the keywords, or `None` when none is left
/// once normalized.
fn matcher(keywords: &[String]) -> Option<KeywordMatcher> {
    let mut normalized: Vec<String> = keywords
        .iter()
        .map(|k| normalize(k))
        .filter(|k| !k.is_empty())
        .collect();
    normalized.sort();
    normalized.dedup();
    (!normalized.is_empty()).then(|| KeywordMatcher::new(normalized, MatchMode::Normalized).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 5000, ..ProptestConfig::default() })]

    #[test]
    fn a_text_that_matches_is_never_ruled_out(
        keywords in keywords(),
        text in text(),
    ) {
        let matcher = matcher(&keywords);
        prop_assume!(matcher.is_some());
        let matcher = matcher.unwrap();
        if matcher.is_match(&text) {
            prop_assert!(matcher.may_match_raw(text.as_bytes()), "{:?} matches {:?}", text, matcher.keywords());
        }
        // The engine's path (raw test, raw hit, then normalize) answers as
        // the specification does.
        prop_assert_eq!(matcher.matches(&text, &mut String::new()), matcher.is_match(&text));
        // "Is there any" (which searches only the keywords no other keyword
        // occurs in) answers as a search for every keyword does, on keyword
        // sets that nest ("赌", "赌博", "网赌博").
        let prepared = normalize(&text);
        let expected = matcher.keywords().iter().any(|k| prepared.contains(k.as_str()));
        prop_assert_eq!(matcher.is_match_prepared(&prepared), expected, "{:?} in {:?}", matcher.keywords(), prepared);
    }
}

/// Malformed UTF-8 fragments: truncated sequences, stray continuation
/// bytes, overlong forms, surrogates, bytes that never start a character.
const MALFORMED: &[&[u8]] = &[
    b"\xE8",
    b"\xE8\xB5",
    b"\x80",
    b"\xBF\xBF",
    b"\xC0\x80",
    b"\xED\xA0\x80",
    b"\xF4\x90\x80\x80",
    b"\xFF",
    b"\xF0\x9F",
    b"\xC3",
];

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        3 => piece().prop_map(String::into_bytes),
        1 => prop::sample::select(MALFORMED).prop_map(<[u8]>::to_vec),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|p| p.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    /// The raw test decodes without validating: malformed bytes next to a
    /// keyword must not hide it.
    #[test]
    fn malformed_bytes_never_hide_a_keyword(
        keywords in keywords(),
        raw in bytes(),
    ) {
        let matcher = matcher(&keywords);
        prop_assume!(matcher.is_some());
        let matcher = matcher.unwrap();
        let mut prepared = String::new();
        prepare_bytes_into(&raw, MatchMode::Normalized, &mut prepared, None);
        if matcher.is_match_prepared(&prepared) {
            prop_assert!(matcher.may_match_raw(&raw), "{:?} matches {:?}", raw, matcher.keywords());
        }
        if matcher.certain_in_raw(&raw) {
            prop_assert!(matcher.is_match_prepared(&prepared), "{:?} has no {:?}", raw, matcher.keywords());
        }
    }
}

#[test]
fn ordinary_text_is_ruled_out_without_normalizing() {
    let words = ["赌博", "博彩", "网赌", "下注", "刷单", "水军"];
    let matcher = KeywordMatcher::new(words.iter().map(|w| normalize(w)).collect(), MatchMode::Normalized).unwrap();
    assert!(!matcher.may_match_raw("今天和朋友去西湖玩了，风景很美，推荐大家周末去走走".as_bytes()));
    assert!(matcher.may_match_raw("来賭.博吧".as_bytes()));
}

/// More characters at the edges of the `normalized` mode's byte loop: the
/// ends of the ideograph blocks, the symbols between them, CJK letters
/// among punctuation, emoji, title case.
const EDGES: &[&str] = &[
    "A", "z", "9", "0", "〇", "々", "〡", "㐀", "䶵", "\u{4DC0}", "一", "鿿", "\u{3000}", "ア", "😀", "ǅ", "ß", "İ",
    "Σ",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    /// The byte loop of the `normalized` mode (runs of characters that are
    /// their own form copied as they are) gives what the general path,
    /// character by character, gives: the same text, and with offsets kept,
    /// the same offsets.
    #[test]
    fn copying_runs_normalizes_as_character_by_character(
        pieces in prop::collection::vec(
            prop_oneof![
                3 => bytes(),
                1 => prop::sample::select(EDGES).prop_map(|s| s.as_bytes().to_vec()),
            ],
            0..12,
        ),
    ) {
        let raw = pieces.concat();
        let (mut general, mut general_origin) = (String::from("kept"), vec![7]);
        prepare_bytes_by_character(&raw, MatchMode::Normalized, &mut general, Some(&mut general_origin));
        let mut fast = String::from("kept");
        prepare_bytes_into(&raw, MatchMode::Normalized, &mut fast, None);
        prop_assert_eq!(&fast, &general, "{:?}", raw);
        let (mut mapped, mut origin) = (String::from("kept"), vec![7]);
        prepare_bytes_into(&raw, MatchMode::Normalized, &mut mapped, Some(&mut origin));
        prop_assert_eq!(&mapped, &general, "{:?}", raw);
        prop_assert_eq!(&origin, &general_origin, "{:?}", raw);
    }
}
