//! A rule that another rule with the same condition makes redundant.
//!
//! ## What it does
//! Reports a rule whose condition is the same as another rule's (for the
//! same record type), when the other rule's action is at least as severe.
//!
//! ## Why is this bad?
//! The weaker rule never changes a verdict; it is usually a copy that was
//! meant to be edited, so one intended condition is missing.
//!
//! ## Example
//! ```qlp
//! rule a(c: Content) { when: c.reports > 100 then: remove }
//! rule b(c: Content) { when: c.reports > 100 then: review }
//! ```
//!
//! Use instead: give `b` its own condition, or delete it.

use super::{LintContext, LintHit};
use qlp_grammar::ast::{Item, RuleItem};

pub(super) fn check(cx: &LintContext<'_>, hits: &mut Vec<LintHit>) {
    let program = cx.program;
    // Conditions compare by syntax (spans are ignored by equality).
    let condition_of = |file: qlp_grammar::FileId, name: &str| {
        program.files.get(file.0 as usize).and_then(|ast| {
            ast.items.iter().find_map(|item| match item {
                Item::Rule(r) if r.name.name == name => r.items.iter().find_map(|i| match i {
                    RuleItem::When(e) => Some(e.clone()),
                    _ => None,
                }),
                _ => None,
            })
        })
    };
    let conditions: Vec<_> = program
        .rules
        .iter()
        .map(|r| condition_of(r.location.file, &r.name))
        .collect();
    for (i, rule) in program.rules.iter().enumerate() {
        for (j, other) in program.rules.iter().enumerate() {
            if i == j || rule.record != other.record || rule.campaign != other.campaign {
                continue;
            }
            let (Some(a), Some(b)) = (
                conditions.get(i).cloned().flatten(),
                conditions.get(j).cloned().flatten(),
            ) else {
                continue;
            };
            let weaker = rule.severity() < other.severity() || (rule.severity() == other.severity() && i > j);
            if a == b && weaker {
                hits.push(
                    LintHit::new(
                        rule.location.file,
                        rule.when.span,
                        format!("rule `{}` is shadowed by `{}`", rule.name, other.name),
                    )
                    .help(format!(
                        "`{}` has the same condition and an action at least as severe",
                        other.name
                    )),
                );
                break;
            }
        }
    }
}
