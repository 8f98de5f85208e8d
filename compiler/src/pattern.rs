//! `matches` patterns: compiled once per distinct pattern, each within a
//! size limit, and all of a program's within one budget, so that a policy
//! tree (from a pull request) cannot make a check take minutes or gigabytes
//! with thousands of large Unicode classes.

use regex_automata::meta;
use regex_automata::nfa::thompson::WhichCaptures;

/// Largest compiled pattern, in bytes.
pub const MAX_PATTERN_BYTES: usize = 1 << 20;

/// Most bytes all of a program's compiled patterns take together; a
/// compilation that fails for size counts what it was allowed (its work).
/// 300 patterns of `\w{15}` took 431 MB and 2.6 s to check, and a failing
/// pattern ~11 ms: a 4 MiB policy file could hold 50,000 of either.
pub const MAX_PATTERNS_BYTES: usize = 64 << 20;

/// A compiled `matches` pattern (Rust `regex` syntax, leftmost-first).
#[derive(Debug, Clone)]
pub struct Pattern {
    regex: meta::Regex,
    source: String,
}

/// Why a pattern was not compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PatternError {
    /// Its syntax: the parser's message, last line.
    Syntax(String),
    /// Compiled, it passes `limit` bytes.
    TooLarge {
        /// What it was allowed.
        limit: usize,
    },
}

impl Pattern {
    /// Compiles `source` into at most `limit` bytes. What its lazy DFA
    /// caches while matching is [`MAX_PATTERN_BYTES`] whatever the limit:
    /// a pattern compiled late in the budget matches as fast as the first.
    pub fn new(source: &str, limit: usize) -> Result<Pattern, PatternError> {
        let config = meta::Config::new()
            .nfa_size_limit(Some(limit))
            .onepass_size_limit(Some(limit))
            .dfa_size_limit(Some(limit))
            .hybrid_cache_capacity(MAX_PATTERN_BYTES)
            // Only `is_match` is asked.
            .which_captures(WhichCaptures::None);
        match meta::Builder::new().configure(config).build(source) {
            Ok(regex) => Ok(Pattern {
                regex,
                source: source.to_string(),
            }),
            Err(error) => Err(match error.syntax_error() {
                Some(syntax) => {
                    PatternError::Syntax(syntax.to_string().lines().last().unwrap_or("").trim().to_string())
                }
                None => PatternError::TooLarge { limit },
            }),
        }
    }

    /// Whether the pattern matches anywhere in `text`.
    pub fn is_match(&self, text: &str) -> bool {
        self.regex.is_match(text)
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Heap bytes of the compiled pattern (not its match-time caches).
    pub fn memory_usage(&self) -> usize {
        self.regex.memory_usage() + self.source.capacity()
    }
}
