//! A campaign without a title.
//!
//! ## What it does
//! Reports campaigns without `title:`.
//!
//! ## Why is this bad?
//! Decisions carry the campaign's title to users and auditors; an internal
//! name like `news_2022` tells them nothing.
//!
//! ## Example
//! ```qlp
//! campaign news_2022 { active: 2022-03-17 .. 2022-12-31 }
//! ```
//!
//! Use instead:
//! ```qlp
//! campaign news_2022 { title: "清朗·规范网络传播秩序" active: 2022-03-17 .. 2022-12-31 }
//! ```

use super::{LintContext, LintHit};

pub(super) fn check(cx: &LintContext<'_>, hits: &mut Vec<LintHit>) {
    for campaign in &cx.program.campaigns {
        if campaign.title.as_deref().is_none_or(|t| t.trim().is_empty()) {
            hits.push(
                LintHit::new(
                    campaign.location.file,
                    campaign.location.span,
                    format!("campaign `{}` has no title", campaign.name),
                )
                .help("add `title: \"...\"`: decisions show it"),
            );
        }
    }
}
