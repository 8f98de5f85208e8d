//! A keyword set that no rule, exemption or function uses.
//!
//! ## What it does
//! Reports `keywords` declarations that nothing matches against.
//!
//! ## Why is this bad?
//! An unused set is usually a rule that was deleted or never written: the
//! words in it are not enforced, though a reader of the policy thinks they are.
//!
//! ## Example
//! ```qlp
//! keywords gambling_words = ["赌博", "网赌"]
//! rule live(c: Content) { when: c.kind == livestream then: review }
//! ```
//!
//! Use instead:
//! ```qlp
//! keywords gambling_words = ["赌博", "网赌"]
//! rule live_gambling(c: Content) { when: c.text has_any gambling_words then: remove }
//! ```

use super::{bodies, item_deletion, walk, LintContext, LintHit};
use qlp_compiler::program::{Builtin, TExprKind};

pub(super) fn check(cx: &LintContext<'_>, hits: &mut Vec<LintHit>) {
    let program = cx.program;
    let mut used = vec![false; program.keyword_sets.len()];
    for (_, body) in bodies(program) {
        walk(body, &mut |e| match &e.kind {
            TExprKind::HasAny(_, set) | TExprKind::Builtin(Builtin::CountMatches(set), _) => {
                if let Some(u) = used.get_mut(set.index()) {
                    *u = true;
                }
            }
            _ => {}
        });
    }
    for (set, used) in program.keyword_sets.iter().zip(used) {
        if !used {
            let location = set.location;
            hits.push(
                LintHit::new(
                    location.file,
                    location.span,
                    format!("keyword set `{}` is never used", set.name),
                )
                .help("match it in a rule (`c.text has_any ...`) or remove it")
                .fix(item_deletion(program, location.file, location.span)),
            );
        }
    }
}
