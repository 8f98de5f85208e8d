//! Text normalization and keyword matching, shared by the interpreter and
//! the JIT's helpers so that both see exactly the same text.
//!
//! Normalization: Unicode NFKC (folds full-width and styled letters and
//! digits), lowercase, and drop everything that is not a letter or a digit
//! (spaces, punctuation, symbols, zero-width and format characters). Keywords
//! are normalized the same way, so `赌.博`, `赌 博` and `ＢＥＴ` match `赌博`
//! and `bet`.

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use unicode_normalization::UnicodeNormalization;

/// The normalized form of a text, as keyword matching sees it.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    normalize_into(text, &mut out);
    out
}

/// Appends the normalized form of `text` to `out` (reusing its allocation).
pub fn normalize_into(text: &str, out: &mut String) {
    for c in text.chars() {
        push_normalized(c, out);
    }
}

/// A normalized text and, for each of its bytes, the byte offset in the
/// original text of the character it came from.
#[derive(Debug, Clone, Default)]
pub struct Normalized {
    pub text: String,
    origin: Vec<u32>,
}

impl Normalized {
    /// The byte range in the original text that normalized bytes `start..end` came from.
    pub fn original_range(&self, start: usize, end: usize, original: &str) -> (usize, usize) {
        let from = self.origin.get(start).map_or(original.len(), |o| *o as usize);
        let last = end
            .checked_sub(1)
            .and_then(|i| self.origin.get(i))
            .map_or(from, |o| *o as usize);
        let to = original
            .get(last..)
            .and_then(|rest| rest.chars().next())
            .map_or(original.len(), |c| last + c.len_utf8());
        (from, to)
    }
}

/// Normalizes like [`normalize`] and keeps the map back to the original.
pub fn normalize_mapped(text: &str) -> Normalized {
    let mut out = Normalized {
        text: String::with_capacity(text.len()),
        origin: Vec::with_capacity(text.len()),
    };
    for (offset, c) in text.char_indices() {
        let before = out.text.len();
        push_normalized(c, &mut out.text);
        let added = out.text.len() - before;
        out.origin.extend(std::iter::repeat_n(offset as u32, added));
    }
    out
}

/// Appends the normalized form of one character: NFKC of the character,
/// lowercased, letters and digits only. Characters are normalized one at a
/// time, so that every output byte maps to one input character.
fn push_normalized(c: char, out: &mut String) {
    if c.is_ascii() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        }
        return;
    }
    for d in std::iter::once(c).nfkc() {
        if d.is_alphanumeric() {
            out.extend(d.to_lowercase());
        }
    }
}

/// A compiled keyword set: the normalized keywords in one automaton.
#[derive(Debug, Clone)]
pub struct KeywordMatcher {
    automaton: AhoCorasick,
    /// Normalized keywords, by pattern index.
    keywords: Vec<String>,
}

impl KeywordMatcher {
    /// Builds a matcher from normalized, non-empty, distinct keywords.
    pub fn new(keywords: Vec<String>) -> Result<KeywordMatcher, String> {
        let automaton = AhoCorasick::builder()
            .kind(Some(AhoCorasickKind::DFA))
            .match_kind(MatchKind::Standard)
            .build(&keywords)
            .or_else(|_| {
                // Very large sets can exceed the DFA's limits; the NFA is slower but unbounded.
                AhoCorasick::builder().match_kind(MatchKind::Standard).build(&keywords)
            })
            .map_err(|error| error.to_string())?;
        Ok(KeywordMatcher { automaton, keywords })
    }

    /// Heap bytes used by the automaton.
    pub fn memory_usage(&self) -> usize {
        self.automaton.memory_usage()
    }

    pub fn keywords(&self) -> &[String] {
        &self.keywords
    }

    /// Whether any keyword occurs in the already-normalized text.
    pub fn is_match_normalized(&self, normalized: &str) -> bool {
        !self.keywords.is_empty() && self.automaton.is_match(normalized)
    }

    /// Every occurrence (overlapping) of a keyword in the already-normalized
    /// text: keyword index and normalized byte range.
    pub fn find_all_normalized(&self, normalized: &str) -> Vec<(usize, usize, usize)> {
        self.automaton
            .find_overlapping_iter(normalized)
            .map(|m| (m.pattern().as_usize(), m.start(), m.end()))
            .collect()
    }

    /// Indices of the distinct keywords that occur in the already-normalized text.
    pub fn distinct_matches_normalized(&self, normalized: &str) -> Vec<usize> {
        let mut found: Vec<usize> = self
            .automaton
            .find_overlapping_iter(normalized)
            .map(|m| m.pattern().as_usize())
            .collect();
        found.sort_unstable();
        found.dedup();
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalization_folds_width_case_and_separators() {
        assert_eq!(normalize("赌.博"), "赌博");
        assert_eq!(normalize("赌 博"), "赌博");
        assert_eq!(normalize("ＢＥＴ Now!"), "betnow");
        assert_eq!(normalize("赌\u{200B}博"), "赌博");
        assert_eq!(normalize("①②"), "12");
    }

    #[test]
    fn mapped_normalization_points_back_to_the_original() {
        let original = "来 赌.博 吧";
        let normalized = normalize_mapped(original);
        assert_eq!(normalized.text, normalize(original));
        let start = normalized.text.find("赌博").unwrap();
        let (from, to) = normalized.original_range(start, start + "赌博".len(), original);
        assert_eq!(&original[from..to], "赌.博");
    }

    #[test]
    fn matcher_finds_distinct_keywords() {
        let matcher = KeywordMatcher::new(vec![normalize("赌博"), normalize("下注")]).unwrap();
        assert!(matcher.is_match_normalized(&normalize("来 赌.博 吧")));
        assert!(!matcher.is_match_normalized(&normalize("博赌")));
        assert_eq!(
            matcher.distinct_matches_normalized(&normalize("赌博赌博下注")),
            vec![0, 1]
        );
    }
}
