//! Keyword sets: entries (from the loader for `file(...)` sets), match modes, automata.

use super::*;

/// The most heap a program's keyword sets take together (automata, raw
/// tests, keywords; DFAs at most [`crate::text::MAX_DFA_MEMORY`] of it),
/// raised or lowered by `[limits] keyword_memory_bytes` in `qlp.toml`: a
/// policy tree comes from pull requests, and a set takes ~16 KB however
/// small and tens of bytes a keyword byte (hundreds as a DFA). The
/// 53k-entry lexicon takes ~200 MiB.
pub const MAX_KEYWORD_MEMORY: usize = 512 << 20;

impl<'a> Checker<'a> {
    /// Builds every keyword set's automata; returns the DFA budget left
    /// (bytes, see [`crate::text::MAX_DFA_MEMORY`]): sets get DFAs in
    /// declaration order while they fit it.
    pub(super) fn check_keyword_sets(&mut self) -> usize {
        let mut budget = Budget {
            dfa_left: crate::text::MAX_DFA_MEMORY,
            memory: 0,
        };
        for &(file, index) in self.scope.declarations(DeclKind::Keywords) {
            let Some(Item::Keywords(decl)) = self.item(file, index) else {
                continue;
            };
            self.file = file;
            let entries: Vec<(String, Span)> = match &decl.source {
                KeywordsSource::Inline(entries) => entries.iter().map(|e| (e.value.clone(), e.span)).collect(),
                // Read by the loader; a file it could not read has its diagnostic already.
                KeywordsSource::File(path) => self
                    .files
                    .keyword_file(file, path.span)
                    .iter()
                    .map(|entry| (entry.clone(), path.span))
                    .collect(),
            };
            let mode = self.keyword_mode(decl);
            let mut prepared: Vec<String> = Vec::new();
            let mut originals: Vec<String> = Vec::new();
            let mut repeats: Vec<(String, String)> = Vec::new();
            let mut index_of: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
            let mut empties = 0usize;
            for (entry, span) in entries {
                let entry = entry.trim();
                let key = match mode {
                    MatchMode::Exact => entry.to_string(),
                    mode => prepare(entry, mode).trim().to_string(),
                };
                if key.is_empty() {
                    empties += 1;
                    if empties == 1 {
                        self.diagnostics.push(
                            Diagnostic::warning(
                                "qlp::empty_keyword",
                                file,
                                span,
                                format!("keyword `{entry}` is empty after normalization and never matches"),
                            )
                            .with_help("keywords match letters and digits; spaces and punctuation are ignored"),
                        );
                    }
                    continue;
                }
                if let Some(&first) = index_of.get(&key) {
                    if repeats.len() < 3 {
                        let earlier = originals.get(first).cloned().unwrap_or_default();
                        repeats.push((entry.to_string(), earlier));
                    } else {
                        repeats.push((String::new(), String::new()));
                    }
                    continue;
                }
                index_of.insert(key.clone(), prepared.len());
                prepared.push(key);
                originals.push(entry.to_string());
            }
            let matcher = self.build_within(&decl.name, prepared, mode, &mut budget);
            let matcher = match matcher.map_or_else(|| KeywordMatcher::new(Vec::new(), mode), Ok) {
                Ok(matcher) => matcher,
                Err(_) => continue,
            };
            // Repeats are merged here and reported once, by the linter
            // (QLP108 duplicate-keyword).
            let repeated = repeats.len();
            repeats.retain(|(entry, _)| !entry.is_empty());
            self.program.keyword_sets.push(KeywordSet {
                name: decl.name.name.clone(),
                entries: originals,
                matcher,
                location: Location { file, span: decl.span },
                repeated,
                repeat_examples: repeats,
            });
        }
        budget.dfa_left
    }

    /// A set's automata, DFAs when they fit what is left of the DFA
    /// budget, or `None` (reported) past the memory limit. A set takes at
    /// least its keywords' bytes: one that cannot fit is not built, and
    /// past the limit (reported once) none is.
    fn build_within(
        &mut self,
        name: &ast::Ident,
        prepared: Vec<String>,
        mode: MatchMode,
        budget: &mut Budget,
    ) -> Option<KeywordMatcher> {
        let cost = crate::text::dfa_cost(&prepared, mode);
        let dfa = cost <= budget.dfa_left;
        let over = budget.memory > self.keyword_memory;
        let floor = crate::text::keyword_bytes(&prepared);
        let fits = !over && budget.memory.saturating_add(floor) <= self.keyword_memory;
        let matcher = match fits.then(|| self.cache.matcher(prepared, mode, dfa)) {
            Some(Ok(matcher)) => {
                budget.memory = budget.memory.saturating_add(matcher.memory_usage());
                budget.dfa_left -= if dfa { cost } else { 0 };
                (budget.memory <= self.keyword_memory).then_some(matcher)
            }
            None => {
                budget.memory = budget.memory.saturating_add(floor);
                None
            }
            Some(Err(message)) => {
                self.error(
                    "qlp::keywords_too_large",
                    name.span,
                    format!("keyword set `{}` could not be compiled: {message}", name.name),
                )
                .help = Some(String::from("split the set into smaller sets"));
                None
            }
        };
        if !over && budget.memory > self.keyword_memory {
            let limit = self.keyword_memory;
            self.error(
                "qlp::keywords_too_large",
                name.span,
                format!(
                    "keyword sets take more than {} together (`[limits] keyword_memory_bytes`), past the limit with `{}`",
                    mebibytes(limit),
                    name.name
                ),
            )
            .help = Some(String::from(
                "use fewer or smaller keyword sets: a set's automata take tens to hundreds of bytes a keyword byte, and ~16 KB however small",
            ));
        }
        matcher
    }

    /// Builds one automaton per match mode over every keyword set of it,
    /// DFAs while they fit `dfa_left` bytes.
    pub(super) fn merge_keyword_sets(&mut self, mut dfa_left: usize) {
        let mut merged = Vec::new();
        for mode in [
            MatchMode::Normalized,
            MatchMode::Word,
            MatchMode::Exact,
            MatchMode::Sound,
            MatchMode::Lookalike,
            MatchMode::Initials,
        ] {
            let sets: Vec<(usize, &KeywordMatcher)> = self
                .program
                .keyword_sets
                .iter()
                .enumerate()
                .filter(|(_, s)| s.matcher.mode() == mode)
                .map(|(i, s)| (i, &s.matcher))
                .collect();
            // One set alone is matched directly (its automaton can stop at the first match).
            merged.push(if sets.len() < 2 {
                None
            } else {
                let keywords: Vec<&String> = sets.iter().flat_map(|(_, m)| m.keywords()).collect();
                let cost = crate::text::dfa_memory(&keywords, mode == MatchMode::Initials);
                let dfa = cost <= dfa_left;
                dfa_left -= if dfa { cost } else { 0 };
                Some(self.cache.merged(&sets, mode, dfa))
            });
        }
        self.program.merged_keywords = merged;
    }

    /// The match mode from a keyword set's options.
    pub(super) fn keyword_mode(&mut self, decl: &ast::KeywordsDecl) -> MatchMode {
        let mut mode = MatchMode::Normalized;
        for option in &decl.options {
            let chosen = match option.name.as_str() {
                "word" => MatchMode::Word,
                "exact" => MatchMode::Exact,
                "sound" => MatchMode::Sound,
                "lookalike" => MatchMode::Lookalike,
                "initials" => MatchMode::Initials,
                other => {
                    self.error(
                        "qlp::keyword_option",
                        option.span,
                        format!("unknown keyword set option `{other}`"),
                    )
                    .help = Some(String::from(
                        "options are `word` (Latin entries match whole words), `exact` (no normalization, case-sensitive), `lookalike` (letters of other scripts folded to what they imitate), `sound` (Chinese matched by its pinyin: homophones and pinyin spellings, look-alikes folded too) and `initials` (Chinese matched by the Latin initials of its pinyin: `db` for 赌博)",
                    ));
                    continue;
                }
            };
            if mode != MatchMode::Normalized && mode != chosen {
                self.error(
                    "qlp::keyword_option",
                    option.span,
                    "`word`, `exact`, `lookalike` and `sound` cannot be combined",
                )
                .help = Some(String::from("choose one match mode per keyword set"));
            }
            mode = chosen;
        }
        mode
    }
}

/// What the keyword sets checked so far have spent.
struct Budget {
    /// DFA bytes left (see [`crate::text::MAX_DFA_MEMORY`]).
    dfa_left: usize,
    /// Heap the sets take (see [`MAX_KEYWORD_MEMORY`]).
    memory: usize,
}

/// `bytes` for people: whole MiB when it is, else bytes.
fn mebibytes(bytes: usize) -> String {
    match bytes % (1 << 20) {
        0 => format!("{} MiB", bytes >> 20),
        _ => format!("{bytes} bytes"),
    }
}
