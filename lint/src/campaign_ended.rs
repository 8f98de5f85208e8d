//! A campaign whose active period is over.
//!
//! ## What it does
//! Reports campaigns whose `active` period ended before today.
//!
//! ## Why is this bad?
//! Its rules never fire again. Keeping them is fine for audits of past
//! decisions, but it is worth knowing that they enforce nothing now.
//!
//! ## Example
//! ```qlp
//! campaign spring_2021 { title: "春节" active: 2021-02-01 .. 2021-03-05 }
//! ```
//!
//! Use instead: move finished campaigns to an archive directory that only
//! audits load, or suppress this lint with a reason.

use super::{LintContext, LintHit};

pub(super) fn check(cx: &LintContext<'_>, hits: &mut Vec<LintHit>) {
    for campaign in &cx.program.campaigns {
        if let Some((_, end)) = campaign.active {
            if end <= cx.today {
                hits.push(
                    LintHit::new(
                        campaign.location.file,
                        campaign.location.span,
                        format!(
                            "campaign `{}` ended on {}; its rules no longer fire",
                            campaign.name,
                            qlp_grammar::time::format_time(end - 1).get(..10).unwrap_or("")
                        ),
                    )
                    .help("archive it, or extend its period if the action continues"),
                );
            }
        }
    }
}
