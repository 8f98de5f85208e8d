//! A rule that no test shows firing.
//!
//! ## What it does
//! Reports rules that no `test` block expects to fire.
//!
//! ## Why is this bad?
//! A rule nobody has seen fire may never fire (a typo in a keyword, a wrong
//! field), and a change that breaks it goes unnoticed.
//!
//! ## Example
//! ```qlp
//! rule spam(c: Content) { when: c.reports > 100 then: review }
//! ```
//!
//! Use instead: add a test that fires it, and one near miss that does not.
//! ```qlp
//! test "many reports" { given Content { reports: 500 } expect spam }
//! test "a few reports" { given Content { reports: 5 } expect not spam }
//! ```

use super::{LintContext, LintHit};
use crate::program::Expectation;

pub(super) fn check(cx: &LintContext<'_>, hits: &mut Vec<LintHit>) {
    let mut fired = vec![false; cx.program.rules.len()];
    for test in &cx.program.tests {
        for (expectation, _) in &test.expectations {
            if let Expectation::Fires(rules) = expectation {
                for rule in rules {
                    if let Some(f) = fired.get_mut(rule.index()) {
                        *f = true;
                    }
                }
            }
        }
    }
    for (rule, fired) in cx.program.rules.iter().zip(fired) {
        if !fired {
            hits.push(
                LintHit::new(
                    rule.location.file,
                    rule.location.span,
                    format!("no test shows rule `{}` firing", rule.name),
                )
                .help(format!("add `test \"...\" {{ given ... expect {} }}`", rule.name)),
            );
        }
    }
}
