//! A constant that nothing uses.
//!
//! ## What it does
//! Reports `const` declarations whose name appears in no expression.
//!
//! ## Why is this bad?
//! A threshold that is declared but not used suggests a rule compares with a
//! literal instead, so changing the constant changes nothing.
//!
//! ## Example
//! ```qlp
//! const ADULT = 18
//! rule minor(c: Content) { when: (c.author.age ?? 99) < 18 then: review }
//! ```
//!
//! Use instead:
//! ```qlp
//! const ADULT = 18
//! rule minor(c: Content) { when: (c.author.age ?? 99) < ADULT then: review }
//! ```

use super::{item_deletion, names_used, LintContext, LintHit};

pub(super) fn check(cx: &LintContext<'_>, hits: &mut Vec<LintHit>) {
    let program = cx.program;
    let used: std::collections::HashSet<String> = program.files.iter().flat_map(names_used).collect();
    for def in &program.consts {
        if !used.contains(&def.name) {
            hits.push(
                LintHit::new(
                    def.location.file,
                    def.location.span,
                    format!("constant `{}` is never used", def.name),
                )
                .help("use it in a condition or remove it")
                .fix(item_deletion(program, def.location.file, def.location.span)),
            );
        }
    }
}
