//! The pre-passes before pest: splitting a file into declarations (the parser's
//! error recovery) and bounding nesting.

use super::*;

pub(super) struct Chunk {
    pub(super) start: usize,
    pub(super) end: usize,
    /// Whether it is a test (`test "..." {`).
    pub(super) test: bool,
}

/// Splits a file at lines that start with a declaration: a declaration word
/// followed by a name or a string (`rule r(`, `test "..."`, `import "..."`),
/// outside strings and comments. Each chunk is parsed on its own, which is
/// the parser's error recovery. Brackets do not matter, so a missing `}` or
/// `)` costs only its own declaration.
pub(super) fn split_items(text: &str) -> Vec<Chunk> {
    let tokens = scan::tokens(text);
    let mut chunks = Vec::new();
    let mut start = 0;
    let mut test = false;
    let mut at_line_start = true;
    for (i, token) in tokens.iter().enumerate() {
        if token.kind == TokenKind::Newline {
            at_line_start = true;
            continue;
        }
        let next = tokens.get(i + 1);
        let declares = token.kind == TokenKind::Word
            && DECLARATION_WORDS.contains(&token.text)
            && next.is_some_and(|n| {
                n.kind == TokenKind::Str || (n.kind == TokenKind::Word && !scan::OPERATOR_WORDS.contains(&n.text))
            });
        if at_line_start && declares {
            if token.start > start {
                chunks.push(Chunk {
                    start,
                    end: token.start,
                    test,
                });
                start = token.start;
            }
            test = token.text == "test" && next.is_some_and(|n| n.kind == TokenKind::Str);
        }
        at_line_start = false;
    }
    chunks.push(Chunk {
        start,
        end: text.len(),
        test,
    });
    chunks
}

/// One open bracket (or the whole item) in the nesting pre-scan.
struct Level {
    bracket: char,
    pub(super) start: usize,
    /// Commas directly inside: list elements so far, minus one.
    commas: u32,
    /// `if` and `let` whose expression is still open at this level.
    open_words: u32,
    /// Prefix operators (`not`, `-`) still waiting for their operand.
    prefix_run: u32,
}

impl Level {
    fn new(bracket: char, start: usize) -> Level {
        Level {
            bracket,
            start,
            commas: 0,
            open_words: 0,
            prefix_run: 0,
        }
    }
}

/// Rejects input nested deeper than the parser and later stages can take,
/// before pest sees it. Nesting is measured, not operators counted: brackets
/// by depth, `if`/`let` by how many are open at once (a bracket or a comma
/// closes them), prefix operators by how many wait for one operand. A date
/// or a subtraction adds nothing.
pub(super) fn check_nesting(text: &str, offset: usize, file: FileId) -> Option<Diagnostic> {
    let is_keyword_set = text.trim_start().starts_with("keywords");
    let mut levels = vec![Level::new(' ', 0)];
    let mut previous: Option<scan::Token<'_>> = None;
    for token in scan::tokens(text) {
        let at = token.start;
        let len = token.text.len().max(1);
        match token.kind {
            TokenKind::Newline => continue,
            TokenKind::Punct(c @ ('(' | '[' | '{')) => {
                if levels.len() > MAX_BRACKET_DEPTH as usize {
                    return Some(too_deep(file, offset + at, len));
                }
                levels.push(Level::new(c, at));
            }
            TokenKind::Punct(')' | ']' | '}') => {
                if levels.len() > 1 {
                    levels.pop();
                }
                // The bracket was an operand: prefix operators before it are done.
                if let Some(level) = levels.last_mut() {
                    level.prefix_run = 0;
                }
            }
            TokenKind::Punct(',') => {
                if let Some(level) = levels.last_mut() {
                    level.commas += 1;
                    level.open_words = 0;
                    level.prefix_run = 0;
                    if level.bracket == '[' && !is_keyword_set && level.commas >= MAX_LIST_ELEMENTS {
                        return Some(
                            Diagnostic::error(
                                "qlp::too_complex",
                                file,
                                Span::new(offset + level.start, offset + level.start + 1),
                                format!("this list has more than {MAX_LIST_ELEMENTS} elements"),
                            )
                            .with_label("the list starts here")
                            .with_help("keep long lists of words in a keyword set (`keywords NAME = file(\"...\")`)"),
                        );
                    }
                }
            }
            TokenKind::Punct('-') if is_prefix_position(previous.as_ref()) => {
                if let Some(level) = levels.last_mut() {
                    level.prefix_run += 1;
                }
            }
            TokenKind::Word if token.text == "not" => {
                if let Some(level) = levels.last_mut() {
                    level.prefix_run += 1;
                }
            }
            TokenKind::Word if token.text == "if" || token.text == "let" => {
                if let Some(level) = levels.last_mut() {
                    level.open_words += 1;
                }
            }
            TokenKind::Word | TokenKind::Number | TokenKind::Str => {
                if !scan::OPERATOR_WORDS.contains(&token.text) {
                    if let Some(level) = levels.last_mut() {
                        level.prefix_run = 0;
                    }
                }
            }
            TokenKind::Punct(_) => {}
        }
        let nesting: u32 = levels.iter().map(|l| l.open_words + l.prefix_run).sum();
        if nesting as usize > MAX_NESTING_WORDS {
            return Some(too_deep(file, offset + at, len));
        }
        previous = Some(token);
    }
    None
}

/// Whether a `-` after `previous` is a prefix minus: at the start, after an
/// opening bracket, a comma, an operator or an operator word.
fn is_prefix_position(previous: Option<&scan::Token<'_>>) -> bool {
    match previous {
        None => true,
        Some(token) => match token.kind {
            TokenKind::Word => scan::OPERATOR_WORDS.contains(&token.text),
            TokenKind::Number | TokenKind::Str => false,
            TokenKind::Punct(c) => !matches!(c, ')' | ']' | '}'),
            TokenKind::Newline => true,
        },
    }
}

pub(super) fn too_deep(file: FileId, at: usize, len: usize) -> Diagnostic {
    Diagnostic::error(
        "qlp::too_deep",
        file,
        Span::new(at, at + len),
        "this declaration is nested too deeply",
    )
    .with_label("nesting limit reached here")
    .with_help("split the condition into `fn` helpers or `let` bindings")
}
