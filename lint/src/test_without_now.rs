//! A test of a campaign with a period that does not set `now`.
//!
//! ## What it does
//! Reports tests that expect a rule to fire, or not to fire, whose campaign
//! has an `active` period, without `now:`.
//!
//! ## Why is this bad?
//! A test's clock defaults to 1970-01-01, before every campaign period, so
//! the rule cannot fire: `expect r` fails for a reason that is not the rule's,
//! and `expect not r` passes whatever the record (`qlp test` fails such a
//! test as vacuous).
//!
//! ## Example
//! ```qlp
//! test "gambling" { given Content { kind: livestream, text: "网赌" } expect live_gambling }
//! ```
//!
//! Use instead:
//! ```qlp
//! test "gambling" { now: 2022-06-01 given Content { kind: livestream, text: "网赌" } expect live_gambling }
//! ```

use qlp_grammar::ast::{Item, TestItem};

use super::{LintContext, LintHit};
use qlp_compiler::program::Expectation;

pub(super) fn check(cx: &LintContext<'_>, hits: &mut Vec<LintHit>) {
    let program = cx.program;
    for test in &program.tests {
        let has_now = program
            .files
            .get(test.location.file.0 as usize)
            .and_then(|ast| {
                ast.items.iter().find_map(|item| match item {
                    Item::Test(t) if t.span.start == test.location.span.start => {
                        Some(t.items.iter().any(|i| matches!(i, TestItem::Now(_))))
                    }
                    _ => None,
                })
            })
            .unwrap_or(true);
        if has_now {
            continue;
        }
        let dated = test.expectations().any(|(e, _)| match e {
            Expectation::Fires(rules) | Expectation::NotFires(rules) => rules.iter().any(|r| {
                program
                    .rule(*r)
                    .and_then(|rule| rule.campaign)
                    .and_then(|c| program.campaign(c))
                    .is_some_and(|c| c.active.is_some())
            }),
            _ => false,
        });
        if dated {
            hits.push(
                LintHit::new(
                    test.location.file,
                    test.location.span,
                    format!("test `{}` has no `now:`", test.name),
                )
                .help("its clock is 1970-01-01, before the campaign's period: add `now: DATE` inside the period"),
            );
        }
    }
}
