//! A function that nothing calls.
//!
//! ## What it does
//! Reports `fn` declarations that no rule, exemption or other function calls.
//!
//! ## Why is this bad?
//! Dead helpers mislead readers into thinking they shape decisions, and they
//! drift out of date with the schema.
//!
//! ## Example
//! ```qlp
//! fn is_night(c: Content) -> bool = false
//! ```
//!
//! Use instead: call it from a rule, or delete it.
//! ```qlp
//! rule night_live(c: Content) { when: is_night(c) and c.kind == livestream then: review }
//! ```

use super::{bodies, item_deletion, walk, LintContext, LintHit};
use qlp_compiler::program::TExprKind;

pub(super) fn check(cx: &LintContext<'_>, hits: &mut Vec<LintHit>) {
    let program = cx.program;
    let mut called = vec![false; program.fns.len()];
    for (_, body) in bodies(program) {
        walk(body, &mut |e| {
            if let TExprKind::Call(id, _) = &e.kind {
                if let Some(c) = called.get_mut(id.index()) {
                    *c = true;
                }
            }
        });
    }
    for (def, called) in program.fns.iter().zip(called) {
        if !called {
            hits.push(
                LintHit::new(
                    def.location.file,
                    def.location.span,
                    format!("function `{}` is never called", def.name),
                )
                .help("call it from a rule or remove it")
                .fix(item_deletion(program, def.location.file, def.location.span)),
            );
        }
    }
}
