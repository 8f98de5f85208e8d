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

/// Most bytes all of a program's patterns may keep in their lazy DFAs' and
/// backtrackers' caches while matching, per thread: each pattern's share is
/// [`cache_share`] (the NFA simulation's cache is proportional to the
/// compiled pattern, within [`MAX_PATTERNS_BYTES`]). Without it, 600
/// patterns whose lazy DFAs grow to their limit on hostile text took 2.3 GB
/// (1 MiB per pattern, direction and thread).
pub const MAX_PATTERN_CACHES_BYTES: usize = 64 << 20;

/// What the bounded backtracker may keep per pattern and thread (the
/// set of states it visited: `regex-automata`'s default).
const BACKTRACK_BYTES: usize = 256 << 10;

/// The smallest lazy DFA cache worth having: below it, the NFA simulation
/// matches alone.
const MIN_LAZY_BYTES: usize = 8 << 10;

/// What each pattern may cache while matching, per thread, when a program
/// has `patterns` of them: an even share of [`MAX_PATTERN_CACHES_BYTES`],
/// up to what one pattern uses at most (a lazy DFA of [`MAX_PATTERN_BYTES`]
/// each way, and the backtracker's set).
pub fn cache_share(patterns: usize) -> usize {
    (MAX_PATTERN_CACHES_BYTES / patterns.max(1)).min(2 * MAX_PATTERN_BYTES + BACKTRACK_BYTES)
}

/// A compiled `matches` pattern (Rust `regex` syntax, leftmost-first).
#[derive(Debug, Clone)]
pub struct Pattern {
    regex: meta::Regex,
    source: String,
    /// The size limit it was compiled within.
    limit: usize,
    /// What it may cache while matching, per thread.
    cache: usize,
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
    /// Compiles `source` into at most `limit` bytes, to cache at most
    /// `cache` bytes per thread while matching ([`cache_share`]; the
    /// engines it may use follow: the backtracker only when its set fits
    /// twice, a lazy DFA only when [`MIN_LAZY_BYTES`] fit each way). A
    /// pattern compiled late in the size budget matches as fast as the first.
    pub fn new(source: &str, limit: usize, cache: usize) -> Result<Pattern, PatternError> {
        let backtrack = cache >= 2 * BACKTRACK_BYTES;
        let lazy = (cache - if backtrack { BACKTRACK_BYTES } else { 0 }) / 2;
        let lazy = lazy.min(MAX_PATTERN_BYTES);
        let config = meta::Config::new()
            .nfa_size_limit(Some(limit))
            .onepass_size_limit(Some(limit))
            .dfa_size_limit(Some(limit))
            .hybrid(lazy >= MIN_LAZY_BYTES)
            .hybrid_cache_capacity(lazy)
            .backtrack(backtrack)
            // Only `is_match` is asked.
            .which_captures(WhichCaptures::None);
        match meta::Builder::new().configure(config).build(source) {
            Ok(regex) => Ok(Pattern {
                regex,
                source: source.to_string(),
                limit,
                cache,
            }),
            Err(error) => Err(match error.syntax_error() {
                Some(syntax) => {
                    PatternError::Syntax(syntax.to_string().lines().last().unwrap_or("").trim().to_string())
                }
                None => PatternError::TooLarge { limit },
            }),
        }
    }

    /// The pattern compiled again to cache at most `cache` bytes per thread
    /// (itself when it already does): a program's patterns are compiled as
    /// they are met, and shrunk to their share once all are known.
    pub fn with_cache(self, cache: usize) -> Pattern {
        if cache >= self.cache {
            return self;
        }
        // The same source and size limit compile as they did: only the
        // engines' caches differ.
        Pattern::new(&self.source, self.limit, cache).unwrap_or(self)
    }

    /// What the pattern may cache while matching, per thread.
    pub fn cache(&self) -> usize {
        self.cache
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
