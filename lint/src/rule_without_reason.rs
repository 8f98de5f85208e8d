//! A rule or exemption without a reason.
//!
//! ## What it does
//! Reports rules and exemptions without `reason:`.
//!
//! ## Why is this bad?
//! The reason is what the platform shows the user and the reviewer. Without
//! it, an action cannot be explained.
//!
//! ## Example
//! ```qlp
//! rule spam(c: Content) { when: c.reports > 100 then: review }
//! ```
//!
//! Use instead:
//! ```qlp
//! rule spam(c: Content) { when: c.reports > 100 then: review reason: "被大量举报" }
//! ```

use super::{LintContext, LintHit};

pub(super) fn check(cx: &LintContext<'_>, hits: &mut Vec<LintHit>) {
    for rule in &cx.program.rules {
        if rule.reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
            hits.push(
                LintHit::new(
                    rule.location.file,
                    rule.location.span,
                    format!("rule `{}` has no reason", rule.name),
                )
                .help("add `reason: \"...\"`: decisions show it to users and reviewers"),
            );
        }
    }
    for exempt in &cx.program.exemptions {
        if exempt.reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
            hits.push(
                LintHit::new(
                    exempt.location.file,
                    exempt.location.span,
                    format!("exemption `{}` has no reason", exempt.name),
                )
                .help("add `reason: \"...\"` so exempted decisions can be explained"),
            );
        }
    }
}
