//! A rule whose condition can never hold.
//!
//! ## What it does
//! Reports rules (and exemptions) whose condition is constant `false`, or
//! requires one value to be in two ranges that do not overlap, such as
//! `x > 10 and x < 5`.
//!
//! ## Why is this bad?
//! The rule never fires: the behaviour the policy promises is not enforced,
//! and nothing says so.
//!
//! ## Example
//! ```qlp
//! rule bad_range(c: Content) { when: c.viewers > 1000 and c.viewers < 100 then: review }
//! ```
//!
//! Use instead:
//! ```qlp
//! rule bad_range(c: Content) { when: c.viewers > 1000 or c.viewers < 100 then: review }
//! ```

use std::collections::HashMap;

use super::{LintContext, LintHit};
use qlp_compiler::program::{CmpOp, TExpr, TExprKind};
use qlp_compiler::value::Value;

/// The constant value of a condition, if it has one.
pub(crate) fn fold(expr: &TExpr) -> Option<bool> {
    match &expr.kind {
        TExprKind::Const(Value::Bool(b)) => Some(*b),
        TExprKind::Not(inner) => fold(inner).map(|b| !b),
        TExprKind::And(a, b) => match (fold(a), fold(b)) {
            (Some(false), _) | (_, Some(false)) => Some(false),
            (Some(true), Some(true)) => Some(true),
            _ => None,
        },
        TExprKind::Or(a, b) => match (fold(a), fold(b)) {
            (Some(true), _) | (_, Some(true)) => Some(true),
            (Some(false), Some(false)) => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// A key for "the same value": a local and its chain of fields.
pub(crate) fn path(expr: &TExpr) -> Option<String> {
    match &expr.kind {
        TExprKind::Local(slot) => Some(format!("l{slot}")),
        TExprKind::Field(base, index) => Some(format!("{}.{index}", path(base)?)),
        TExprKind::Unwrap(inner) => path(inner),
        TExprKind::Coalesce(inner, default) => Some(format!("({} ?? {:?})", path(inner)?, number(default)?)),
        _ => None,
    }
}

pub(crate) fn number(expr: &TExpr) -> Option<f64> {
    match &expr.kind {
        TExprKind::Const(Value::Int(v) | Value::Time(v) | Value::Duration(v)) => Some(*v as f64),
        TExprKind::Const(Value::Float(v)) => Some(*v),
        TExprKind::Neg(inner, _) => number(inner).map(|v| -v),
        _ => None,
    }
}

/// `(low, low inclusive, high, high inclusive)`.
type Range = (f64, bool, f64, bool);

fn conjuncts<'e>(expr: &'e TExpr, out: &mut Vec<&'e TExpr>) {
    match &expr.kind {
        TExprKind::And(a, b) => {
            conjuncts(a, out);
            conjuncts(b, out);
        }
        _ => out.push(expr),
    }
}

/// Whether an and-chain bounds one value to an empty range.
pub(crate) fn contradictory(expr: &TExpr) -> bool {
    let mut atoms = Vec::new();
    conjuncts(expr, &mut atoms);
    let mut ranges: HashMap<String, Range> = HashMap::new();
    for atom in atoms {
        let TExprKind::Compare(op, _, a, b) = &atom.kind else {
            continue;
        };
        let (key, value, op) = match (path(a), number(b), path(b), number(a)) {
            (Some(key), Some(value), _, _) => (key, value, *op),
            (_, _, Some(key), Some(value)) => (key, value, flip(*op)),
            _ => continue,
        };
        let range = ranges
            .entry(key)
            .or_insert((f64::NEG_INFINITY, true, f64::INFINITY, true));
        match op {
            CmpOp::Gt => raise(range, value, false),
            CmpOp::Ge => raise(range, value, true),
            CmpOp::Lt => lower(range, value, false),
            CmpOp::Le => lower(range, value, true),
            CmpOp::Eq => {
                raise(range, value, true);
                lower(range, value, true);
            }
            CmpOp::Ne => {}
        }
    }
    ranges
        .values()
        .any(|(low, low_in, high, high_in)| low > high || (low == high && !(*low_in && *high_in)))
}

fn flip(op: CmpOp) -> CmpOp {
    match op {
        CmpOp::Lt => CmpOp::Gt,
        CmpOp::Le => CmpOp::Ge,
        CmpOp::Gt => CmpOp::Lt,
        CmpOp::Ge => CmpOp::Le,
        other => other,
    }
}

fn raise(range: &mut Range, value: f64, inclusive: bool) {
    if value > range.0 || (value == range.0 && !inclusive) {
        range.0 = value;
        range.1 = inclusive;
    }
}

fn lower(range: &mut Range, value: f64, inclusive: bool) {
    if value < range.2 || (value == range.2 && !inclusive) {
        range.2 = value;
        range.3 = inclusive;
    }
}

pub(super) fn check(cx: &LintContext<'_>, hits: &mut Vec<LintHit>) {
    let program = cx.program;
    let conditions = program
        .rules
        .iter()
        .map(|r| ("rule", &r.name, &r.when, r.location))
        .chain(
            program
                .exemptions
                .iter()
                .map(|e| ("exemption", &e.name, &e.when, e.location)),
        );
    for (kind, name, when, location) in conditions {
        if fold(when) == Some(false) || contradictory(when) {
            hits.push(
                LintHit::new(location.file, when.span, format!("{kind} `{name}` can never fire"))
                    .help("its condition is always false: check the ranges and constants it compares"),
            );
        }
    }
}
