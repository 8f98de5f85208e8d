//! Decisions: what happens to a record and why, in a stable JSON shape
//! (documented in `docs/decisions.md`).

use qlp_compiler::explain::{searches_keywords, KeywordEvidence, KeywordHit};
use qlp_compiler::outcome::{Outcome, Subject};
use qlp_compiler::program::{Program, RecordId, RuleDef, RuleId, StateKind};
use qlp_compiler::state::{values_read, Prepared, StateValues};
use qlp_compiler::Value;
use qlp_grammar::ast::ActionKind;
use serde::Serialize;

pub(crate) mod json;

pub use json::{write_serde, write_str, DecisionWriter};

/// What happens to a record: `allow`, or the most severe action of the
/// rules that fired. Serialized (and displayed) in lowercase: `"remove"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// No rule with an action fired.
    Allow,
    /// Labelled only.
    Label,
    /// Distribution limited.
    Limit,
    /// Sent to human review.
    Review,
    /// Removed.
    Remove,
    /// Blocked.
    Block,
    /// The account suspended (`Decision::suspend` says how long).
    Suspend,
    /// The account banned.
    Ban,
}

impl Verdict {
    /// The verdict of the most severe action (`None`, or a tag alone: allow).
    pub fn of(action: Option<ActionKind>) -> Verdict {
        match action {
            None | Some(ActionKind::Tag) => Verdict::Allow,
            Some(ActionKind::Label) => Verdict::Label,
            Some(ActionKind::Limit) => Verdict::Limit,
            Some(ActionKind::Review) => Verdict::Review,
            Some(ActionKind::Remove) => Verdict::Remove,
            Some(ActionKind::Block) => Verdict::Block,
            Some(ActionKind::Suspend) => Verdict::Suspend,
            Some(ActionKind::Ban) => Verdict::Ban,
        }
    }

    /// `allow`, `label`, ... `ban`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Allow => "allow",
            Verdict::Label => "label",
            Verdict::Limit => "limit",
            Verdict::Review => "review",
            Verdict::Remove => "remove",
            Verdict::Block => "block",
            Verdict::Suspend => "suspend",
            Verdict::Ban => "ban",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for Verdict {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// One action of a fired rule. Serialized (and displayed) as the policy
/// writes it: `remove`, `label(未成年人打赏)`, `suspend(7d)`, `tag(flooder)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    /// What it does.
    pub kind: ActionKind,
    /// The label, for `label(..)`.
    pub label: Option<String>,
    /// How long, in microseconds: `suspend(..)`'s length or a tag's time to live.
    pub duration: Option<i64>,
    /// The tag written, for `tag(..)`.
    pub tag: Option<String>,
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let duration = self.duration.map(qlp_grammar::time::format_duration);
        match (self.kind, &self.label, &self.tag, duration) {
            (ActionKind::Tag, _, tag, duration) => {
                let name = tag.as_deref().unwrap_or("?");
                match duration {
                    Some(d) => write!(f, "tag({name}, {d})"),
                    None => write!(f, "tag({name})"),
                }
            }
            (_, Some(label), _, _) => write!(f, "label({label})"),
            (_, None, _, Some(d)) => write!(f, "suspend({d})"),
            (kind, ..) => f.write_str(kind.as_str()),
        }
    }
}

impl Serialize for Action {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// The decision for one record.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Decision {
    /// `allow`, or the most severe action of the rules that fired.
    pub verdict: Verdict,
    /// Labels of every fired rule, in rule order, without repeats.
    pub labels: Vec<String>,
    /// The longest `suspend(..)` among fired rules, as a duration literal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspend: Option<String>,
    /// Every rule that fired (after exemptions), in program order.
    pub fired: Vec<FiredRule>,
    /// Rules in shadow (`shadow: true`) that would have fired: evaluated
    /// and reported, never part of the verdict, labels or suspension.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub shadow: Vec<FiredRule>,
    /// Rules whose condition held but an exemption cancelled.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub exempted: Vec<ExemptedRule>,
    /// Rules and exemptions whose condition hit a run-time error.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<RuleFailure>,
    /// Some rule or exemption could not decide (it is in `errors`): the
    /// verdict may be more lenient than the policies mean.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub undecided: bool,
}

/// A rule that fired, and why.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FiredRule {
    /// The rule's name.
    pub rule: String,
    /// Its campaign's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub campaign: Option<String>,
    /// Its campaign's title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub campaign_title: Option<String>,
    /// The rule's actions: `remove`, `label(未成年人打赏)`, `suspend(7d)`.
    pub actions: Vec<Action>,
    /// The rule's reason text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Keywords behind the decision, with where they are in the original
    /// text: at most `MAX_HITS_PER_FIELD` (16) per searched text.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Evidence>,
    /// For a searched text with more hits than that (as written, `c.text`):
    /// how many were left out of `evidence`.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub evidence_omitted: std::collections::BTreeMap<String, usize>,
    /// The state values the rule's condition read: `37` posts by `a123`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub state: Vec<StateEvidence>,
}

/// A state value a fired rule read.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StateEvidence {
    /// The declaration's name (`pushes_by_sender`).
    pub name: String,
    /// `counter`, `distinct`, `first_seen` or `tag`.
    pub kind: &'static str,
    /// The key it was read for (`a123`).
    pub key: String,
    /// The value read: a count, an RFC 3339 time (`first_seen`), `true`/`false` (`tag`).
    pub value: serde_json::Value,
    /// `first_seen`: the id of the earliest record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_id: Option<String>,
}

/// One keyword found in a text the rule looked at.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Evidence {
    /// The keyword set's name.
    pub keyword_set: String,
    /// The expression whose text was searched, as written (`c.text`).
    pub field: String,
    /// The keyword as listed in the set.
    pub keyword: String,
    /// The matched part of the original text.
    pub matched: String,
    /// Byte offsets of `matched` in the field's original text.
    pub start: usize,
    /// Where `matched` ends (a byte offset, exclusive).
    pub end: usize,
}

/// A rule an exemption cancelled.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ExemptedRule {
    /// The cancelled rule.
    pub rule: String,
    /// The exemption that cancelled it.
    pub exemption: String,
    /// The exemption's reason text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A rule or exemption whose condition hit a run-time error.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RuleFailure {
    /// The rule (or exemption) whose condition failed; it did not fire.
    pub rule: String,
    /// The error: `integer overflow`, `division by zero`, ...
    pub error: String,
    /// `file:line:column` of the failing expression.
    pub at: String,
}

impl Decision {
    /// Builds a decision from an outcome; `evidence` finds the keyword hits
    /// behind a fired rule, asked only for rules that search keywords (as
    /// `keyword_rules`, which the policy set computes once, says). Embedders
    /// get decisions from [`crate::PolicySet::decision`], which passes them.
    pub(crate) fn new(
        program: &Program,
        outcome: &Outcome,
        keyword_rules: &[EvidenceReads],
        mut evidence: impl FnMut(RuleId, &RuleDef) -> KeywordEvidence,
    ) -> Decision {
        let verdict = Verdict::of(outcome.verdict(program));
        let needs = |id: &RuleId| keyword_rules.get(id.index()).unwrap_or(&EvidenceReads::Record);
        let fired_ids = || outcome.fired.iter().chain(&outcome.shadow_fired);
        let mut fired = Vec::with_capacity(outcome.fired.len());
        let mut shadow = Vec::new();
        let mut suspend: Option<i64> = None;
        let in_shadow = |id: &RuleId| outcome.shadow_fired.contains(id);
        for id in fired_ids() {
            let Some(rule) = program.rule(*id) else { continue };
            if !in_shadow(id) {
                for action in &rule.actions {
                    if let Some(d) = action.duration {
                        suspend = Some(suspend.map_or(d, |s| s.max(d)));
                    }
                }
            }
            let found = match needs(id) {
                EvidenceReads::Nothing => KeywordEvidence::default(),
                _ => evidence(*id, rule),
            };
            let list = if in_shadow(id) { &mut shadow } else { &mut fired };
            list.push(FiredRule {
                evidence: found.hits.into_iter().map(Evidence::from).collect(),
                evidence_omitted: found.omitted.into_iter().collect(),
                ..FiredRule::fixed(program, rule)
            });
        }
        let exempted = outcome
            .exempted
            .iter()
            .filter_map(|(rule, exempt)| {
                let exempt = program.exemptions.get(exempt.index())?;
                Some(ExemptedRule {
                    rule: program.rule(*rule)?.name.clone(),
                    exemption: exempt.name.clone(),
                    reason: exempt.reason.clone(),
                })
            })
            .collect();
        let errors: Vec<RuleFailure> = outcome
            .errors
            .iter()
            .map(|e| {
                let (name, file) = match e.subject {
                    Subject::Rule(id) => program
                        .rule(id)
                        .map(|r| (r.name.clone(), r.location.file))
                        .unwrap_or_default(),
                    Subject::Exempt(id) => program
                        .exemptions
                        .get(id.index())
                        .map(|x| (x.name.clone(), x.location.file))
                        .unwrap_or_default(),
                };
                RuleFailure {
                    rule: name,
                    error: e.error.kind.to_string(),
                    at: program.sources.location(file, e.error.span.start),
                }
            })
            .collect();
        Decision {
            verdict,
            labels: outcome.labels(program),
            suspend: suspend.map(qlp_grammar::time::format_duration),
            fired,
            shadow,
            exempted,
            undecided: !errors.is_empty(),
            errors,
        }
    }
}

impl From<KeywordHit> for Evidence {
    fn from(hit: KeywordHit) -> Evidence {
        Evidence {
            keyword_set: hit.set,
            field: hit.field,
            keyword: hit.keyword,
            matched: hit.matched,
            start: hit.start,
            end: hit.end,
        }
    }
}

impl FiredRule {
    /// A firing of `rule` with what every firing of it has (name,
    /// campaign, actions, reason) and nothing found yet: decisions start
    /// from it, and the JSON writer renders it once per rule.
    fn fixed(program: &Program, rule: &qlp_compiler::program::RuleDef) -> FiredRule {
        let campaign = rule.campaign.and_then(|c| program.campaign(c));
        FiredRule {
            rule: rule.name.clone(),
            campaign: campaign.map(|c| c.name.clone()),
            campaign_title: campaign.and_then(|c| c.title.clone()),
            actions: rule.actions.iter().map(|a| action_of(program, a)).collect(),
            reason: rule.reason.clone(),
            evidence: Vec::new(),
            evidence_omitted: Default::default(),
            state: Vec::new(),
        }
    }
}

fn action_of(program: &Program, action: &qlp_compiler::program::Action) -> Action {
    Action {
        kind: action.kind,
        label: action.label.clone(),
        duration: action.duration,
        tag: action
            .tag
            .and_then(|t| program.states.get(t.index()))
            .map(|s| s.name.clone()),
    }
}

impl Decision {
    /// Adds to each fired rule the state values its condition read
    /// (`outcome` is the one the decision was built from).
    pub fn with_state(
        mut self,
        program: &Program,
        outcome: &Outcome,
        prepared: &Prepared,
        values: &StateValues,
    ) -> Decision {
        // `fired` follows `outcome.fired` (and `shadow` `outcome.shadow_fired`),
        // one entry per rule.
        for (list, ids) in [
            (&mut self.fired, &outcome.fired),
            (&mut self.shadow, &outcome.shadow_fired),
        ] {
            let rules = ids.iter().filter_map(|id| program.rule(*id));
            for (fired, rule) in list.iter_mut().zip(rules) {
                for (id, def, touch, value) in values_read(program, &rule.reads, prepared, values) {
                    let value = match value {
                        Value::Int(n) => serde_json::Value::from(n),
                        Value::Bool(b) => serde_json::Value::from(b),
                        Value::Time(t) => serde_json::Value::from(qlp_grammar::time::format_time(t)),
                        _ => serde_json::Value::Null,
                    };
                    let first_id = (def.kind == StateKind::FirstSeen).then(|| {
                        values
                            .first_ids
                            .get(id.index())
                            .cloned()
                            .flatten()
                            .unwrap_or_else(|| touch.id.clone())
                    });
                    fired.state.push(StateEvidence {
                        name: def.name.clone(),
                        kind: def.kind.as_str(),
                        key: touch.key.key.to_string(),
                        value,
                        first_id: first_id.map(String::from),
                    });
                }
            }
        }
        self
    }
}

/// What finding a fired rule's keyword evidence reads of the record.
#[derive(Debug, Clone)]
pub(crate) enum EvidenceReads {
    /// The rule matches no keywords: it has no evidence to find.
    Nothing,
    /// These top-level fields (the rest are decoded as absent).
    Fields(Vec<bool>),
    /// The record whole.
    Record,
}

/// Per rule of `program`: what finding its keyword evidence reads.
pub(crate) fn keyword_rules(program: &Program) -> Vec<EvidenceReads> {
    program
        .rules
        .iter()
        .map(|rule| {
            if !searches_keywords(program, &rule.when) {
                return EvidenceReads::Nothing;
            }
            let n = program.record(rule.record).map_or(0, |r| r.fields.len());
            let mut fields = vec![false; n];
            if qlp_compiler::state::mark_fields(program, &rule.when, 0, &mut fields, 0) {
                EvidenceReads::Fields(fields)
            } else {
                EvidenceReads::Record
            }
        })
        .collect()
}

/// The top-level fields finding the evidence of `outcome`'s fired rules
/// reads (the record is decoded once, with only those); `None`: the whole
/// record.
pub(crate) fn evidence_fields(outcome: &Outcome, keyword_rules: &[EvidenceReads]) -> Option<Vec<bool>> {
    let mut wanted: Option<Vec<bool>> = None;
    for id in outcome.fired.iter().chain(&outcome.shadow_fired) {
        match keyword_rules.get(id.index()).unwrap_or(&EvidenceReads::Record) {
            EvidenceReads::Nothing => {}
            EvidenceReads::Record => return None,
            EvidenceReads::Fields(fields) => match &mut wanted {
                Some(wanted) => wanted.iter_mut().zip(fields).for_each(|(w, f)| *w |= *f),
                None => wanted = Some(fields.clone()),
            },
        }
    }
    wanted
}

/// The record type's name, for messages.
pub fn record_name(program: &Program, record: RecordId) -> &str {
    program.record(record).map_or("?", |r| r.name.as_str())
}
