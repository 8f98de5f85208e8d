//! From conditions to a decision's substance: which rules fired after
//! campaign periods and exemptions, which hit run-time errors, and the verdict.

use qlp_grammar::ast::ActionKind;

use crate::interp::{EvalError, Interpreter, NoObserver, Observer};
use crate::program::{ExemptId, Program, RecordId, RuleId};
use crate::state::StateValues;
use crate::value::Value;

/// What a run-time error happened in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    /// A rule.
    Rule(RuleId),
    /// An exemption.
    Exempt(ExemptId),
}

/// A run-time error and what it happened in.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleError {
    /// The rule or exemption.
    pub subject: Subject,
    /// The error.
    pub error: EvalError,
}

/// The result of evaluating every rule of one record type on one record.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Outcome {
    /// Rules that fired and were not exempted, in program order.
    pub fired: Vec<RuleId>,
    /// Rules in shadow (`shadow: true`) that fired and were not exempted:
    /// reported, never part of the verdict, labels, suspensions or tags.
    pub shadow_fired: Vec<RuleId>,
    /// Rules whose condition held but that an exemption cancelled.
    pub exempted: Vec<(RuleId, ExemptId)>,
    /// Rules and exemptions whose condition hit a run-time error.
    pub errors: Vec<RuleError>,
}

impl Outcome {
    /// The most severe action of the fired rules; `None` is "allow".
    pub fn verdict(&self, program: &Program) -> Option<ActionKind> {
        self.fired
            .iter()
            .filter_map(|id| program.rule(*id))
            .filter_map(|rule| rule.severity())
            .max()
    }

    /// Labels of all fired rules, in order, without repeats.
    pub fn labels(&self, program: &Program) -> Vec<String> {
        let mut labels: Vec<String> = Vec::new();
        for rule in self.fired.iter().filter_map(|id| program.rule(*id)) {
            for label in rule.actions.iter().filter_map(|a| a.label.as_ref()) {
                if !labels.contains(label) {
                    labels.push(label.clone());
                }
            }
        }
        labels
    }

    /// Whether `rule` hit a run-time error.
    pub fn errored(&self, rule: RuleId) -> bool {
        self.errors.iter().any(|e| e.subject == Subject::Rule(rule))
    }
}

/// Which rules and exemptions are active at `now` (their campaign is).
pub fn campaign_active(program: &Program, campaign: Option<crate::program::CampaignId>, now: i64) -> bool {
    campaign
        .and_then(|id| program.campaign(id))
        .is_none_or(|c| c.is_active(now))
}

/// The conditions' results for one record, before exemptions: what every
/// engine produces. Rules and exemptions not listed did not hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Conditions {
    /// Each active rule's result.
    pub rules: Vec<(RuleId, Result<bool, EvalError>)>,
    /// Each active exemption's result.
    pub exempts: Vec<(ExemptId, Result<bool, EvalError>)>,
}

impl Outcome {
    /// Applies exemptions to the conditions' results.
    pub fn from_conditions(program: &Program, conditions: &Conditions) -> Outcome {
        let mut outcome = Outcome::default();
        let mut holds: Vec<RuleId> = Vec::with_capacity(conditions.rules.len());
        for (id, result) in &conditions.rules {
            match result {
                Ok(true) => holds.push(*id),
                Ok(false) => {}
                Err(error) => outcome.errors.push(RuleError {
                    subject: Subject::Rule(*id),
                    error: *error,
                }),
            }
        }
        let mut exemptions: Vec<ExemptId> = Vec::new();
        for (id, result) in &conditions.exempts {
            match result {
                Ok(true) => exemptions.push(*id),
                Ok(false) => {}
                Err(error) => outcome.errors.push(RuleError {
                    subject: Subject::Exempt(*id),
                    error: *error,
                }),
            }
        }
        outcome.apply_exemptions(program, holds, &exemptions);
        outcome
    }

    /// Sorts the rules whose condition held (in program order) into fired,
    /// shadow and exempted, by the exemptions whose condition held: the
    /// part of [`Outcome::from_conditions`] after the results are read
    /// (the JIT reads them from its bits when none is an error).
    pub(crate) fn apply_exemptions(
        &mut self,
        program: &Program,
        holds: impl IntoIterator<Item = RuleId>,
        exemptions: &[ExemptId],
    ) {
        for rule_id in holds {
            let Some(rule) = program.rule(rule_id) else { continue };
            let cancelled_by = exemptions.iter().copied().find(|e| {
                program
                    .exemptions
                    .get(e.index())
                    .is_some_and(|x| x.cancels(rule_id, rule))
            });
            match cancelled_by {
                Some(exempt) => self.exempted.push((rule_id, exempt)),
                None if rule.shadow => self.shadow_fired.push(rule_id),
                None => self.fired.push(rule_id),
            }
        }
    }
}

/// The conditions of a row that does not match the program's layout for
/// `record_type` (a caller's bug): every rule of the type is in error, so
/// the row is never read and never silently allowed. Both engines use this.
pub fn undecodable(program: &Program, record_type: RecordId) -> Conditions {
    let error = Err(EvalError {
        kind: crate::interp::EvalErrorKind::BadRecord,
        span: qlp_grammar::Span::default(),
    });
    Conditions {
        rules: program
            .rule_ids()
            .filter(|(_, rule)| rule.record == record_type)
            .map(|(id, _)| (id, error))
            .collect(),
        exempts: Vec::new(),
    }
}

/// Evaluates all active rules and exemptions for `record_type` with the interpreter.
pub fn conditions(program: &Program, record_type: RecordId, record: &Value, now: i64) -> Conditions {
    conditions_observed(program, record_type, record, now, &NoObserver)
}

/// [`conditions`], reporting the run to `observer`. Rules that read state
/// err with `NoState`: see [`conditions_with_state`].
pub fn conditions_observed<O: Observer>(
    program: &Program,
    record_type: RecordId,
    record: &Value,
    now: i64,
    observer: &O,
) -> Conditions {
    let state = crate::state::without_state(program);
    conditions_with_state(program, record_type, record, now, &state, observer)
}

/// Evaluates all active rules and exemptions for `record_type` with the
/// interpreter, reads of state giving `state`.
pub fn conditions_with_state<O: Observer>(
    program: &Program,
    record_type: RecordId,
    record: &Value,
    now: i64,
    state: &StateValues,
    observer: &O,
) -> Conditions {
    let interpreter = Interpreter::with_observer(program, observer).with_state(&state.values);
    let mut conditions = Conditions::default();
    for (id, rule) in program.rule_ids() {
        if rule.record == record_type && program.rule_active(rule, now) {
            conditions.rules.push((id, interpreter.eval_rule(rule, record, now)));
        }
    }
    for (id, exempt) in program.exempt_ids() {
        if exempt.record == record_type && campaign_active(program, exempt.campaign, now) {
            conditions
                .exempts
                .push((id, interpreter.eval_exempt(exempt, record, now)));
        }
    }
    crate::state::apply_errors(program, state, &mut conditions);
    conditions
}

/// Evaluates a record with the interpreter: conditions, then exemptions.
pub fn evaluate(program: &Program, record_type: RecordId, record: &Value, now: i64) -> Outcome {
    Outcome::from_conditions(program, &conditions(program, record_type, record, now))
}
