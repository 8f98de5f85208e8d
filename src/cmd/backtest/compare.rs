//! `--baseline OLD_DIR`: what a change of the policies changes, decision by
//! decision, on the same records: what a reviewer reads before approving it.

use std::collections::{BTreeMap, HashMap};

use qlp_runtime::Decision;

use qlp_compiler::program::{Program, RecordId};

use super::report::{sample, texts, Sample, Target};

/// The baseline's decision on one line, kept compactly for the comparison.
#[derive(Debug)]
pub struct Old {
    verdict: String,
    /// Names of the rules that fired, sorted.
    fired: Vec<String>,
    /// Names of the campaigns some rule of which fired, sorted.
    campaigns: Vec<String>,
}

impl Old {
    pub fn of(decision: &Decision) -> Old {
        let mut fired: Vec<String> = decision.fired.iter().map(|f| f.rule.clone()).collect();
        fired.sort();
        let mut campaigns: Vec<String> = decision.fired.iter().filter_map(|f| f.campaign.clone()).collect();
        campaigns.sort();
        campaigns.dedup();
        Old {
            verdict: decision.verdict.to_string(),
            fired,
            campaigns,
        }
    }
}

/// How many records went from one verdict to another.
#[derive(Debug, Clone, serde::Serialize)]
pub struct VerdictChange {
    pub from: String,
    pub to: String,
    pub records: usize,
    pub examples: Vec<Sample>,
}

/// One rule's (or campaign's) firings in both versions.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RuleChange {
    /// The rule's name, or the campaign's in [`Comparison::campaigns`].
    pub rule: String,
    /// Records it fired on with the baseline policies, and with the new ones.
    pub baseline_fired: usize,
    pub fired: usize,
    /// Records it fires on now and did not, and the other way round.
    pub started: usize,
    pub stopped: usize,
    pub started_examples: Vec<Sample>,
    pub stopped_examples: Vec<Sample>,
}

/// The decisions of two versions of the policies compared.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Comparison {
    pub baseline: String,
    /// Records both versions decided.
    pub compared: usize,
    /// Of those, records whose verdict or fired rules differ.
    pub changed: usize,
    pub verdict_changes: Vec<VerdictChange>,
    /// Rules whose firings differ, by name (a rule only one version has
    /// fires 0 times in the other).
    pub rules: Vec<RuleChange>,
    /// Campaigns whose firings differ (a campaign fires on a record when
    /// one of its rules does), by name.
    pub campaigns: Vec<RuleChange>,
    /// The baseline measured against the same labels, when there are any.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub baseline_targets: Vec<Target>,
}

/// Compares decisions, as they arrive, with the baseline's.
pub struct Comparer<'a> {
    program: &'a Program,
    record: RecordId,
    old: HashMap<usize, Old>,
    samples: usize,
    comparison: Comparison,
    verdicts: BTreeMap<(String, String), VerdictChange>,
    rules: BTreeMap<String, RuleChange>,
    campaigns: BTreeMap<String, RuleChange>,
}

impl<'a> Comparer<'a> {
    pub fn new(
        program: &'a Program,
        record: RecordId,
        baseline: String,
        old: HashMap<usize, Old>,
        samples: usize,
    ) -> Self {
        let mut rules: BTreeMap<String, RuleChange> = BTreeMap::new();
        let mut campaigns: BTreeMap<String, RuleChange> = BTreeMap::new();
        for decision in old.values() {
            for rule in &decision.fired {
                rules.entry(rule.clone()).or_default().baseline_fired += 1;
            }
            for campaign in &decision.campaigns {
                campaigns.entry(campaign.clone()).or_default().baseline_fired += 1;
            }
        }
        Comparer {
            program,
            record,
            old,
            samples,
            comparison: Comparison {
                baseline,
                compared: 0,
                changed: 0,
                verdict_changes: Vec::new(),
                rules: Vec::new(),
                campaigns: Vec::new(),
                baseline_targets: Vec::new(),
            },
            verdicts: BTreeMap::new(),
            rules,
            campaigns,
        }
    }

    pub fn add(&mut self, line: usize, id: Option<&str>, decision: &Decision, input: Option<&[u8]>) {
        let new = Old::of(decision);
        for rule in &new.fired {
            self.rules.entry(rule.clone()).or_default().fired += 1;
        }
        for campaign in &new.campaigns {
            self.campaigns.entry(campaign.clone()).or_default().fired += 1;
        }
        let Some(old) = self.old.get(&line) else { return };
        self.comparison.compared += 1;
        if new.verdict == old.verdict && new.fired == old.fired {
            return;
        }
        self.comparison.changed += 1;
        let text = || {
            input
                .map(|json| texts(self.program, self.record, json))
                .unwrap_or_default()
        };
        let example = || sample(line, id, decision, &[], &HashMap::new(), text());
        if new.verdict != old.verdict {
            let key = (old.verdict.clone(), new.verdict.clone());
            let change = self.verdicts.entry(key).or_insert_with(|| VerdictChange {
                from: old.verdict.clone(),
                to: new.verdict.clone(),
                records: 0,
                examples: Vec::new(),
            });
            change.records += 1;
            if change.examples.len() < self.samples {
                change.examples.push(example());
            }
        }
        let samples = self.samples;
        for (changes, now, before) in [
            (&mut self.rules, &new.fired, &old.fired),
            (&mut self.campaigns, &new.campaigns, &old.campaigns),
        ] {
            for name in now.iter().filter(|r| !before.contains(r)) {
                let change = changes.entry(name.clone()).or_default();
                change.started += 1;
                if change.started_examples.len() < samples {
                    change.started_examples.push(example());
                }
            }
            for name in before.iter().filter(|r| !now.contains(r)) {
                let change = changes.entry(name.clone()).or_default();
                change.stopped += 1;
                if change.stopped_examples.len() < samples {
                    change.stopped_examples.push(example());
                }
            }
        }
    }

    pub fn finish(mut self, baseline_targets: Vec<Target>) -> Comparison {
        let mut verdicts: Vec<VerdictChange> = self.verdicts.into_values().collect();
        verdicts.sort_by_key(|change| std::cmp::Reverse(change.records));
        self.comparison.verdict_changes = verdicts;
        let changed = |changes: BTreeMap<String, RuleChange>| -> Vec<RuleChange> {
            changes
                .into_iter()
                .filter(|(_, change)| change.started + change.stopped > 0 || change.fired != change.baseline_fired)
                .map(|(rule, change)| RuleChange { rule, ..change })
                .collect()
        };
        self.comparison.rules = changed(self.rules);
        self.comparison.campaigns = changed(self.campaigns);
        self.comparison.baseline_targets = baseline_targets;
        self.comparison
    }
}
