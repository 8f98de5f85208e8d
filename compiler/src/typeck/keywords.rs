//! Keyword sets: entries (from the loader for `file(...)` sets), match modes, automata.

use super::*;

impl<'a> Checker<'a> {
    pub(super) fn check_keyword_sets(&mut self) {
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
            let matcher = match self.cache.matcher(prepared, mode) {
                Ok(matcher) => matcher,
                Err(message) => {
                    self.error(
                        "qlp::keywords_too_large",
                        decl.name.span,
                        format!("keyword set `{}` could not be compiled: {message}", decl.name.name),
                    )
                    .help = Some(String::from("split the set into smaller sets"));
                    match KeywordMatcher::new(Vec::new(), mode) {
                        Ok(matcher) => matcher,
                        Err(_) => continue,
                    }
                }
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
    }

    /// Builds one automaton per match mode over every keyword set of it.
    pub(super) fn merge_keyword_sets(&mut self) {
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
                self.cache.merged(&sets, mode)
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
