//! Runs the `test` blocks of a program and explains each failure.

use qlp_grammar::ast::ActionKind;
use qlp_grammar::time::format_time;

use crate::interp::NoObserver;
use crate::jit::CompiledPolicySet;
use crate::layout::Row;
use crate::outcome::Outcome;
use crate::program::{Expectation, Location, Program, RuleId, TExpr, TExprKind, TestDef, TestStep};
use crate::state::{self, StateMap, StateValues};
use crate::value::Value;

/// The result of one `test` block.
#[derive(Debug, Clone)]
pub struct TestResult {
    /// The test's name.
    pub name: String,
    /// Where the test is.
    pub location: Location,
    /// Why the test failed; empty when it passed.
    pub failures: Vec<String>,
    /// What the engine decided.
    pub outcome: Outcome,
}

impl TestResult {
    /// Whether every expectation held.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

pub use crate::Engine;

/// Runs every test on both engines. Expectations are checked against
/// `primary`'s outcomes, and any difference between the engines is a failure.
pub fn run_tests_both(compiled: &CompiledPolicySet, primary: Engine) -> Vec<TestResult> {
    let program = compiled.program();
    let mut context = compiled.context();
    program
        .tests
        .iter()
        .map(|test| {
            let interp = run_steps(program, test, |given, state| interpreted(program, test, given, state));
            let jit = run_steps(program, test, |given, state| {
                let row = Row::encode(program, compiled.layout(), test.record, given);
                compiled.evaluate_with_state(test.record, &row, test.now, state, &mut context)
            });
            let disagreement = interp
                .iter()
                .zip(&jit)
                .position(|(a, b)| a != b)
                .map(|at| (at, interp.get(at).cloned(), jit.get(at).cloned()));
            let (primary_outcomes, _) = match primary {
                Engine::Interp => (interp, jit),
                Engine::Jit => (jit, interp),
            };
            let mut result = check_expectations(program, test, primary_outcomes);
            if let Some((at, Some(interp), Some(jit))) = disagreement {
                let (first, second) = match primary {
                    Engine::Interp => (interp, jit),
                    Engine::Jit => (jit, interp),
                };
                result.failures.push(format!(
                    "{}the engines disagree: {} gives {}, {} gives {}",
                    step_prefix(test, at),
                    engine_name(primary),
                    describe(program, &first),
                    engine_name(other_engine(primary)),
                    describe(program, &second)
                ));
            }
            result
        })
        .collect()
}

/// The interpreter's outcome for one record of a test.
fn interpreted(program: &Program, test: &TestDef, given: &Value, state: &StateValues) -> Outcome {
    let conditions = crate::outcome::conditions_with_state(program, test.record, given, test.now, state, &NoObserver);
    Outcome::from_conditions(program, &conditions)
}

/// Evaluates a test's records in order with `eval`, state kept in a fresh
/// map (read, evaluate, write, record by record): the outcome of the last
/// copy of each step.
fn run_steps(program: &Program, test: &TestDef, mut eval: impl FnMut(&Value, &StateValues) -> Outcome) -> Vec<Outcome> {
    let mut map = StateMap::new();
    test.steps
        .iter()
        .map(|step| {
            let mut last = Outcome::default();
            for _ in 0..step.count {
                let prepared = state::prepare(program, test.record, &step.given);
                let values = map.read(program, &prepared);
                last = eval(&step.given, &values);
                map.write(program, &prepared, &last);
            }
            last
        })
        .collect()
}

/// The interpreter's outcome of each step of a test (of its last copy).
pub fn step_outcomes(program: &Program, test: &TestDef) -> Vec<Outcome> {
    run_steps(program, test, |given, state| interpreted(program, test, given, state))
}

/// `record 2 of 3: ` in a test of several records; nothing in a test of one.
fn step_prefix(test: &TestDef, step: usize) -> String {
    if test.steps.len() > 1 {
        format!("record {} of {}: ", step + 1, test.steps.len())
    } else {
        String::new()
    }
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
            let outcomes = run_steps(program, test, |given, state| interpreted(program, test, given, state));
            check_expectations(program, test, outcomes)
        })
        .collect()
}

/// Compares the outcome of each step of a test (see [`TestStep`]) with its
/// expectations.
pub fn check_expectations(program: &Program, test: &TestDef, outcomes: Vec<Outcome>) -> TestResult {
    let mut failures = Vec::new();
    for (at, (step, outcome)) in test.steps.iter().zip(&outcomes).enumerate() {
        let prefix = step_prefix(test, at);
        for failure in check_step(program, test, step, outcome) {
            failures.push(format!("{prefix}{failure}"));
        }
    }
    TestResult {
        name: test.name.clone(),
        location: test.location,
        failures,
        outcome: outcomes.into_iter().last().unwrap_or_default(),
    }
}

fn check_step(program: &Program, test: &TestDef, step: &TestStep, outcome: &Outcome) -> Vec<String> {
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
    for (expectation, _) in &step.expectations {
        if let Some(why) = vacuous(program, test, expectation) {
            failures.push(why);
            continue;
        }
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
                    // A rule in shadow is expected to fire like any other:
                    // tests show what it would do.
                    if !outcome.fired.contains(rule) && !outcome.shadow_fired.contains(rule) {
                        failures.push(format!(
                            "expected `{}` to fire, but it did not: {}",
                            name(rule),
                            why_not(program, test, outcome, *rule)
                        ));
                    }
                }
            }
            Expectation::NotFires(rules) => {
                for rule in rules {
                    if outcome.fired.contains(rule) || outcome.shadow_fired.contains(rule) {
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
    failures
}

/// Why an expectation that something does not happen would hold whatever
/// the record: the test does not set `now:`, so its clock is the epoch, and
/// every rule the expectation is about belongs to a campaign that is not
/// active then, so no rule body runs at all. (A test that sets `now:` outside
/// a period tests the period, and is left alone.)
fn vacuous(program: &Program, test: &TestDef, expectation: &Expectation) -> Option<String> {
    if test.sets_now {
        return None;
    }
    let inactive = |id: &RuleId| {
        program
            .rule(*id)
            .is_some_and(|rule| !program.rule_active(rule, test.now))
    };
    let about: Vec<RuleId> = match expectation {
        Expectation::NotFires(rules) => rules.clone(),
        Expectation::Nothing | Expectation::Verdict(None) => program
            .rule_ids()
            .filter(|(_, rule)| rule.record == test.record)
            .map(|(id, _)| id)
            .collect(),
        Expectation::Fires(_) | Expectation::Errors(_) | Expectation::Verdict(Some(_)) => return None,
    };
    if about.is_empty() || !about.iter().all(inactive) {
        return None;
    }
    let campaigns: Vec<String> = about
        .iter()
        .filter_map(|id| program.rule(*id)?.campaign)
        .filter_map(|c| program.campaign(c).map(|c| format!("`{}`", c.name)))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    Some(format!(
        "the expectation holds whatever the record: the test has no `now:`, so its clock is {}, when campaign {} is not active and no rule it names runs (set `now:` inside the campaign's period)",
        format_time(test.now),
        campaigns.join(", ")
    ))
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

/// What the tests exercised: which rules fired in some test, and every
/// place where evaluation can go two ways (a sub-condition, a `??`, an
/// `if`), with the ways some test took. Measured by observing the
/// interpreter's own runs of the tests. A branch inside a function is
/// counted once, for the function, whichever rules call it.
#[derive(Debug, Clone, Default)]
pub struct Coverage {
    /// For each rule: whether some test fired it.
    pub rules_fired: Vec<bool>,
    /// For each rule: the branches of its condition, in source order.
    pub branches: Vec<Vec<Branch>>,
    /// For each function: the branches of its body.
    pub fn_branches: Vec<Vec<Branch>>,
}

/// What kind of two-way place a [`Branch`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BranchKind {
    /// A sub-condition (a leaf under `and`, `or` and `not`): true or false.
    Condition,
    /// `x ?? default`: `x` present, or the default used.
    Default,
    /// `if c then a else b`: the `then` or the `else` branch.
    IfElse,
}

/// One place where evaluation can go two ways.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Branch {
    /// What kind of branch it is.
    pub kind: BranchKind,
    /// The expression as written (the whole `??` or `if`, or the sub-condition).
    pub source: String,
    /// Whether some test went the first way (true, a value present, `then`)
    /// and the second (false, the default used, `else`).
    pub seen: [bool; 2],
}

impl Branch {
    /// The ways no test took, in words: `never true`, `never used its default`.
    pub fn missing(&self) -> Option<&'static str> {
        let [never, first, second] = match self.kind {
            BranchKind::Condition => ["never evaluated", "never true", "never false"],
            BranchKind::Default => [
                "never evaluated",
                "never had a value (the default was always used)",
                "never used its default",
            ],
            BranchKind::IfElse => ["never evaluated", "never took `then`", "never took `else`"],
        };
        match self.seen {
            [true, true] => None,
            [false, false] => Some(never),
            [false, true] => Some(first),
            [true, false] => Some(second),
        }
    }
}

impl Coverage {
    /// The share of rules some test fired, in percent.
    pub fn rule_percent(&self) -> f64 {
        percent(self.rules_fired.iter().filter(|f| **f).count(), self.rules_fired.len())
    }

    /// Covered ways over all ways (two per branch), rules and functions together.
    pub fn branch_counts(&self) -> (usize, usize) {
        let all = || self.branches.iter().chain(&self.fn_branches).flatten();
        let covered = all().map(|b| b.seen.iter().filter(|s| **s).count()).sum();
        (covered, 2 * all().count())
    }

    /// The share of branch ways some test took, in percent.
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

/// How an observed value decides a branch.
#[derive(Debug, Clone, Copy)]
enum Decides {
    /// A boolean: true is the first way.
    Bool,
    /// The left side of `??`: a value is the first way, absence the second.
    Presence,
}

/// Every branch of a program, found statically, and for each expression
/// that decides one (by address: expressions live in the program), which.
struct BranchMap<'p> {
    program: &'p Program,
    /// Rules first, then functions.
    owners: Vec<Vec<Branch>>,
    at: std::collections::HashMap<*const TExpr, Vec<(usize, usize, Decides)>>,
}

impl<'p> BranchMap<'p> {
    fn new(program: &'p Program) -> BranchMap<'p> {
        let mut map = BranchMap {
            program,
            owners: Vec::new(),
            at: std::collections::HashMap::new(),
        };
        for rule in &program.rules {
            let owner = map.owners.len();
            map.owners.push(Vec::new());
            map.conditions(owner, rule.location.file, &rule.when);
            map.walk(owner, rule.location.file, &rule.when);
        }
        for def in &program.fns {
            let owner = map.owners.len();
            map.owners.push(Vec::new());
            map.walk(owner, def.location.file, &def.body);
        }
        map
    }

    fn add(
        &mut self,
        owner: usize,
        kind: BranchKind,
        file: qlp_grammar::FileId,
        whole: &TExpr,
        decider: &TExpr,
        how: Decides,
    ) {
        let source = self
            .program
            .sources
            .get(file)
            .and_then(|f| f.text.get(whole.span.start as usize..whole.span.end as usize))
            .unwrap_or("?")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let Some(branches) = self.owners.get_mut(owner) else {
            return;
        };
        self.at
            .entry(decider as *const TExpr)
            .or_default()
            .push((owner, branches.len(), how));
        branches.push(Branch {
            kind,
            source,
            seen: [false, false],
        });
    }

    /// The leaves under `and`, `or` and `not`.
    fn conditions(&mut self, owner: usize, file: qlp_grammar::FileId, expr: &TExpr) {
        match &expr.kind {
            TExprKind::And(a, b) | TExprKind::Or(a, b) => {
                self.conditions(owner, file, a);
                self.conditions(owner, file, b);
            }
            TExprKind::Not(a) => self.conditions(owner, file, a),
            _ => self.add(owner, BranchKind::Condition, file, expr, expr, Decides::Bool),
        }
    }

    /// Every `??` and `if` in one body (calls are their functions' own).
    fn walk(&mut self, owner: usize, file: qlp_grammar::FileId, expr: &TExpr) {
        match &expr.kind {
            TExprKind::Coalesce(value, _) => self.add(owner, BranchKind::Default, file, expr, value, Decides::Presence),
            TExprKind::If(cond, _, _) => self.add(owner, BranchKind::IfElse, file, expr, cond, Decides::Bool),
            _ => {}
        }
        for child in expr.children() {
            self.walk(owner, file, child);
        }
    }
}

/// Marks the ways the observed run took.
struct CoverageObserver<'m, 'p> {
    map: &'m BranchMap<'p>,
    seen: std::cell::RefCell<Vec<Vec<[bool; 2]>>>,
}

impl crate::interp::Observer for CoverageObserver<'_, '_> {
    fn value(&self, expr: &TExpr, result: &crate::interp::Eval) {
        let Some(places) = self.map.at.get(&(expr as *const TExpr)) else {
            return;
        };
        let Ok(value) = result else { return };
        let mut seen = self.seen.borrow_mut();
        for (owner, index, how) in places {
            let way = match (how, value) {
                (Decides::Bool, Value::Bool(b)) => usize::from(!*b),
                (Decides::Presence, Value::Absent) => 1,
                (Decides::Presence, _) => 0,
                (Decides::Bool, _) => continue,
            };
            if let Some(slot) = seen
                .get_mut(*owner)
                .and_then(|s| s.get_mut(*index))
                .and_then(|s| s.get_mut(way))
            {
                *slot = true;
            }
        }
    }
}

/// Measures coverage by running every test on the interpreter and observing it.
pub fn coverage(program: &Program) -> Coverage {
    let map = BranchMap::new(program);
    let observer = CoverageObserver {
        map: &map,
        seen: std::cell::RefCell::new(map.owners.iter().map(|b| vec![[false, false]; b.len()]).collect()),
    };
    let mut rules_fired = vec![false; program.rules.len()];
    for test in &program.tests {
        run_steps(program, test, |given, state| {
            let conditions =
                crate::outcome::conditions_with_state(program, test.record, given, test.now, state, &observer);
            let outcome = Outcome::from_conditions(program, &conditions);
            for id in outcome.fired.iter().chain(&outcome.shadow_fired) {
                if let Some(fired) = rules_fired.get_mut(id.index()) {
                    *fired = true;
                }
            }
            outcome
        });
    }
    let seen = observer.seen.into_inner();
    let mut owners: Vec<Vec<Branch>> = map
        .owners
        .iter()
        .zip(seen)
        .map(|(branches, seen)| {
            branches
                .iter()
                .zip(seen)
                .map(|(branch, seen)| Branch { seen, ..branch.clone() })
                .collect()
        })
        .collect();
    let fn_branches = owners.split_off(program.rules.len().min(owners.len()));
    Coverage {
        rules_fired,
        branches: owners,
        fn_branches,
    }
}
