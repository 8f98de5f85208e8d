//! A bidirectional control character in the policy text.
//!
//! ## What it does
//! Reports Unicode bidirectional controls (U+202A–U+202E, U+2066–U+2069,
//! U+200E, U+200F) anywhere in a policy file.
//!
//! ## Why is this bad?
//! They reorder how text is displayed, so what a reviewer reads differs from
//! what the compiler sees ("Trojan Source"): a keyword or a condition can
//! hide in plain sight.
//!
//! ## Example
//! A reason string containing U+202E shows its words reversed in review tools.
//!
//! Use instead: remove the control characters.

use qlp_grammar::{FileId, Span};

use super::{LintContext, LintHit};

fn is_bidi(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
}

pub(super) fn check(cx: &LintContext<'_>, hits: &mut Vec<LintHit>) {
    for (file, source) in cx.program.sources.files() {
        for (offset, c) in source.text.char_indices().filter(|(_, c)| is_bidi(*c)) {
            hits.push(
                LintHit::new(
                    FileId(file.0),
                    Span::new(offset, offset + c.len_utf8()),
                    format!("bidirectional control character U+{:04X}", c as u32),
                )
                .help("it changes how the text around it is displayed; remove it"),
            );
        }
    }
}
