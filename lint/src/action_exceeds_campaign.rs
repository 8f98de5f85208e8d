//! A rule whose action is stronger than its campaign allows.
//!
//! ## What it does
//! Reports rules whose most severe action exceeds their campaign's
//! declared `max_action`.
//!
//! ## Why is this bad?
//! A campaign's mandate bounds what its rules may do: a rumour-labelling
//! campaign does not ban accounts. Exceeding it is usually a copy-paste slip.
//!
//! ## Example
//! ```qlp
//! campaign rumours { title: "辟谣" max_action: remove }
//! rule rumour(c: Content) { campaign: rumours when: c.reports > 10 then: ban }
//! ```
//!
//! Use instead:
//! ```qlp
//! rule rumour(c: Content) { campaign: rumours when: c.reports > 10 then: remove }
//! ```

use super::{LintContext, LintHit};

pub(super) fn check(cx: &LintContext<'_>, hits: &mut Vec<LintHit>) {
    for rule in &cx.program.rules {
        let Some(campaign) = rule.campaign.and_then(|c| cx.program.campaign(c)) else {
            continue;
        };
        let (Some(max), Some(severity)) = (campaign.max_action, rule.severity()) else {
            continue;
        };
        if severity > max {
            hits.push(
                LintHit::new(
                    rule.location.file,
                    rule.location.span,
                    format!(
                        "rule `{}` can `{}`, but campaign `{}` allows at most `{}`",
                        rule.name,
                        severity.as_str(),
                        campaign.name,
                        max.as_str()
                    ),
                )
                .help("weaken the action, or raise the campaign's `max_action` if its mandate covers it"),
            );
        }
    }
}
