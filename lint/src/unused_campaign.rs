//! A campaign that no rule belongs to.
//!
//! ## What it does
//! Reports campaigns that no rule or exemption names.
//!
//! ## Why is this bad?
//! A campaign without rules enforces nothing; usually its rules name another
//! campaign by mistake.
//!
//! ## Example
//! ```qlp
//! campaign minors_2022 { title: "暑期未成年人" }
//! ```
//!
//! Use instead: add `campaign: minors_2022` to its rules, or remove it.

use super::{item_deletion, LintContext, LintHit};

pub(super) fn check(cx: &LintContext<'_>, hits: &mut Vec<LintHit>) {
    let program = cx.program;
    for (index, campaign) in program.campaigns.iter().enumerate() {
        let used = program
            .rules
            .iter()
            .any(|r| r.campaign.map(|c| c.index()) == Some(index))
            || program.exemptions.iter().any(|e| {
                e.campaign.map(|c| c.index()) == Some(index) || e.cancels_campaigns.iter().any(|c| c.index() == index)
            });
        if !used {
            hits.push(
                LintHit::new(
                    campaign.location.file,
                    campaign.location.span,
                    format!("campaign `{}` has no rules", campaign.name),
                )
                .help("give its rules `campaign: ...`, or remove it")
                .fix(item_deletion(program, campaign.location.file, campaign.location.span)),
            );
        }
    }
}
