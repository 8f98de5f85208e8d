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
    for c in text.nfkc() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        }
    }
    out
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

    pub fn keywords(&self) -> &[String] {
        &self.keywords
    }

    /// Whether any keyword occurs in the already-normalized text.
    pub fn is_match_normalized(&self, normalized: &str) -> bool {
        !self.keywords.is_empty() && self.automaton.is_match(normalized)
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
