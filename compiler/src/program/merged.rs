//! The keyword sets of one match mode merged into one automaton, built
//! when first needed.

use super::KeywordSet;
use crate::text::KeywordMatcher;

/// The keyword sets of one match mode merged into one automaton, built
/// when an engine first asks for it (see [`super::Program::merged`]): checking,
/// linting and formatting policies never scan a text, and do not pay for
/// it (~11M instructions for the shipped policies).
#[derive(Debug)]
pub struct MergedSets {
    /// The sets merged, by index into `Program::keyword_sets`.
    sets: Vec<usize>,
    mode: crate::text::MatchMode,
    /// Whether the automaton may be a DFA (the program's DFA budget).
    dfa: bool,
    built: std::sync::OnceLock<Option<crate::text::MergedKeywords>>,
}

impl MergedSets {
    /// The sets `sets` of `mode`, not merged yet.
    pub fn new(sets: Vec<usize>, mode: crate::text::MatchMode, dfa: bool) -> MergedSets {
        MergedSets {
            sets,
            mode,
            dfa,
            built: std::sync::OnceLock::new(),
        }
    }

    /// Whether the automaton was built (or found not to build).
    #[cfg(test)]
    pub(crate) fn is_built(&self) -> bool {
        self.built.get().is_some()
    }

    /// The automaton over `keyword_sets`' sets (the program's, whose
    /// indices `sets` are), built now if it was not; `None` when it cannot
    /// be built (each set is then matched on its own).
    pub(super) fn get<'p>(&'p self, keyword_sets: &[KeywordSet]) -> Option<&'p crate::text::MergedKeywords> {
        self.built
            .get_or_init(|| {
                let sets: Vec<(usize, &KeywordMatcher)> = self
                    .sets
                    .iter()
                    .filter_map(|&index| Some((index, &keyword_sets.get(index)?.matcher)))
                    .collect();
                crate::text::MergedKeywords::new(&sets, self.mode, self.dfa).ok()
            })
            .as_ref()
    }
}
