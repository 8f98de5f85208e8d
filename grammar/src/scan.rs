//! A small lexer for the parser's pre-passes (splitting a file into items,
//! its error recovery, and bounding nesting before pest sees the text) and
//! for `fmt`'s alignment of source and printed tokens. It knows code,
//! strings and comments, and nothing of the grammar beyond that.

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// An identifier or a word of the language (`rule`, `and`, `c`, `直播`).
    Word,
    /// A token starting with a digit: numbers, dates, durations (`2022`, `7d`).
    Number,
    /// A string literal, terminated or not.
    Str,
    /// Any other character of code.
    Punct(char),
    /// The end of a line.
    Newline,
}

/// One token and its byte range.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Token<'t> {
    pub kind: TokenKind,
    pub start: usize,
    pub text: &'t str,
}

/// The tokens of `text`; comments and whitespace other than newlines are
/// skipped. A string ends at its closing quote or at the end of its line.
pub(crate) fn tokens(text: &str) -> Vec<Token<'_>> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((start, c)) = chars.next() {
        let kind = match c {
            '\n' => TokenKind::Newline,
            c if c.is_whitespace() || c == '\u{FEFF}' => continue,
            '/' if bytes.get(start + 1) == Some(&b'/') => {
                while chars.next_if(|(_, c)| *c != '\n').is_some() {}
                continue;
            }
            '"' => {
                while let Some((_, c)) = chars.next_if(|(_, c)| *c != '\n') {
                    match c {
                        '\\' => {
                            chars.next_if(|(_, c)| *c != '\n');
                        }
                        '"' => break,
                        _ => {}
                    }
                }
                TokenKind::Str
            }
            c if c.is_alphanumeric() || c == '_' => {
                while chars.next_if(|(_, c)| c.is_alphanumeric() || *c == '_').is_some() {}
                if c.is_ascii_digit() {
                    TokenKind::Number
                } else {
                    TokenKind::Word
                }
            }
            c => TokenKind::Punct(c),
        };
        let end = chars.peek().map_or(text.len(), |(i, _)| *i);
        out.push(Token {
            kind,
            start,
            text: text.get(start..end).unwrap_or(""),
        });
    }
    out
}

/// Words after which a `-` is a prefix minus, not a subtraction.
pub(crate) const OPERATOR_WORDS: &[&str] = &[
    "and", "or", "not", "in", "is", "if", "then", "else", "let", "matches", "has_any",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_and_comments_hide_their_contents() {
        let kinds: Vec<TokenKind> = tokens("a \"b // c\" // d (\n-1 2022-01-01")
            .iter()
            .map(|t| t.kind)
            .collect();
        assert_eq!(
            kinds,
            vec![
                TokenKind::Word,
                TokenKind::Str,
                TokenKind::Newline,
                TokenKind::Punct('-'),
                TokenKind::Number,
                TokenKind::Number,
                TokenKind::Punct('-'),
                TokenKind::Number,
                TokenKind::Punct('-'),
                TokenKind::Number,
            ]
        );
    }
}
