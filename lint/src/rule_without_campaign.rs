//! A rule that belongs to no campaign.
//!
//! ## What it does
//! Reports rules without `campaign:`.
//!
//! ## Why is this bad?
//! Decisions name the campaign behind each action, for reviewers and
//! auditors; a rule without one has no period and no mandate on record.
//!
//! ## Example
//! ```qlp
//! rule spam(c: Content) { when: c.reports > 100 then: review }
//! ```
//!
//! Use instead:
//! ```qlp
//! rule spam(c: Content) { campaign: traffic_2022 when: c.reports > 100 then: review }
//! ```

use super::{LintContext, LintHit};

pub(super) fn check(cx: &LintContext<'_>, hits: &mut Vec<LintHit>) {
    for rule in &cx.program.rules {
        if rule.campaign.is_none() {
            hits.push(
                LintHit::new(
                    rule.location.file,
                    rule.location.span,
                    format!("rule `{}` has no campaign", rule.name),
                )
                .help("add `campaign: NAME` so decisions say which action the rule enforces"),
            );
        }
    }
}
