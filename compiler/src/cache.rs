//! What a re-check can reuse from the check before it: each file's parse
//! (keyed by its id and exact text) and each keyword automaton (keyed by its
//! exact keywords and mode). An editor keeps one [`CheckCache`] for its
//! session, so a keystroke re-parses one file and rebuilds no automaton
//! whose keywords did not change. A cache never changes a result: keys are
//! compared whole, not by hash alone. It holds only what the last check
//! used, so it stays the size of one policy set.

use std::collections::HashMap;
use std::sync::Mutex;

use qlp_grammar::ast;
use qlp_grammar::{Diagnostic, FileId};

use crate::program::MergedSets;
use crate::text::{KeywordMatcher, MatchMode};

/// One entry and the check that last used it.
struct Entry<K, V> {
    key: K,
    value: V,
    used: u64,
}

/// Entries by a hash of their key; the key itself decides.
struct Table<K, V> {
    entries: HashMap<u64, Vec<Entry<K, V>>>,
}

impl<K: PartialEq + std::hash::Hash, V: Clone> Table<K, V> {
    fn new() -> Table<K, V> {
        Table {
            entries: HashMap::new(),
        }
    }

    fn hash(key: &K) -> u64 {
        use std::hash::{BuildHasher, BuildHasherDefault};
        BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default().hash_one(key)
    }

    fn get_or(&mut self, key: K, generation: u64, make: impl FnOnce() -> V) -> V {
        let bucket = self.entries.entry(Self::hash(&key)).or_default();
        if let Some(entry) = bucket.iter_mut().find(|e| e.key == key) {
            entry.used = generation;
            return entry.value.clone();
        }
        let value = make();
        bucket.push(Entry {
            key,
            value: value.clone(),
            used: generation,
        });
        value
    }

    fn keep_used(&mut self, generation: u64) {
        self.entries.retain(|_, bucket| {
            bucket.retain(|e| e.used == generation);
            !bucket.is_empty()
        });
    }
}

/// A merged automaton's key: the match mode, whether it may be a DFA, and
/// each set's index and keywords.
type MergedKey = (u64, bool, Vec<(usize, Vec<String>)>);

struct Tables {
    generation: u64,
    parses: Table<(FileId, String), (ast::File, Vec<Diagnostic>)>,
    matchers: Table<(u64, bool, Vec<String>), Result<KeywordMatcher, String>>,
    merged: Table<MergedKey, std::sync::Arc<MergedSets>>,
}

/// Parses and keyword automata kept between checks (see the module doc).
pub struct CheckCache {
    tables: Mutex<Tables>,
    /// Whether files' tests are parsed (and so checked): not for a check
    /// whose program is only evaluated ([`CheckCache::without_tests`]).
    tests: bool,
}

impl Default for CheckCache {
    fn default() -> CheckCache {
        CheckCache::new()
    }
}

impl CheckCache {
    /// An empty cache.
    pub fn new() -> CheckCache {
        CheckCache {
            tables: Mutex::new(Tables {
                generation: 0,
                parses: Table::new(),
                matchers: Table::new(),
                merged: Table::new(),
            }),
            tests: true,
        }
    }

    /// An empty cache for checks whose program is only evaluated: files'
    /// tests are left out, unparsed and unchecked (the program has none).
    pub fn without_tests() -> CheckCache {
        CheckCache {
            tests: false,
            ..CheckCache::new()
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Tables) -> T) -> T {
        let mut tables = self.tables.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut tables)
    }

    /// Starts a check: what it does not use is dropped when it ends.
    pub(crate) fn begin(&self) {
        self.with(|t| t.generation += 1);
    }

    /// Ends a check, dropping what it did not use.
    pub(crate) fn end(&self) {
        self.with(|t| {
            let generation = t.generation;
            t.parses.keep_used(generation);
            t.matchers.keep_used(generation);
            t.merged.keep_used(generation);
        });
    }

    /// The parse of `text` as file `file`.
    pub(crate) fn parse(&self, text: &str, file: FileId) -> (ast::File, Vec<Diagnostic>) {
        self.with(|t| {
            let generation = t.generation;
            t.parses.get_or((file, text.to_string()), generation, || {
                qlp_grammar::parse_file_with(text, file, self.tests)
            })
        })
    }

    /// The automata of prepared `keywords` in `mode` (DFAs when `dfa`).
    pub(crate) fn matcher(&self, keywords: Vec<String>, mode: MatchMode, dfa: bool) -> Result<KeywordMatcher, String> {
        self.with(|t| {
            let generation = t.generation;
            let key = (mode.code(), dfa, keywords);
            let build = key.2.clone();
            t.matchers
                .get_or(key, generation, || KeywordMatcher::build(build, mode, dfa))
        })
    }

    /// The automaton over every set of one mode (a DFA when `dfa`), built
    /// when first asked for: programs of later checks with the same sets
    /// share it, built or not.
    pub(crate) fn merged(
        &self,
        sets: &[(usize, &KeywordMatcher)],
        mode: MatchMode,
        dfa: bool,
    ) -> std::sync::Arc<MergedSets> {
        let key: Vec<(usize, Vec<String>)> = sets.iter().map(|(i, m)| (*i, m.keywords().to_vec())).collect();
        self.with(|t| {
            let generation = t.generation;
            t.merged.get_or((mode.code(), dfa, key), generation, || {
                std::sync::Arc::new(MergedSets::new(sets.iter().map(|(i, _)| *i).collect(), mode, dfa))
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::MemoryLoader;

    const SCHEMA: &str = "record R { text: string }\nkeywords spam = [\"加微信\", \"刷单\"]\n";

    fn check(rules: &str, cache: &CheckCache) -> Vec<String> {
        let loader = MemoryLoader::new()
            .with("schema.qlp", SCHEMA)
            .with("rules.qlp", format!("import \"schema.qlp\"\n{rules}"));
        let checked = crate::check_cached(&[PathBuf::from("rules.qlp")], &loader, cache);
        let mut out: Vec<String> = checked.diagnostics.iter().map(|d| d.message.clone()).collect();
        if let Some(program) = checked.program {
            out.extend(program.keyword_sets.iter().map(|k| k.matcher.keywords().join(",")));
            out.extend(program.rules.iter().map(|r| r.name.clone()));
        }
        out
    }

    #[test]
    fn a_cached_check_gives_what_a_fresh_one_gives() {
        let cache = CheckCache::new();
        let versions = [
            "rule r(c: R) {\n  when: c.text has_any spam\n  then: review\n}\n",
            "rule r(c: R) {\n  when: c.txt has_any spam\n  then: review\n}\n",
            "rule r(c: R) {\n  when: c.text has_any spam\n  then: review\n}\nkeywords more = [\"水军\"]\n",
            "rule r(c: R) {\n  when: c.text has_any spam\n  then: review\n}\n",
        ];
        for rules in versions.iter().chain(versions.iter().rev()) {
            assert_eq!(check(rules, &cache), check(rules, &CheckCache::new()), "{rules}");
        }
        // Only what the last check used is kept.
        let kept = cache.with(|t| (t.parses.entries.len(), t.matchers.entries.len()));
        assert_eq!(kept, (2, 1));
    }

    /// A program's merged automaton is built when an engine first asks for
    /// it, once for the programs of later checks of the same sets.
    #[test]
    fn merged_automata_are_built_when_first_asked_for_and_shared_by_later_checks() {
        let cache = CheckCache::new();
        let rules = "keywords more = [\"水军\"]\nrule r(c: R) {\n  when: c.text has_any spam or c.text has_any more\n  then: review\n}\n";
        let program = || {
            let loader = MemoryLoader::new()
                .with("schema.qlp", SCHEMA)
                .with("rules.qlp", format!("import \"schema.qlp\"\n{rules}"));
            crate::check_cached(&[PathBuf::from("rules.qlp")], &loader, &cache)
                .program
                .unwrap()
        };
        let merged = |p: &crate::program::Program| {
            p.merged_keywords
                .get(MatchMode::Normalized.code() as usize)
                .cloned()
                .flatten()
                .unwrap()
        };
        let (first, second) = (program(), program());
        assert!(std::sync::Arc::ptr_eq(&merged(&first), &merged(&second)));
        assert!(!merged(&first).is_built(), "a check builds no merged automaton");
        let mut found = Vec::new();
        first
            .merged(MatchMode::Normalized)
            .unwrap()
            .scan("加微信的水军", &mut found, 2);
        let (spam, more) = (
            first.keyword_sets.iter().position(|k| k.name == "spam").unwrap(),
            first.keyword_sets.iter().position(|k| k.name == "more").unwrap(),
        );
        assert_eq!((found[spam].len(), found[more].len()), (1, 1));
        assert!(merged(&second).is_built());
    }

    #[test]
    fn a_keyword_set_that_cannot_fit_the_memory_limit_is_never_built() {
        // Its keywords alone are more than the limit: building its automata
        // (seconds, and gigabytes, for a 16 MiB file) would be for nothing.
        let words: String = (0..1_000).map(|i| format!("词{i}\n")).collect();
        let loader = MemoryLoader::new()
            .with("p.qlp", "keywords big = file(\"words.txt\")\n")
            .with("words.txt", words)
            .with_keyword_memory(4_000);
        let cache = CheckCache::new();
        let checked = crate::check_cached(&[PathBuf::from("p.qlp")], &loader, &cache);
        let codes: Vec<&str> = checked.diagnostics.iter().map(|d| d.code).collect();
        assert_eq!(codes, ["qlp::keywords_too_large"]);
        assert_eq!(cache.with(|t| t.matchers.entries.len()), 0);
    }
}
