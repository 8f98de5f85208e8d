//! A condition that is always true.
//!
//! ## What it does
//! Reports rules whose condition is constant `true` (for example `when: true`,
//! or `x is some or x is none`).
//!
//! ## Why is this bad?
//! The rule fires on every record of its type: usually a draft left in, and
//! with a strong action it acts on all content.
//!
//! ## Example
//! ```qlp
//! rule everything(c: Content) { when: true then: review }
//! ```
//!
//! Use instead: write the condition the campaign is about.
//! ```qlp
//! rule live_review(c: Content) { when: c.kind == livestream then: review }
//! ```

use super::unreachable_rule::{fold, path};
use super::{LintContext, LintHit};
use qlp_compiler::program::{TExpr, TExprKind};

/// `x is some or x is none` on the same path, anywhere in an or-chain.
fn covers_both(expr: &TExpr) -> bool {
    let mut atoms = Vec::new();
    disjuncts(expr, &mut atoms);
    let mut tested: Vec<(String, bool)> = Vec::new();
    for atom in atoms {
        if let TExprKind::IsSome(inner, negated) = &atom.kind {
            let Some(key) = path(inner) else { continue };
            if tested.iter().any(|(k, n)| *k == key && *n != *negated) {
                return true;
            }
            tested.push((key, *negated));
        }
    }
    false
}

fn disjuncts<'e>(expr: &'e TExpr, out: &mut Vec<&'e TExpr>) {
    match &expr.kind {
        TExprKind::Or(a, b) => {
            disjuncts(a, out);
            disjuncts(b, out);
        }
        _ => out.push(expr),
    }
}

pub(super) fn check(cx: &LintContext<'_>, hits: &mut Vec<LintHit>) {
    for rule in &cx.program.rules {
        if fold(&rule.when) == Some(true) || covers_both(&rule.when) {
            hits.push(
                LintHit::new(
                    rule.location.file,
                    rule.when.span,
                    format!("rule `{}` fires on every record", rule.name),
                )
                .help("its condition is always true"),
            );
        }
    }
}
