//! Keyword sets compiled to automata: one set ([`KeywordMatcher`], with
//! the raw-text fast paths of the `normalized` mode) and every set of one
//! mode merged ([`MergedKeywords`]), so a text is scanned once.

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

use crate::{normalize, prepare, prepare_into, MatchMode, RawPrefilter};

/// A compiled keyword set: its prepared keywords in one automaton.
#[derive(Debug, Clone)]
pub struct KeywordMatcher {
    mode: MatchMode,
    automaton: AhoCorasick,
    /// The automaton that answers "is there any" in the modes where every
    /// occurrence counts (all but `word` and `initials`, which check each
    /// occurrence found by `automaton`): leftmost-first, which keeps
    /// aho-corasick's SIMD prefilter (`Standard`, which overlapping searches
    /// need, turns it off), over the *innermost* keywords only, those no
    /// other keyword occurs in (see [`innermost`]). A set whose innermost
    /// keywords are more than that prefilter takes gets a DFA of them: on
    /// the 53k-entry list (39k keywords once normalized), 11.6k keywords,
    /// 41 MiB against the full DFA's 152, and a scan ~40% faster. `None`
    /// when not needed (`word`, `initials`) or when that DFA cannot be
    /// built: `automaton` answers.
    any: Option<AhoCorasick>,
    /// In the `normalized` mode: the test that rules a raw text out without
    /// normalizing it (shared by clones: 12 KB however small the set),
    /// built when first needed (`None` inside when a keyword is empty):
    /// building the first one costs a scan of every code point (~36M
    /// instructions, a fifth of loading the shipped policies), which
    /// checking, linting and formatting policies never need.
    raw: Option<std::sync::Arc<std::sync::OnceLock<Option<RawPrefilter>>>>,
    /// In the `normalized` mode, when every keyword is its own normalized
    /// form: a keyword found in the raw text as it is is found in the
    /// normalized text too (normalization maps each character on its own),
    /// so `any` run on the raw text can answer "yes" without normalizing.
    raw_hits: bool,
    /// Prepared keywords, by pattern index.
    keywords: Vec<String>,
}

impl KeywordMatcher {
    /// Builds a matcher from keywords already prepared for `mode`, non-empty
    /// and distinct, with DFAs when they fit [`MAX_DFA_MEMORY`].
    pub fn new(keywords: Vec<String>, mode: MatchMode) -> Result<KeywordMatcher, String> {
        let dfa = dfa_cost(&keywords, mode) <= MAX_DFA_MEMORY;
        KeywordMatcher::build(keywords, mode, dfa)
    }

    /// [`KeywordMatcher::new`], with DFAs only when `dfa` says so (a
    /// program's sets share one budget, see [`dfa_cost`]): without, the
    /// automata are contiguous NFAs, tens of bytes a keyword byte where a
    /// DFA takes hundreds.
    pub fn build(keywords: Vec<String>, mode: MatchMode, dfa: bool) -> Result<KeywordMatcher, String> {
        let automaton = overlapping(&keywords, mode, dfa)?;
        let any = match mode {
            MatchMode::Word | MatchMode::Initials => None,
            MatchMode::Normalized | MatchMode::Exact | MatchMode::Sound | MatchMode::Lookalike => {
                let searched = innermost(&keywords, &automaton);
                let mut builder = AhoCorasick::builder();
                builder.match_kind(MatchKind::LeftmostFirst);
                if searched.len() > PREFILTERED_KEYWORDS {
                    // Without a DFA, "is there any" asks the overlapping automaton.
                    dfa.then(|| builder.kind(Some(AhoCorasickKind::DFA)).build(&searched).ok())
                        .flatten()
                } else {
                    // Few keywords, but maybe long ones: aho-corasick would
                    // choose a DFA for up to 100 whatever their length.
                    if !dfa {
                        builder.kind(Some(AhoCorasickKind::ContiguousNFA));
                    }
                    Some(builder.build(&searched).map_err(|error| error.to_string())?)
                }
            }
        };
        let raw = match mode {
            MatchMode::Normalized => Some(std::sync::Arc::default()),
            MatchMode::Word | MatchMode::Exact | MatchMode::Sound | MatchMode::Lookalike | MatchMode::Initials => None,
        };
        let raw_hits = mode == MatchMode::Normalized && keywords.iter().all(|k| normalize(k) == *k);
        Ok(KeywordMatcher {
            mode,
            automaton,
            any,
            raw,
            raw_hits,
            keywords,
        })
    }

    /// Whether the raw text (before normalization) may contain a keyword:
    /// false only when it cannot, so that matching may skip it.
    pub fn may_match_raw(&self, raw: &[u8]) -> bool {
        self.raw_prefilter().is_none_or(|prefilter| prefilter.may_match(raw))
    }

    /// The raw-text test, built now if it was not (engines call this when
    /// they load, so that no record waits for it).
    pub fn raw_prefilter(&self) -> Option<&RawPrefilter> {
        self.raw
            .as_ref()?
            .get_or_init(|| RawPrefilter::new(&self.keywords))
            .as_ref()
    }

    /// Whether a keyword certainly occurs in the raw text once normalized:
    /// found there as it is. False says nothing.
    pub fn certain_in_raw(&self, raw: &[u8]) -> bool {
        self.raw_hits && self.any().is_match(raw)
    }

    /// Whether the automata are DFAs (see [`KeywordMatcher::build`]).
    pub fn is_dfa(&self) -> bool {
        self.automaton.kind() == AhoCorasickKind::DFA
    }

    /// The match mode the automaton was built for.
    pub fn mode(&self) -> MatchMode {
        self.mode
    }

    /// Heap bytes used: the automata, the raw test and the keywords.
    pub fn memory_usage(&self) -> usize {
        self.automaton.memory_usage()
            + self.any.as_ref().map_or(0, AhoCorasick::memory_usage)
            + self.raw.as_ref().map_or(0, |raw| match raw.get() {
                Some(built) => built.as_ref().map_or(0, RawPrefilter::memory_usage),
                // Counted before it is built, as the budget of a check needs.
                None => RawPrefilter::TABLE_BYTES,
            })
            + self.keywords.iter().map(String::capacity).sum::<usize>()
            + self.keywords.capacity() * std::mem::size_of::<String>()
    }

    /// The keywords as normalized for matching, by pattern index.
    pub fn keywords(&self) -> &[String] {
        &self.keywords
    }

    /// Whether any keyword occurs in `text`, as the JIT answers it: the raw
    /// test first, then a scan of the raw text for the keywords as they
    /// are, and only a text neither settles is prepared and scanned.
    /// Always the answer of [`KeywordMatcher::is_match`] (the raw test is
    /// never false when a keyword is there), whose form the interpreter
    /// keeps as the specification.
    pub fn matches(&self, text: &str, buffer: &mut String) -> bool {
        if !self.may_match_raw(text.as_bytes()) {
            return false;
        }
        if self.certain_in_raw(text.as_bytes()) {
            return true;
        }
        buffer.clear();
        prepare_into(text, self.mode, buffer, None);
        self.is_match_prepared(buffer)
    }

    /// Whether any keyword occurs in `text` (the original text).
    pub fn is_match(&self, text: &str) -> bool {
        self.is_match_prepared(&prepare(text, self.mode))
    }

    /// Whether any keyword occurs in a text already prepared for this mode.
    pub fn is_match_prepared(&self, prepared: &str) -> bool {
        if self.keywords.is_empty() {
            return false;
        }
        if !matches!(self.mode, MatchMode::Word | MatchMode::Initials) {
            return self.any().is_match(prepared);
        }
        self.automaton
            .find_overlapping_iter(prepared)
            .any(|m| self.accepts(prepared, m.pattern().as_usize(), m.start(), m.end()))
    }

    /// The automaton that answers whether any keyword occurs (see [`KeywordMatcher::any`]).
    fn any(&self) -> &AhoCorasick {
        self.any.as_ref().unwrap_or(&self.automaton)
    }

    /// Whether an occurrence found by the automaton counts (see [`accepts`]).
    fn accepts(&self, text: &str, pattern: usize, start: usize, end: usize) -> bool {
        self.keywords
            .get(pattern)
            .is_some_and(|keyword| accepts(self.mode, keyword, text, start, end))
    }

    /// Every occurrence (overlapping) of a keyword in a prepared text:
    /// keyword index and byte range in the prepared text.
    pub fn find_all_prepared(&self, prepared: &str) -> Vec<(usize, usize, usize)> {
        self.find_iter_prepared(prepared).collect()
    }

    /// [`KeywordMatcher::find_all_prepared`], one occurrence at a time.
    pub fn find_iter_prepared<'t>(&'t self, prepared: &'t str) -> impl Iterator<Item = (usize, usize, usize)> + 't {
        self.automaton
            .find_overlapping_iter(prepared)
            .map(|m| (m.pattern().as_usize(), m.start(), m.end()))
            .filter(move |(p, s, e)| self.accepts(prepared, *p, *s, *e))
    }

    /// Indices of the distinct keywords that occur in a prepared text.
    pub fn distinct_matches_prepared(&self, prepared: &str) -> Vec<usize> {
        let mut found: Vec<usize> = self
            .find_all_prepared(prepared)
            .into_iter()
            .map(|(p, _, _)| p)
            .collect();
        found.sort_unstable();
        found.dedup();
        found
    }

    /// Distinct keywords in `text` (the original text).
    pub fn distinct_matches(&self, text: &str) -> Vec<usize> {
        self.distinct_matches_prepared(&prepare(text, self.mode))
    }
}

/// The keywords no other keyword occurs in ("赌博", not "网络赌博"), found
/// with `automaton`, the overlapping automaton of all of them: where every
/// occurrence counts, a text holds a keyword exactly when it holds one of
/// these (a keyword holds a shorter one, which holds a shorter one, down
/// to one that holds none), so "is there any" searches only these.
pub(crate) fn innermost<'k>(keywords: &'k [String], automaton: &AhoCorasick) -> Vec<&'k str> {
    keywords
        .iter()
        .enumerate()
        .filter(|(index, keyword)| {
            !automaton
                .find_overlapping_iter(keyword.as_str())
                .any(|m| m.pattern().as_usize() != *index)
        })
        .map(|(_, keyword)| keyword.as_str())
        .collect()
}

/// The most keywords aho-corasick's SIMD prefilter (Teddy) takes: a larger
/// set is searched without it, whatever the match kind.
const PREFILTERED_KEYWORDS: usize = 64;

/// The most memory DFAs take: for one set, and for all the sets and merged
/// automata of a program together (the compiler keeps that budget). A DFA
/// takes a row of 4-byte transitions per trie state, as wide as the
/// keywords' byte classes rounded up to a power of two: on Chinese lists
/// ~210 bytes a keyword byte (the 716 KB, 53,000-entry lexicon: 152 MiB),
/// ~800 on random words, so a 16 MiB keyword file (the file limit), or a
/// policy tree of many large files, would take gigabytes. Past it, the
/// contiguous NFA (a few times slower to scan, tens of bytes a keyword
/// byte) is built instead.
pub const MAX_DFA_MEMORY: usize = 512 << 20;

/// The bytes of `keywords`: the least any matcher of them takes.
pub fn keyword_bytes<K: AsRef<str>>(keywords: &[K]) -> usize {
    keywords.iter().map(|k| k.as_ref().len()).sum()
}

/// The transition table a DFA of `keywords` takes, as aho-corasick lays it
/// out: a row per trie state (distinct prefixes, and four special states)
/// of one 4-byte entry per byte class, rounded up to a power of two; the
/// classes split the bytes at each byte a keyword uses (both cases of
/// ASCII letters when `insensitive`). Counted before anything is built.
pub fn dfa_memory<K: AsRef<str>>(keywords: &[K], insensitive: bool) -> usize {
    // Case-insensitively, `Bet` and `bet` share their states.
    let mut sorted: Vec<std::borrow::Cow<'_, [u8]>> = keywords
        .iter()
        .map(|k| match insensitive {
            true => std::borrow::Cow::Owned(k.as_ref().to_ascii_lowercase().into_bytes()),
            false => std::borrow::Cow::Borrowed(k.as_ref().as_bytes()),
        })
        .collect();
    sorted.sort_unstable();
    let mut boundaries = [false; 256];
    let mut mark = |b: u8| {
        if let Some(before) = b.checked_sub(1).and_then(|p| boundaries.get_mut(p as usize)) {
            *before = true;
        }
        if let Some(at) = boundaries.get_mut(b as usize) {
            *at = true;
        }
    };
    let mut states = 4usize;
    let mut previous: &[u8] = &[];
    for keyword in &sorted {
        let shared = keyword.iter().zip(previous).take_while(|(a, b)| a == b).count();
        states += keyword.len() - shared;
        for &b in keyword.iter() {
            mark(b);
            if insensitive && b.is_ascii_alphabetic() {
                mark(b ^ 0x20);
            }
        }
        previous = keyword;
    }
    let classes = boundaries.iter().take(255).filter(|&&b| b).count() + 1;
    states.saturating_mul(classes.next_power_of_two()).saturating_mul(4)
}

/// The most a keyword set's DFAs take: the overlapping automaton and the
/// one of its innermost keywords (a subset, so no larger) each take at most
/// [`dfa_memory`] of the keywords.
pub fn dfa_cost(keywords: &[String], mode: MatchMode) -> usize {
    dfa_memory(keywords, mode == MatchMode::Initials).saturating_mul(2)
}

/// The automaton that finds every (overlapping) occurrence, a DFA when
/// `dfa` and the keywords fit one; in `initials` mode capitals (initials of
/// characters) and small letters (Latin) meet.
pub(crate) fn overlapping(keywords: &[String], mode: MatchMode, dfa: bool) -> Result<AhoCorasick, String> {
    let insensitive = mode == MatchMode::Initials;
    let kind = match dfa {
        true => AhoCorasickKind::DFA,
        false => AhoCorasickKind::ContiguousNFA,
    };
    AhoCorasick::builder()
        .kind(Some(kind))
        .match_kind(MatchKind::Standard)
        .ascii_case_insensitive(insensitive)
        .build(keywords)
        .or_else(|_| {
            // Very large sets can exceed the DFA's limits; the NFA is slower but unbounded.
            AhoCorasick::builder()
                .kind(Some(AhoCorasickKind::NoncontiguousNFA))
                .match_kind(MatchKind::Standard)
                .ascii_case_insensitive(insensitive)
                .build(keywords)
        })
        .map_err(|error| error.to_string())
}

/// Whether an occurrence of `keyword` at `start..end` of a prepared `text`
/// counts. In `word` mode, a keyword that starts (ends) with a Latin letter
/// or digit must not continue a word before (after) it. In `initials` mode
/// the same holds of the Latin letters (small) of the text, and the
/// occurrence must hold one: initials of characters alone (capitals) are
/// other words that begin with the same sounds.
pub(crate) fn accepts(mode: MatchMode, keyword: &str, text: &str, start: usize, end: usize) -> bool {
    match mode {
        MatchMode::Word => at_word_boundaries(keyword, text, start, end, |c| c.is_ascii_alphanumeric()),
        MatchMode::Initials => {
            let latin = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
            let found = text.get(start..end).unwrap_or("");
            found.chars().any(latin) && at_word_boundaries(found, text, start, end, latin)
        }
        _ => true,
    }
}

/// Whether `keyword`, found at `start..end` of `text`, does not continue a
/// word of `word_char`s where it starts or ends with one.
fn at_word_boundaries(keyword: &str, text: &str, start: usize, end: usize, word_char: impl Fn(char) -> bool) -> bool {
    let word_char = |c: Option<char>| c.is_some_and(&word_char);
    let starts_word = word_char(keyword.chars().next());
    let ends_word = word_char(keyword.chars().next_back());
    let before = text.get(..start).and_then(|t| t.chars().next_back());
    let after = text.get(end..).and_then(|t| t.chars().next());
    !(starts_word && word_char(before) || ends_word && word_char(after))
}

/// Every keyword set of one match mode in a single automaton, so that a
/// text is scanned once however many sets are matched against it.
#[derive(Debug, Clone)]
pub struct MergedKeywords {
    mode: MatchMode,
    automaton: AhoCorasick,
    keywords: Vec<String>,
    /// For each pattern: the (set, keyword index in that set) it stands for.
    owners: Vec<Vec<(u32, u32)>>,
}

impl MergedKeywords {
    /// Merges `sets` (set index, matcher) that share `mode`, into a DFA
    /// when `dfa` and the keywords fit one (see [`KeywordMatcher::build`]).
    pub fn new(sets: &[(usize, &KeywordMatcher)], mode: MatchMode, dfa: bool) -> Result<MergedKeywords, String> {
        let mut index: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        let mut keywords: Vec<String> = Vec::new();
        let mut owners: Vec<Vec<(u32, u32)>> = Vec::new();
        for (set, matcher) in sets {
            for (k, keyword) in matcher.keywords().iter().enumerate() {
                let pattern = *index.entry(keyword.as_str()).or_insert_with(|| {
                    keywords.push(keyword.clone());
                    owners.push(Vec::new());
                    keywords.len() - 1
                });
                if let Some(list) = owners.get_mut(pattern) {
                    list.push((*set as u32, k as u32));
                }
            }
        }
        let automaton = overlapping(&keywords, mode, dfa)?;
        Ok(MergedKeywords {
            mode,
            automaton,
            keywords,
            owners,
        })
    }

    /// Heap bytes used by the automaton.
    pub fn memory_usage(&self) -> usize {
        self.automaton.memory_usage()
    }

    /// The match mode of every set merged.
    pub fn mode(&self) -> MatchMode {
        self.mode
    }

    /// Scans a prepared text once: for each set, the distinct indices of its
    /// keywords found (sorted). `found` is indexed by set and cleared first.
    pub fn scan(&self, prepared: &str, found: &mut Vec<Vec<u32>>, n_sets: usize) {
        found.iter_mut().for_each(Vec::clear);
        found.resize_with(n_sets, Vec::new);
        for m in self.automaton.find_overlapping_iter(prepared) {
            let pattern = m.pattern().as_usize();
            let keyword = self.keywords.get(pattern).map_or("", String::as_str);
            if !accepts(self.mode, keyword, prepared, m.start(), m.end()) {
                continue;
            }
            for (set, keyword) in self.owners.get(pattern).into_iter().flatten() {
                if let Some(list) = found.get_mut(*set as usize) {
                    list.push(*keyword);
                }
            }
        }
        for list in found.iter_mut() {
            list.sort_unstable();
            list.dedup();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A matcher's raw-text test is built by the first question that needs
    /// it, once for the matcher and its clones, and answers as built eagerly.
    #[test]
    fn the_raw_test_is_built_when_first_needed_and_shared_by_clones() {
        let matcher = KeywordMatcher::new(vec![normalize("赌博")], MatchMode::Normalized).unwrap();
        let clone = matcher.clone();
        let built = |m: &KeywordMatcher| m.raw.as_ref().is_some_and(|raw| raw.get().is_some());
        assert!(!built(&matcher) && !built(&clone));
        let unbuilt_bytes = matcher.memory_usage();
        assert!(!matcher.may_match_raw("今天天气很好".as_bytes()));
        assert!(built(&clone), "clones share the test");
        assert!(clone.may_match_raw("賭 博".as_bytes()));
        assert!(
            matcher.memory_usage() >= unbuilt_bytes,
            "the budget counted its tables before"
        );
        let exact = KeywordMatcher::new(vec![String::from("VIP")], MatchMode::Exact).unwrap();
        assert!(exact.raw_prefilter().is_none() && exact.may_match_raw(b"anything"));
    }
}
