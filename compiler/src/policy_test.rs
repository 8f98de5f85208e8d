//! Runs the `test` blocks of a program and explains each failure.

use qlp_grammar::ast::ActionKind;
use qlp_grammar::time::format_time;

use crate::jit::CompiledPolicySet;
use crate::layout::Row;
use crate::outcome::{evaluate, Outcome};
use crate::program::{Expectation, Location, Program, RuleId, TestDef};

/// The result of one `test` block.
#[derive(Debug, Clone)]
pub struct TestResult {
    pub name: String,
    pub location: Location,
    /// Why the test failed; empty when it passed.
    pub failures: Vec<String>,
    pub outcome: Outcome,
}

impl TestResult {
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// An evaluation engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// The reference interpreter (the specification).
    Interp,
    /// Native code from the Cranelift JIT.
    Jit,
}

/// Runs every test on both engines. Expectations are checked against
/// `primary`'s outcome, and any difference between the engines is a failure.
pub fn run_tests_both(compiled: &CompiledPolicySet, primary: Engine) -> Vec<TestResult> {
    let program = compiled.program();
    let mut context = compiled.context();
    program
        .tests
        .iter()
        .map(|test| {
            let interp = evaluate(program, test.record, &test.given, test.now);
            let row = Row::encode(program, compiled.layout(), test.record, &test.given);
            let jit = compiled.evaluate(test.record, &row, test.now, &mut context);
            let disagree = interp != jit;
            let (primary_outcome, other) = match primary {
                Engine::Interp => (interp, jit),
                Engine::Jit => (jit, interp),
            };
            let other_fired = describe(program, &other);
            let mut result = check_expectations(program, test, primary_outcome);
            if disagree {
                result.failures.push(format!(
                    "the engines disagree: {} gives {}, {} gives {}",
                    engine_name(primary),
                    describe(program, &result.outcome),
                    engine_name(other_engine(primary)),
                    other_fired
                ));
            }
            result
        })
        .collect()
}

fn engine_name(engine: Engine) -> &'static str {
    match engine {
        Engine::Interp => "the interpreter",
        Engine::Jit => "the JIT",
    }
}

fn other_engine(engine: Engine) -> Engine {
    match engine {
        Engine::Interp => Engine::Jit,
        Engine::Jit => Engine::Interp,
    }
}

/// `fired [a, b], errors [c: overflow]`, for disagreement messages.
fn describe(program: &Program, outcome: &Outcome) -> String {
    let name = |id: &RuleId| program.rule(*id).map_or("?", |r| r.name.as_str()).to_string();
    let fired: Vec<String> = outcome.fired.iter().map(name).collect();
    let errors: Vec<String> = outcome
        .errors
        .iter()
        .map(|e| format!("{:?}: {}", e.subject, e.error.kind))
        .collect();
    format!("fired [{}], errors [{}]", fired.join(", "), errors.join(", "))
}

/// Runs every test of the program on the interpreter.
pub fn run_tests(program: &Program) -> Vec<TestResult> {
    program
        .tests
        .iter()
        .map(|test| {
            let outcome = evaluate(program, test.record, &test.given, test.now);
            check_expectations(program, test, outcome)
        })
        .collect()
}

/// Compares an outcome with a test's expectations.
pub fn check_expectations(program: &Program, test: &TestDef, outcome: Outcome) -> TestResult {
    let mut failures = Vec::new();
    let name = |id: &RuleId| program.rule(*id).map_or("?", |r| r.name.as_str()).to_string();
    let fired_names = || {
        if outcome.fired.is_empty() {
            String::from("no rule fired")
        } else {
            format!(
                "fired: {}",
                outcome
                    .fired
                    .iter()
                    .map(|id| format!("`{}`", name(id)))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    };
    for (expectation, _) in &test.expectations {
        match expectation {
            Expectation::Nothing => {
                if !outcome.fired.is_empty() {
                    failures.push(format!("expected no rule to fire, but {}", fired_names()));
                }
            }
            Expectation::Verdict(kind) => {
                let verdict = outcome.verdict(program);
                if verdict != *kind {
                    failures.push(format!(
                        "expected verdict `{}`, got `{}` ({})",
                        kind.map_or("allow", ActionKind::as_str),
                        verdict.map_or("allow", ActionKind::as_str),
                        fired_names()
                    ));
                }
            }
            Expectation::Fires(rules) => {
                for rule in rules {
                    if !outcome.fired.contains(rule) {
                        failures.push(format!(
                            "expected `{}` to fire, but it did not: {}",
                            name(rule),
                            why_not(program, test, &outcome, *rule)
                        ));
                    }
                }
            }
            Expectation::NotFires(rules) => {
                for rule in rules {
                    if outcome.fired.contains(rule) {
                        failures.push(format!("expected `{}` not to fire, but it did", name(rule)));
                    }
                }
            }
            Expectation::Errors(rules) => {
                for rule in rules {
                    if !outcome.errored(*rule) {
                        failures.push(format!(
                            "expected `{}` to hit a run-time error, but it did not",
                            name(rule)
                        ));
                    }
                }
            }
        }
    }
    TestResult {
        name: test.name.clone(),
        location: test.location,
        failures,
        outcome,
    }
}

/// Why a rule did not fire, in a policy author's words.
fn why_not(program: &Program, test: &TestDef, outcome: &Outcome, rule_id: RuleId) -> String {
    let Some(rule) = program.rule(rule_id) else {
        return String::from("unknown rule");
    };
    if let Some(error) = outcome
        .errors
        .iter()
        .find(|e| e.subject == crate::outcome::Subject::Rule(rule_id))
    {
        return format!("its condition hit a run-time error ({})", error.error.kind);
    }
    if let Some((_, exempt)) = outcome.exempted.iter().find(|(r, _)| *r == rule_id) {
        let exempt = program.exemptions.get(exempt.index()).map_or("?", |e| e.name.as_str());
        return format!("exemption `{exempt}` cancelled it");
    }
    if let Some(campaign) = rule.campaign.and_then(|c| program.campaign(c)) {
        if !campaign.is_active(test.now) {
            return format!(
                "its campaign `{}` is not active at {} (set `now:` in the test)",
                campaign.name,
                format_time(test.now)
            );
        }
    }
    String::from("its condition is false for this record")
}

/// What the tests exercised: which rules fired in some test, and for each
/// sub-condition (the leaves under `and`, `or` and `not`) whether some test
/// saw it true and some test saw it false.
#[derive(Debug, Clone, Default)]
pub struct Coverage {
    /// For each rule: whether some test fired it.
    pub rules_fired: Vec<bool>,
    /// For each rule: its sub-conditions as written, and (seen true, seen false).
    pub conditions: Vec<Vec<(String, bool, bool)>>,
}

impl Coverage {
    pub fn rule_percent(&self) -> f64 {
        percent(self.rules_fired.iter().filter(|f| **f).count(), self.rules_fired.len())
    }

    /// Covered outcomes (true and false, per sub-condition) over all outcomes.
    pub fn branch_counts(&self) -> (usize, usize) {
        let covered = self
            .conditions
            .iter()
            .flatten()
            .map(|(_, t, f)| usize::from(*t) + usize::from(*f))
            .sum();
        let total = self.conditions.iter().map(|c| 2 * c.len()).sum();
        (covered, total)
    }

    pub fn branch_percent(&self) -> f64 {
        let (covered, total) = self.branch_counts();
        percent(covered, total)
    }
}

fn percent(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        100.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

/// Measures coverage by running every test on the interpreter.
pub fn coverage(program: &Program) -> Coverage {
    use crate::explain::{explain_condition, Explanation};
    fn leaves(explanation: &Explanation, out: &mut Vec<(String, String)>) {
        if explanation.children.is_empty() {
            out.push((explanation.source.clone(), explanation.value.clone()));
        } else {
            for child in &explanation.children {
                leaves(child, out);
            }
        }
    }
    let mut result = Coverage {
        rules_fired: vec![false; program.rules.len()],
        conditions: vec![Vec::new(); program.rules.len()],
    };
    for test in &program.tests {
        let outcome = evaluate(program, test.record, &test.given, test.now);
        for id in &outcome.fired {
            if let Some(fired) = result.rules_fired.get_mut(id.index()) {
                *fired = true;
            }
        }
        for (id, rule) in program.rule_ids() {
            if rule.record != test.record || !crate::outcome::campaign_active(program, rule.campaign, test.now) {
                continue;
            }
            let explanation = explain_condition(
                program,
                rule.location.file,
                &rule.when,
                rule.n_locals,
                &test.given,
                test.now,
            );
            let mut found = Vec::new();
            leaves(&explanation, &mut found);
            let Some(slots) = result.conditions.get_mut(id.index()) else {
                continue;
            };
            if slots.is_empty() {
                slots.extend(found.iter().map(|(source, _)| (source.clone(), false, false)));
            }
            for ((_, value), slot) in found.iter().zip(slots.iter_mut()) {
                match value.as_str() {
                    "true" => slot.1 = true,
                    "false" => slot.2 = true,
                    _ => {}
                }
            }
        }
    }
    // Rules no test reached still count their sub-conditions as uncovered.
    for (rule, slots) in program.rules.iter().zip(result.conditions.iter_mut()) {
        if slots.is_empty() {
            let explanation = explain_condition(
                program,
                rule.location.file,
                &rule.when,
                rule.n_locals,
                &crate::value::Value::Absent,
                0,
            );
            let mut found = Vec::new();
            leaves(&explanation, &mut found);
            slots.extend(found.into_iter().map(|(source, _)| (source, false, false)));
        }
    }
    result
}
