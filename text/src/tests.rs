//! Normalization and matching against their references: the fast paths
//! against the general path, every character, and the matchers against
//! their keywords.

use super::*;

#[test]
fn fast_paths_agree() {
    let blocks = [
        0x2000..=0x206F,
        0x3000..=0x303F,
        0xFF00..=0xFFEF,
        0xAC00..=0xD7A3,
        0xA000..=0xA48C,
        0xE000..=0xF8FF,
    ];
    for code in blocks.into_iter().flatten() {
        let Some(c) = char::from_u32(code) else { continue };
        let (mut fast, mut full) = (String::new(), String::new());
        let kept = push_normalized(c, &mut fast);
        assert_eq!(
            (kept, &fast),
            (push_normalized_in_full(c, &mut full), &full),
            "U+{code:04X}"
        );
    }
}

#[test]
fn normalization_folds_width_case_and_separators() {
    assert_eq!(normalize("赌.博"), "赌博");
    assert_eq!(normalize("赌 博"), "赌博");
    assert_eq!(normalize("ＢＥＴ Now!"), "betnow");
    assert_eq!(normalize("赌\u{200B}博"), "赌博");
    assert_eq!(normalize("①②"), "12");
    assert_eq!(normalize("賭博"), "赌博");
}

#[test]
fn the_change_bitmap_gives_fast2s_conversion_for_every_ideograph() {
    // The bitmap says "unchanged" without reading the table: check it
    // against `fast2s` itself, character by character.
    for code in (TABLE_START..=TABLE_END).chain(COMPAT_START..=COMPAT_END) {
        let Some(c) = char::from_u32(code) else { continue };
        let mut buffer = [0u8; 4];
        let expected = fast2s::convert(c.encode_utf8(&mut buffer)).chars().next().unwrap_or(c);
        assert_eq!(simplify(c), expected, "U+{code:04X}");
    }
    assert!(
        CHANGED.iter().map(|w| w.count_ones()).sum::<u32>() > 2000,
        "the traditional characters are marked"
    );
}

#[test]
fn fast_paths_agree_with_the_general_path() {
    // The mapped form takes the general path for every character.
    let ranges = [
        0x0..0x3000u32,
        0x3000..0x3100,
        0x3400..0xA000,
        0xF900..0xFB00,
        0xFF00..0xFFF0,
        0x1F000..0x1FB00,
    ];
    for code in ranges.into_iter().flatten() {
        let Some(c) = char::from_u32(code) else { continue };
        let text = c.to_string();
        assert_eq!(normalize(&text), normalize_mapped(&text).text, "U+{code:04X}");
        // Between other characters (so that runs end and start at it),
        // against the reference that normalizes one character at a
        // time, with and without the map back to the original.
        let text = format!("赌{c}a{c}{c}博博");
        let mut reference = String::new();
        prepare_bytes_by_character(text.as_bytes(), MatchMode::Normalized, &mut reference, None);
        assert_eq!(normalize(&text), reference, "U+{code:04X}");
        let mapped = normalize_mapped(&text);
        let mut origin = Vec::new();
        reference.clear();
        prepare_bytes_by_character(
            text.as_bytes(),
            MatchMode::Normalized,
            &mut reference,
            Some(&mut origin),
        );
        assert_eq!((&mapped.text, &mapped.origin), (&reference, &origin), "U+{code:04X}");
    }
}

#[test]
fn punctuation_blocks_hold_the_letters_the_fast_path_assumes() {
    for code in 0x3000..=0x303F {
        let c = char::from_u32(code).unwrap();
        assert_eq!(is_cjk_symbol_letter(code), c.is_alphanumeric(), "U+{code:04X}");
    }
    for code in 0x2000..=0x206F {
        assert!(!char::from_u32(code).unwrap().is_alphanumeric(), "U+{code:04X}");
    }
}

#[test]
fn malformed_bytes_read_as_one_replacement_per_maximal_part() {
    // After a malformed sequence the text is prepared again: the output
    // already in the buffer is kept, and nothing is appended twice.
    let raw = b"\xE8\xB5\xE8\xB5\x8C\xC0\x80Ab";
    for mode in [MatchMode::Exact, MatchMode::Normalized] {
        let mut out = String::from("kept");
        let mut origin = vec![7u32; 4];
        prepare_bytes_into(raw, mode, &mut out, Some(&mut origin));
        let expected = prepare(&String::from_utf8_lossy(raw), mode);
        assert_eq!(out, format!("kept{expected}"), "{mode:?}");
        assert_eq!(origin.len(), out.len());
    }
    assert_eq!(
        prepare(&String::from_utf8_lossy(raw), MatchMode::Exact),
        "\u{FFFD}赌\u{FFFD}\u{FFFD}Ab"
    );
}

#[test]
fn mapped_normalization_points_back_to_the_original() {
    let original = "来 賭.博 吧";
    let normalized = normalize_mapped(original);
    assert_eq!(normalized.text, normalize(original));
    let start = normalized.text.find("赌博").unwrap();
    let (from, to) = normalized.original_range(start, start + "赌博".len(), original);
    assert_eq!(&original[from..to], "賭.博");
}

#[test]
fn matcher_finds_distinct_keywords() {
    let matcher = KeywordMatcher::new(vec![normalize("赌博"), normalize("下注")], MatchMode::Normalized).unwrap();
    assert!(matcher.is_match("来 賭.博 吧"));
    assert!(!matcher.is_match("博赌"));
    assert_eq!(matcher.distinct_matches("赌博赌博下注"), vec![0, 1]);
}

#[test]
fn word_mode_keeps_latin_words_whole() {
    let matcher = KeywordMatcher::new(vec![prepare("bet", MatchMode::Word)], MatchMode::Word).unwrap();
    assert!(matcher.is_match("place a BET now"));
    assert!(!matcher.is_match("the alphabet"));
    assert!(matcher.is_match("b\u{200B}et!"));
}

#[test]
fn any_searches_only_the_innermost_keywords() {
    let keywords: Vec<String> = ["网络赌博", "赌博", "赌博网站", "下注", "下注吧", "吧"]
        .iter()
        .map(|k| prepare(k, MatchMode::Normalized))
        .collect();
    let automaton = matcher::overlapping(&keywords, MatchMode::Normalized, true).unwrap();
    assert_eq!(matcher::innermost(&keywords, &automaton), ["赌博", "下注", "吧"]);
    let matcher = KeywordMatcher::new(keywords, MatchMode::Normalized).unwrap();
    for (text, expected) in [
        ("去网络賭博", true),
        ("下注", true),
        ("下", false),
        ("来吧", true),
        ("网络", false),
    ] {
        assert_eq!(matcher.is_match(text), expected, "{text}");
    }
}

#[test]
fn a_large_set_answers_any_as_its_keywords_do() {
    // More keywords than the SIMD prefilter takes: "is there any" is
    // answered by the overlapping DFA, in every mode and on raw text.
    let words = ["赌博", "下注", "刷单", "水军", "bet", "vip", "约炮", "办证"];
    for mode in [MatchMode::Normalized, MatchMode::Exact, MatchMode::Word] {
        let keywords: Vec<String> = (0..200)
            .map(|i| prepare(&format!("{}{i}", words[i % words.len()]), mode))
            .chain(words.iter().map(|w| prepare(w, mode)))
            .collect();
        let matcher = KeywordMatcher::new(keywords.clone(), mode).unwrap();
        for text in [
            "来 賭.博 吧",
            "刷单17",
            "place a BET now",
            "the alphabet",
            "水",
            "vip199",
            "今天天气很好",
        ] {
            let prepared = prepare(text, mode);
            let expected = keywords.iter().any(|k| {
                prepared
                    .match_indices(k.as_str())
                    .any(|(at, _)| matcher::accepts(mode, k, &prepared, at, at + k.len()))
            });
            assert_eq!(matcher.is_match(text), expected, "{mode:?} {text}");
            let mut buffer = String::new();
            assert_eq!(matcher.matches(text, &mut buffer), expected, "{mode:?} {text}");
        }
    }
}

#[test]
fn exact_mode_is_verbatim() {
    let matcher = KeywordMatcher::new(vec![String::from("VIP")], MatchMode::Exact).unwrap();
    assert!(matcher.is_match("join VIP"));
    assert!(!matcher.is_match("join vip"));
}

/// Short byte strings compare as `==` does at every length and wherever they
/// differ (the comparison loads overlapping words, not bytes).
#[test]
fn short_eq_is_equality() {
    for n in 0..40usize {
        let a: Vec<u8> = (0..n).map(|i| b'a' + (i % 26) as u8).collect();
        assert!(crate::short_eq(&a, &a.clone()), "{n}");
        for at in 0..n {
            let mut b = a.clone();
            b[at] ^= 0x20;
            assert!(!crate::short_eq(&a, &b), "{n} {at}");
        }
        let mut longer = a.clone();
        longer.push(b'z');
        assert!(!crate::short_eq(&a, &longer), "{n}");
    }
}

/// The short ASCII test answers as `is_ascii` does at every length up to 16
/// and for a high byte at every position (it loads overlapping words), and
/// says no to anything longer.
#[test]
fn short_ascii_is_is_ascii() {
    for n in 0..=16usize {
        let a: Vec<u8> = (0..n).map(|i| b'0' + (i % 10) as u8).collect();
        assert!(crate::is_short_ascii(&a), "{n}");
        for at in 0..n {
            let mut b = a.clone();
            b[at] = 0xE4;
            assert!(!crate::is_short_ascii(&b), "{n} {at}");
        }
    }
    assert!(!crate::is_short_ascii(&[b'a'; 17]));
}
