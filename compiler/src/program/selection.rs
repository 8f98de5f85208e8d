//! Choosing which rules run: `--campaign`, `--rule`, `--all-active`.

use super::{Program, RuleDef};

/// Which rules run, and whether campaign periods count: what `qlp eval`,
/// `qlp backtest` and embedders choose before compiling a program.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// Run only the rules of these campaigns (and those named in `rules`).
    pub campaigns: Vec<String>,
    /// Run only these rules (and those of the campaigns in `campaigns`).
    pub rules: Vec<String>,
    /// Every campaign is active whatever the time (replaying old data).
    pub all_active: bool,
    /// Names the program lacks are ignored rather than an error (comparing
    /// two versions of the policies, where a rule may be new).
    pub lenient: bool,
}

impl Selection {
    /// Whether it changes nothing.
    pub fn is_everything(&self) -> bool {
        self.campaigns.is_empty() && self.rules.is_empty() && !self.all_active
    }
}

impl Program {
    /// Applies a selection: rules left out stop running, and with
    /// `all_active` no campaign has a period. A name that is neither a
    /// campaign nor a rule is an error naming what exists.
    pub fn select(&mut self, selection: &Selection) -> Result<(), String> {
        for name in selection.campaigns.iter().filter(|_| !selection.lenient) {
            if !self.campaigns.iter().any(|c| c.name == *name) {
                let names: Vec<&str> = self.campaigns.iter().map(|c| c.name.as_str()).collect();
                return Err(format!(
                    "no campaign `{name}`; the policies declare: {}",
                    names.join(", ")
                ));
            }
        }
        for name in selection.rules.iter().filter(|_| !selection.lenient) {
            if !self.rules.iter().any(|r| r.name == *name) {
                let hint = crate::resolve::suggest(name, self.rules.iter().map(|r| r.name.as_str()))
                    .map(|s| format!(" (did you mean `{s}`?)"))
                    .unwrap_or_default();
                return Err(format!("no rule `{name}`{hint}"));
            }
        }
        if !selection.campaigns.is_empty() || !selection.rules.is_empty() {
            for rule in &mut self.rules {
                let in_campaign = rule
                    .campaign
                    .and_then(|id| self.campaigns.get(id.index()))
                    .is_some_and(|c| selection.campaigns.contains(&c.name));
                rule.selected = in_campaign || selection.rules.contains(&rule.name);
            }
        }
        if selection.all_active {
            for campaign in &mut self.campaigns {
                campaign.active = None;
            }
        }
        Ok(())
    }

    /// The zone of a clock built-in: the set's, or one a call named.
    pub fn clock_zone(&self, zone: Option<u32>) -> &qlp_grammar::time::Zone {
        zone.and_then(|i| self.zones.get(i as usize)).unwrap_or(&self.zone)
    }

    /// Whether `rule` runs at `now`: it is selected and its campaign is active.
    pub fn rule_active(&self, rule: &RuleDef, now: i64) -> bool {
        rule.selected && crate::outcome::campaign_active(self, rule.campaign, now)
    }
}
