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

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound::{Excluded, Unbounded};

use super::{LintContext, LintHit};
use qlp_grammar::ast::{Expr, Item, RuleItem};
use qlp_grammar::print::print_expr;

pub(super) fn check(cx: &LintContext<'_>, hits: &mut Vec<LintHit>) {
    let program = cx.program;
    // Each rule's condition as written (the first rule of its name in its
    // file), found in one pass: a search per rule made 20,000 rules take
    // minutes.
    let mut written: HashMap<(usize, &str), &Expr> = HashMap::new();
    for (file, ast) in program.files.iter().enumerate() {
        for item in &ast.items {
            let Item::Rule(rule) = item else { continue };
            let when = rule.items.iter().find_map(|i| match i {
                RuleItem::When(e) => Some(e),
                _ => None,
            });
            if let Some(when) = when {
                written.entry((file, rule.name.name.as_str())).or_insert(when);
            }
        }
    }
    // Rules of one record type and campaign whose conditions are the same
    // (by syntax: spans are ignored by equality), grouped by their printed
    // form first, then compared: each group in rule order.
    let mut groups: HashMap<_, Vec<Vec<(usize, &Expr)>>> = HashMap::new();
    for (i, rule) in program.rules.iter().enumerate() {
        let Some(&when) = written.get(&(rule.location.file.0 as usize, rule.name.as_str())) else {
            continue;
        };
        let classes = groups
            .entry((rule.record, rule.campaign, print_expr(when)))
            .or_default();
        match classes
            .iter_mut()
            .find(|class| class.first().is_some_and(|(_, e)| *e == when))
        {
            Some(class) => class.push((i, when)),
            None => classes.push(vec![(i, when)]),
        }
    }
    // A rule is shadowed by the first rule of its class that is more
    // severe, or as severe and earlier: found from the first rule of each
    // severity, so that a class of thousands is not scanned per rule.
    let severity = |i: usize| program.rules.get(i).and_then(|r| r.severity());
    let mut shadowed: Vec<(usize, usize)> = Vec::new();
    for class in groups.values().flatten() {
        let mut first: BTreeMap<_, usize> = BTreeMap::new();
        for &(j, _) in class {
            first.entry(severity(j)).or_insert(j);
        }
        for &(i, _) in class {
            let own = severity(i);
            let above = first.range((Excluded(own), Unbounded)).map(|(_, &j)| j).min();
            let same = first.get(&own).copied().filter(|&j| j < i);
            if let Some(j) = above.into_iter().chain(same).min() {
                shadowed.push((i, j));
            }
        }
    }
    shadowed.sort_unstable();
    for (i, j) in shadowed {
        let (Some(rule), Some(other)) = (program.rules.get(i), program.rules.get(j)) else {
            continue;
        };
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
    }
}
