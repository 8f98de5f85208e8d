//! The words of the language.

/// The words that start a declaration at the start of a line: a file is
/// split into declarations at them, so one bad declaration does not hide
/// the errors of the next.
pub const DECLARATION_WORDS: [&str; 14] = [
    "import",
    "enum",
    "record",
    "keywords",
    "const",
    "fn",
    "campaign",
    "rule",
    "exempt",
    "counter",
    "distinct",
    "first_seen",
    "tag",
    "test",
];

/// Every word of the language (each `kw_*` of `qlp.pest`), as opposed to
/// names: what editors highlight as keywords.
pub const WORDS: &[&str] = &[
    "import",
    "time_zone",
    "enum",
    "record",
    "keywords",
    "file",
    "const",
    "fn",
    "campaign",
    "rule",
    "exempt",
    "counter",
    "distinct",
    "first_seen",
    "tag",
    "test",
    "given",
    "expect",
    "nothing",
    "verdict",
    "error",
    "allow",
    "title",
    "active",
    "max_action",
    "when",
    "then",
    "reason",
    "shadow",
    "cancels",
    "label",
    "limit",
    "review",
    "remove",
    "block",
    "suspend",
    "ban",
    "and",
    "or",
    "not",
    "in",
    "is",
    "some",
    "none",
    "has_any",
    "matches",
    "if",
    "else",
    "let",
    "any",
    "all",
    "count",
    "now",
    "true",
    "false",
];

#[cfg(test)]
mod tests {
    /// The list is the grammar's: every `kw_*` rule of `qlp.pest`, no more.
    #[test]
    fn the_words_are_the_grammars_keywords() {
        let pest = include_str!("../qlp.pest");
        let mut grammar: Vec<&str> = pest
            .lines()
            .filter(|l| l.starts_with("kw_"))
            .filter_map(|l| l.split('"').nth(1))
            .collect();
        let mut words = super::WORDS.to_vec();
        grammar.sort_unstable();
        words.sort_unstable();
        assert_eq!(words, grammar);
    }
}
