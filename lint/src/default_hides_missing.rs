//! A default for a missing value that makes the condition hold.
//!
//! ## What it does
//! Reports comparisons like `(c.author.age ?? 0) < 18`, where the default
//! given for a missing value itself satisfies the comparison.
//!
//! ## Why is this bad?
//! Every record whose value is unknown is treated as a match: with age
//! unknown, every author counts as a minor and the rule fires on all of them.
//!
//! ## Example
//! ```qlp
//! rule minor(c: Content) { when: (c.author.age ?? 0) < 18 then: block }
//! ```
//!
//! Use instead: choose a default that does not match, or say so explicitly.
//! ```qlp
//! rule minor(c: Content) { when: c.author.age is some and c.author.age < 18 then: block }
//! ```

use super::unreachable_rule::number;
use super::{bodies, walk, LintContext, LintHit};
use qlp_compiler::program::{CmpOp, TExprKind};

fn holds(op: CmpOp, a: f64, b: f64) -> bool {
    match op {
        CmpOp::Eq => a == b,
        CmpOp::Ne => a != b,
        CmpOp::Lt => a < b,
        CmpOp::Le => a <= b,
        CmpOp::Gt => a > b,
        CmpOp::Ge => a >= b,
    }
}

pub(super) fn check(cx: &LintContext<'_>, hits: &mut Vec<LintHit>) {
    for (file, body) in bodies(cx.program) {
        walk(body, &mut |e| {
            let TExprKind::Compare(op, _, a, b) = &e.kind else {
                return;
            };
            let (default, bound, swapped) = match (&a.kind, &b.kind) {
                (TExprKind::Coalesce(_, d), _) => (number(d), number(b), false),
                (_, TExprKind::Coalesce(_, d)) => (number(d), number(a), true),
                _ => return,
            };
            let (Some(default), Some(bound)) = (default, bound) else {
                return;
            };
            let satisfied = if swapped {
                holds(*op, bound, default)
            } else {
                holds(*op, default, bound)
            };
            if satisfied {
                hits.push(
                    LintHit::new(file, e.span, "a missing value satisfies this comparison")
                        .help("the default after `??` makes records with the value unknown match; use a default that does not match, or test `is some` first"),
                );
            }
        });
    }
}
