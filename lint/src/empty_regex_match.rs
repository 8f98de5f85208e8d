//! A regular expression that matches the empty string.
//!
//! ## What it does
//! Reports `matches` patterns that match `""`, such as `a*` or `(x)?`.
//!
//! ## Why is this bad?
//! A pattern that matches the empty string matches every text: the
//! condition is always true.
//!
//! ## Example
//! ```qlp
//! rule phone(c: Content) { when: c.text matches "[0-9]*" then: review }
//! ```
//!
//! Use instead:
//! ```qlp
//! rule phone(c: Content) { when: c.text matches "1[3-9][0-9]{9}" then: review }
//! ```

use super::{bodies, walk, LintContext, LintHit};
use qlp_compiler::program::TExprKind;

pub(super) fn check(cx: &LintContext<'_>, hits: &mut Vec<LintHit>) {
    for (file, body) in bodies(cx.program) {
        walk(body, &mut |e| {
            if let TExprKind::Matches(_, id) = &e.kind {
                if let Some(regex) = cx.program.regexes.get(id.index()) {
                    if regex.is_match("") {
                        hits.push(
                            LintHit::new(file, e.span, format!("pattern `{}` matches every text", regex.as_str()))
                                .help("it matches the empty string; require at least one character (`+`, not `*`)"),
                        );
                    }
                }
            }
        });
    }
}
