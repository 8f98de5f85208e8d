//! Comparing floats with `==` or `!=`.
//!
//! ## What it does
//! Reports `==` and `!=` between `float` values.
//!
//! ## Why is this bad?
//! Classifier scores and amounts are computed values: `0.1 + 0.2 == 0.3` is
//! false. A rule that tests a float for equality fires at random.
//!
//! ## Example
//! ```qlp
//! rule exact(c: Content) { when: c.tips_total == 99.9 then: review }
//! ```
//!
//! Use instead:
//! ```qlp
//! rule exact(c: Content) { when: abs(c.tips_total - 99.9) < 0.005 then: review }
//! ```

use super::{bodies, walk, LintContext, LintHit};
use qlp_compiler::program::{CmpOp, Scalar, TExprKind};

pub(super) fn check(cx: &LintContext<'_>, hits: &mut Vec<LintHit>) {
    for (file, body) in bodies(cx.program) {
        walk(body, &mut |e| {
            if let TExprKind::Compare(op @ (CmpOp::Eq | CmpOp::Ne), Scalar::Float, ..) = &e.kind {
                let word = if *op == CmpOp::Eq { "==" } else { "!=" };
                hits.push(
                    LintHit::new(file, e.span, format!("`{word}` on floats is unreliable"))
                        .help("compare with a tolerance (`abs(a - b) < 0.001`) or with `<` / `>`"),
                );
            }
        });
    }
}
