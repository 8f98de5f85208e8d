//! A campaign that starts more than a year from today.
//!
//! ## What it does
//! Reports campaigns whose `active` period starts more than 365 days after today.
//!
//! ## Why is this bad?
//! The rules are dead until then; this is usually a typo in the year
//! (`2032` for `2022`).
//!
//! ## Example
//! ```qlp
//! campaign summer { title: "暑期" active: 2032-07-01 .. 2032-08-31 }
//! ```
//!
//! Use instead:
//! ```qlp
//! campaign summer { title: "暑期" active: 2022-07-01 .. 2022-08-31 }
//! ```

use super::{LintContext, LintHit};

const YEAR: i64 = 365 * 86_400 * 1_000_000;

pub(super) fn check(cx: &LintContext<'_>, hits: &mut Vec<LintHit>) {
    for campaign in &cx.program.campaigns {
        if let Some((start, _)) = campaign.active {
            if start > cx.today.saturating_add(YEAR) {
                hits.push(
                    LintHit::new(
                        campaign.location.file,
                        campaign.location.span,
                        format!(
                            "campaign `{}` only starts on {}",
                            campaign.name,
                            qlp_grammar::time::format_time(start).get(..10).unwrap_or("")
                        ),
                    )
                    .help("check the year of its period"),
                );
            }
        }
    }
}
