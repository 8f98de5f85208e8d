//! A format-checking regular expression without anchors.
//!
//! ## What it does
//! Reports patterns made only of character classes and repetitions (a
//! format, like `[0-9]{6}` or `\d+`) that have neither `^` nor `$`.
//!
//! ## Why is this bad?
//! `matches` finds the pattern anywhere in the text, so `[0-9]{6}` "matches"
//! any text with six digits in it, not a six-digit value.
//!
//! ## Example
//! ```qlp
//! rule bad_code(c: Content) { when: not (c.title matches "[0-9]{6}") then: review }
//! ```
//!
//! Use instead:
//! ```qlp
//! rule bad_code(c: Content) { when: not (c.title matches "^[0-9]{6}$") then: review }
//! ```

use super::{bodies, walk, LintContext, LintHit};
use qlp_compiler::program::TExprKind;

/// Whether a pattern is only classes, escapes and quantifiers.
fn is_format(pattern: &str) -> bool {
    let mut chars = pattern.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        match c {
            '[' => {
                for d in chars.by_ref() {
                    if d == ']' {
                        break;
                    }
                }
                any = true;
            }
            '\\' => {
                chars.next();
                any = true;
            }
            '.' => any = true,
            '{' => {
                for d in chars.by_ref() {
                    if d == '}' {
                        break;
                    }
                }
            }
            '+' | '*' | '?' => {}
            _ => return false,
        }
    }
    any
}

pub(super) fn check(cx: &LintContext<'_>, hits: &mut Vec<LintHit>) {
    for (file, body) in bodies(cx.program) {
        walk(body, &mut |e| {
            if let TExprKind::Matches(_, id) = &e.kind {
                if let Some(regex) = cx.program.regexes.get(id.index()) {
                    let pattern = regex.as_str();
                    if is_format(pattern) && !pattern.starts_with('^') && !pattern.ends_with('$') {
                        hits.push(
                            LintHit::new(
                                file,
                                e.span,
                                format!("pattern `{pattern}` matches anywhere in the text"),
                            )
                            .help(format!("to check the whole value, anchor it: `^{pattern}$`")),
                        );
                    }
                }
            }
        });
    }
}
