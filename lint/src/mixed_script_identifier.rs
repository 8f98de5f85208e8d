//! An identifier that mixes Latin with Cyrillic or Greek letters.
//!
//! ## What it does
//! Reports names that contain Latin letters together with Cyrillic or Greek
//! ones, which look alike (`а` and `a`).
//!
//! ## Why is this bad?
//! Two names that look the same can be different names: a rule may match a
//! different keyword set than the one the reader sees.
//!
//! ## Example
//! ```qlp
//! keywords gаmbling = ["赌博"]   // the first `а` is Cyrillic
//! ```
//!
//! Use instead: write the name in one script.

use qlp_grammar::FileId;

use super::{LintContext, LintHit};

fn scripts(name: &str) -> (bool, bool) {
    let latin = name
        .chars()
        .any(|c| c.is_ascii_alphabetic() || ('\u{00C0}'..='\u{024F}').contains(&c));
    let other = name
        .chars()
        .any(|c| ('\u{0370}'..='\u{03FF}').contains(&c) || ('\u{0400}'..='\u{04FF}').contains(&c));
    (latin, other)
}

pub(super) fn check(cx: &LintContext<'_>, hits: &mut Vec<LintHit>) {
    for (index, ast) in cx.program.files.iter().enumerate() {
        for item in &ast.items {
            let Some(name) = item.name() else { continue };
            if let (true, true) = scripts(&name.name) {
                hits.push(
                    LintHit::new(
                        FileId(index as u32),
                        name.span,
                        format!("`{}` mixes Latin with Cyrillic or Greek letters", name.name),
                    )
                    .help("letters from different scripts can look identical; use one script"),
                );
            }
        }
    }
}
