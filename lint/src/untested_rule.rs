//! A rule that no test shows firing.
//!
//! ## What it does
//! Reports rules that no `test` block expects to fire, by name or as the
//! rule that decides an expected verdict (`expect verdict: block`).
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
use qlp_compiler::outcome::Outcome;
use qlp_compiler::policy_test::step_outcomes;
use qlp_compiler::program::{Expectation, RuleId};

pub(super) fn check(cx: &LintContext<'_>, hits: &mut Vec<LintHit>) {
    let program = cx.program;
    let mut fired = vec![false; program.rules.len()];
    let mut mark = |rule: RuleId| {
        if let Some(f) = fired.get_mut(rule.index()) {
            *f = true;
        }
    };
    for test in &program.tests {
        let mut outcomes: Option<Vec<Outcome>> = None;
        for (step, (expectation, _)) in test
            .steps
            .iter()
            .enumerate()
            .flat_map(|(i, s)| s.expectations.iter().map(move |e| (i, e)))
        {
            match expectation {
                Expectation::Fires(rules) => rules.iter().copied().for_each(&mut mark),
                // `expect verdict: block` shows the rules that decide the
                // verdict firing: those the interpreter fires on the test's
                // record with that severity.
                Expectation::Verdict(Some(verdict)) => {
                    let outcomes = outcomes.get_or_insert_with(|| step_outcomes(program, test));
                    let Some(outcome) = outcomes.get(step) else { continue };
                    outcome
                        .fired
                        .iter()
                        .copied()
                        .filter(|id| program.rule(*id).and_then(|r| r.severity()) == Some(*verdict))
                        .for_each(&mut mark);
                }
                _ => {}
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
