//! The reference interpreter: a tree walk over the typed program. It is the
//! executable specification of the language; the JIT must agree with it on
//! every program and record.
//!
//! Run-time errors (integer overflow, division by zero, a float that does not
//! fit an int) stop the rule they occur in: it does not fire, and the error
//! is reported with the rule's name. Nothing here panics.

use std::fmt;

use qlp_grammar::ast::QuantifierKind;
use qlp_grammar::Span;

use crate::program::*;
use crate::text::{MatchMode, Normalized};
use crate::value::Value;

/// What went wrong at run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EvalErrorKind {
    /// An integer or time result out of range.
    Overflow,
    /// Division (or remainder) by zero.
    DivisionByZero,
    /// A float that is NaN or out of range where an int is needed.
    OutOfRange,
    /// A record does not match the program's schema (a bug in the caller).
    BadRecord,
    /// Native code's helper could not compute (a bug in qlp; the
    /// interpreter never reports it).
    Internal,
    /// A rule reads state, but the evaluation was given none (or the
    /// state of the record could not be computed or read).
    NoState,
}

impl EvalErrorKind {
    /// In words, for decisions and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            EvalErrorKind::Overflow => "integer overflow",
            EvalErrorKind::DivisionByZero => "division by zero",
            EvalErrorKind::OutOfRange => "number out of range",
            EvalErrorKind::BadRecord => "record does not match the schema",
            EvalErrorKind::Internal => "internal error in a text helper",
            EvalErrorKind::NoState => "the state this rule reads is not available",
        }
    }
}

impl fmt::Display for EvalErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A run-time error and the expression it happened in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EvalError {
    /// What went wrong.
    pub kind: EvalErrorKind,
    /// The expression it happened in.
    pub span: Span,
}

/// The result of evaluating an expression.
pub type Eval = Result<Value, EvalError>;

/// Watches the interpreter's own run: what explanations, keyword evidence
/// and test coverage are built from, so that they only ever describe what
/// was evaluated. Every method does nothing by default, and the interpreter
/// is generic over its observer, so an unobserved run costs nothing.
pub trait Observer {
    /// `expr` was evaluated, to `result`. Every expression is reported but
    /// the inner links of a chain of string concatenations (`a + b + c`
    /// reports `a`, `b`, `c` and the whole, not `a + b`), which are built
    /// as one string.
    fn value(&self, _expr: &TExpr, _result: &Eval) {}
    /// Whether [`Observer::value`] watches anything. When it does not, a
    /// field of a local (`c.title`, `c.author.id`) is read in place, and the
    /// records on the way are neither cloned nor reported.
    const VALUES: bool = true;
    /// A call of `def` starts: the expressions evaluated until the matching
    /// [`Observer::leave_fn`] are its body's.
    fn enter_fn(&self, _def: &FnDef) {}
    /// The call of `def` ends.
    fn leave_fn(&self, _def: &FnDef) {}
    /// Whether [`Observer::keywords`] is given the searched text prepared
    /// with the map back to the original (evidence needs it; it costs).
    const KEYWORD_OFFSETS: bool = false;
    /// `expr` (a `has_any` or `count_matches`) searched `text`, prepared as
    /// `prepared` (mapped when [`Observer::KEYWORD_OFFSETS`]), for the
    /// keywords of `set`; `matched` says whether it found any.
    fn keywords(&self, _expr: &TExpr, _set: KeywordSetId, _text: &str, _prepared: &Normalized, _matched: bool) {}
}

impl<O: Observer + ?Sized> Observer for &O {
    fn value(&self, expr: &TExpr, result: &Eval) {
        (**self).value(expr, result);
    }
    const VALUES: bool = O::VALUES;
    fn enter_fn(&self, def: &FnDef) {
        (**self).enter_fn(def);
    }
    fn leave_fn(&self, def: &FnDef) {
        (**self).leave_fn(def);
    }
    const KEYWORD_OFFSETS: bool = O::KEYWORD_OFFSETS;
    fn keywords(&self, expr: &TExpr, set: KeywordSetId, text: &str, prepared: &Normalized, matched: bool) {
        (**self).keywords(expr, set, text, prepared, matched);
    }
}

/// The observer that watches nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoObserver;

impl Observer for NoObserver {
    const VALUES: bool = false;
}

/// The reference interpreter, reporting to an [`Observer`].
pub struct Interpreter<'p, O: Observer = NoObserver> {
    program: &'p Program,
    observer: O,
    /// The values read from state for the record, by `StateId` (empty when
    /// the evaluation has no state: reads are then `NoState` errors).
    state: &'p [i64],
    /// `fingerprint` results by text, so that one text normalized for
    /// several state keys is normalized once (a few entries, by content).
    fingerprints: std::cell::RefCell<Vec<(std::sync::Arc<str>, (), i64)>>,
    /// Texts prepared for keyword matching, by text and mode, so that one
    /// text searched for several sets (a function such as `all_text(c)`
    /// called by many rules) is prepared once (a few entries, by content).
    prepared: std::cell::RefCell<Vec<PreparedText>>,
}

/// A text, a match mode, and the text prepared for it.
type PreparedText = (std::sync::Arc<str>, MatchMode, std::sync::Arc<Normalized>);

impl<'p> Interpreter<'p> {
    /// An interpreter that observes nothing.
    pub fn new(program: &'p Program) -> Interpreter<'p> {
        Interpreter {
            program,
            observer: NoObserver,
            state: &[],
            fingerprints: std::cell::RefCell::default(),
            prepared: std::cell::RefCell::default(),
        }
    }
}

impl<'p, O: Observer> Interpreter<'p, O> {
    /// An interpreter that reports what it evaluates to `observer`.
    pub fn with_observer(program: &'p Program, observer: O) -> Interpreter<'p, O> {
        Interpreter {
            program,
            observer,
            state: &[],
            fingerprints: std::cell::RefCell::default(),
            prepared: std::cell::RefCell::default(),
        }
    }

    /// Reads of state give `state`, indexed by `StateId` (see `crate::state`).
    pub fn with_state(mut self, state: &'p [i64]) -> Self {
        self.state = state;
        self
    }

    /// The program it runs.
    pub fn program(&self) -> &'p Program {
        self.program
    }

    /// The observer.
    pub fn observer(&self) -> &O {
        &self.observer
    }

    /// Evaluates a rule's condition on a record.
    pub fn eval_rule(&self, rule: &RuleDef, record: &Value, now: i64) -> Result<bool, EvalError> {
        self.eval_condition(&rule.when, rule.n_locals, record, now)
    }

    /// Evaluates an exemption's condition on a record.
    pub fn eval_exempt(&self, exempt: &ExemptDef, record: &Value, now: i64) -> Result<bool, EvalError> {
        self.eval_condition(&exempt.when, exempt.n_locals, record, now)
    }

    fn eval_condition(&self, when: &TExpr, n_locals: u32, record: &Value, now: i64) -> Result<bool, EvalError> {
        let mut frame = record_frame(record, n_locals);
        match self.eval_expr(when, &mut frame, now)? {
            Value::Bool(b) => Ok(b),
            _ => Err(bad_record(when.span)),
        }
    }

    /// Evaluates an expression with the given local slots.
    pub fn eval_expr(&self, expr: &TExpr, frame: &mut Vec<Value>, now: i64) -> Eval {
        let result = self.eval_unobserved(expr, frame, now);
        self.observer.value(expr, &result);
        result
    }

    // Inlined into `eval_expr`, so that observing costs no extra call per node.
    #[inline(always)]
    fn eval_unobserved(&self, expr: &TExpr, frame: &mut Vec<Value>, now: i64) -> Eval {
        let span = expr.span;
        match &expr.kind {
            TExprKind::Const(value) => Ok(value.clone()),
            TExprKind::Now => Ok(Value::Time(now)),
            TExprKind::State(id) => {
                let (Some(def), Some(&raw)) = (self.program.states.get(id.index()), self.state.get(id.index())) else {
                    return Err(EvalError {
                        kind: EvalErrorKind::NoState,
                        span,
                    });
                };
                Ok(crate::state::read_value(def.kind, raw))
            }
            TExprKind::Local(slot) => frame.get(*slot as usize).cloned().ok_or(bad_record(span)),
            TExprKind::Field(base, index) => {
                if !O::VALUES {
                    if let Some(value) = place(expr, frame) {
                        return Ok(value.clone());
                    }
                }
                match self.eval_expr(base, frame, now)? {
                    Value::Record(fields) => fields.get(*index as usize).cloned().ok_or(bad_record(span)),
                    _ => Err(bad_record(span)),
                }
            }
            TExprKind::Unwrap(inner) => match self.eval_expr(inner, frame, now)? {
                Value::Absent => Err(bad_record(span)),
                value => Ok(value),
            },
            TExprKind::Not(inner) => Ok(Value::Bool(!self.bool(inner, frame, now)?)),
            TExprKind::Neg(inner, _) => match self.eval_expr(inner, frame, now)? {
                Value::Int(v) => v.checked_neg().map(Value::Int).ok_or(overflow(span)),
                Value::Float(v) => Ok(Value::Float(-v)),
                Value::Duration(v) => v.checked_neg().map(Value::Duration).ok_or(overflow(span)),
                _ => Err(bad_record(span)),
            },
            TExprKind::And(a, b) => Ok(Value::Bool(self.bool(a, frame, now)? && self.bool(b, frame, now)?)),
            TExprKind::Or(a, b) => Ok(Value::Bool(self.bool(a, frame, now)? || self.bool(b, frame, now)?)),
            TExprKind::Arith(ArithOp::Concat, ..) => {
                // Most joined texts fit; a longer one grows it once or twice.
                let mut text = String::with_capacity(512);
                self.concat_into(expr, frame, now, &mut text)?;
                Ok(Value::str(&text))
            }
            TExprKind::Arith(op, a, b) => {
                let a = self.eval_expr(a, frame, now)?;
                let b = self.eval_expr(b, frame, now)?;
                arith(*op, &a, &b, span)
            }
            TExprKind::Compare(op, _, a, b) => {
                let a = self.eval_expr(a, frame, now)?;
                let b = self.eval_expr(b, frame, now)?;
                compare(*op, &a, &b, span).map(Value::Bool)
            }
            TExprKind::Coalesce(a, b) => match self.eval_expr(a, frame, now)? {
                Value::Absent => self.eval_expr(b, frame, now),
                value => Ok(value),
            },
            TExprKind::IsSome(inner, negated) => {
                let present = !self.eval_expr(inner, frame, now)?.is_absent();
                Ok(Value::Bool(present != *negated))
            }
            TExprKind::In(_, needle, list) => {
                let needle = self.eval_expr(needle, frame, now)?;
                // A list literal is evaluated element by element, stopping at the first match.
                if let TExprKind::List(items) = &list.kind {
                    for item in items {
                        let item = self.eval_expr(item, frame, now)?;
                        if compare(CmpOp::Eq, &needle, &item, span)? {
                            return Ok(Value::Bool(true));
                        }
                    }
                    return Ok(Value::Bool(false));
                }
                match self.eval_expr(list, frame, now)? {
                    Value::List(items) => {
                        for item in items.iter() {
                            if compare(CmpOp::Eq, &needle, item, span)? {
                                return Ok(Value::Bool(true));
                            }
                        }
                        Ok(Value::Bool(false))
                    }
                    _ => Err(bad_record(span)),
                }
            }
            TExprKind::InSet(needle, set) => {
                let needle = self.eval_expr(needle, frame, now)?;
                let set = self.program.const_sets.get(set.index()).ok_or(bad_record(span))?;
                Ok(Value::Bool(set.contains(&needle)))
            }
            TExprKind::HasAny(text, set) => {
                let text = self.string(text, frame, now)?;
                let matcher = &self.keyword_set(*set, span)?.matcher;
                let prepared = self.prepared(&text, matcher.mode());
                // `is_match`, on the text prepared once.
                let matched = matcher.is_match_prepared(&prepared.text);
                self.observer.keywords(expr, *set, &text, &prepared, matched);
                Ok(Value::Bool(matched))
            }
            TExprKind::Matches(text, regex) => {
                let text = self.string(text, frame, now)?;
                let regex = self.program.regexes.get(regex.index()).ok_or(bad_record(span))?;
                Ok(Value::Bool(regex.is_match(&text)))
            }
            TExprKind::If(cond, then, otherwise) => {
                if self.bool(cond, frame, now)? {
                    self.eval_expr(then, frame, now)
                } else {
                    self.eval_expr(otherwise, frame, now)
                }
            }
            TExprKind::Let(slot, value, body) => {
                let value = self.eval_expr(value, frame, now)?;
                set_slot(frame, *slot, value);
                self.eval_expr(body, frame, now)
            }
            TExprKind::Call(fn_id, args) => {
                let def = self.program.fns.get(fn_id.index()).ok_or(bad_record(span))?;
                let mut callee = vec![Value::Absent; def.n_locals as usize];
                for (i, arg) in args.iter().enumerate() {
                    let value = self.eval_expr(arg, frame, now)?;
                    set_slot(&mut callee, i as u32, value);
                }
                self.observer.enter_fn(def);
                let result = self.eval_expr(&def.body, &mut callee, now);
                self.observer.leave_fn(def);
                result
            }
            TExprKind::Builtin(builtin, args) => self.builtin(expr, *builtin, args, frame, now),
            TExprKind::Quantifier(kind, slot, list, predicate) => {
                let Value::List(items) = self.eval_expr(list, frame, now)? else {
                    return Err(bad_record(span));
                };
                let mut count: i64 = 0;
                for item in items.iter() {
                    set_slot(frame, *slot, item.clone());
                    let holds = self.bool(predicate, frame, now)?;
                    match kind {
                        QuantifierKind::Any if holds => return Ok(Value::Bool(true)),
                        QuantifierKind::All if !holds => return Ok(Value::Bool(false)),
                        QuantifierKind::Count if holds => count += 1,
                        _ => {}
                    }
                }
                Ok(match kind {
                    QuantifierKind::Any => Value::Bool(false),
                    QuantifierKind::All => Value::Bool(true),
                    QuantifierKind::Count => Value::Int(count),
                })
            }
            TExprKind::List(items) => {
                let mut values = Vec::with_capacity(items.len());
                for item in items {
                    values.push(self.eval_expr(item, frame, now)?);
                }
                Ok(Value::List(values.into()))
            }
        }
    }

    fn keyword_set(&self, set: KeywordSetId, span: Span) -> Result<&'p KeywordSet, EvalError> {
        self.program.keyword_sets.get(set.index()).ok_or(bad_record(span))
    }

    fn bool(&self, expr: &TExpr, frame: &mut Vec<Value>, now: i64) -> Result<bool, EvalError> {
        match self.eval_expr(expr, frame, now)? {
            Value::Bool(b) => Ok(b),
            _ => Err(bad_record(expr.span)),
        }
    }

    fn string(&self, expr: &TExpr, frame: &mut Vec<Value>, now: i64) -> Result<std::sync::Arc<str>, EvalError> {
        match self.eval_expr(expr, frame, now)? {
            Value::Str(s) => Ok(s),
            _ => Err(bad_record(expr.span)),
        }
    }

    fn builtin(&self, expr: &TExpr, builtin: Builtin, args: &[TExpr], frame: &mut Vec<Value>, now: i64) -> Eval {
        let span = expr.span;
        let mut values = Vec::with_capacity(args.len());
        for arg in args {
            values.push(self.eval_expr(arg, frame, now)?);
        }
        let bad = || bad_record(span);
        Ok(match (builtin, values.as_slice()) {
            (Builtin::StrLen, [Value::Str(s)]) => Value::Int(s.chars().count() as i64),
            (Builtin::ListLen, [Value::List(items)]) => Value::Int(items.len() as i64),
            (Builtin::Lower, [Value::Str(s)]) => Value::str(&s.to_lowercase()),
            (Builtin::Upper, [Value::Str(s)]) => Value::str(&s.to_uppercase()),
            (Builtin::Trim, [Value::Str(s)]) => Value::str(s.trim()),
            (Builtin::Unescape, [Value::Str(s)]) => Value::str(&crate::text::unescape(s)),
            (Builtin::Contains, [Value::Str(s), Value::Str(part)]) => Value::Bool(s.contains(&**part)),
            (Builtin::StartsWith, [Value::Str(s), Value::Str(part)]) => Value::Bool(s.starts_with(&**part)),
            (Builtin::EndsWith, [Value::Str(s), Value::Str(part)]) => Value::Bool(s.ends_with(&**part)),
            (Builtin::ToFloat, [Value::Int(v)]) => Value::Float(*v as f64),
            (Builtin::ToInt, [Value::Float(v)]) => Value::Int(float_to_int(*v).ok_or(EvalError {
                kind: EvalErrorKind::OutOfRange,
                span,
            })?),
            (Builtin::IntAbs, [Value::Int(v)]) => Value::Int(v.checked_abs().ok_or(overflow(span))?),
            (Builtin::FloatAbs, [Value::Float(v)]) => Value::Float(v.abs()),
            (Builtin::Min(_), [a, b]) => {
                if compare(CmpOp::Le, a, b, span)? {
                    a.clone()
                } else {
                    b.clone()
                }
            }
            (Builtin::Max(_), [a, b]) => {
                if compare(CmpOp::Ge, a, b, span)? {
                    a.clone()
                } else {
                    b.clone()
                }
            }
            (Builtin::CountMatches(set), [Value::Str(s)]) => {
                let matcher = &self.keyword_set(set, span)?.matcher;
                let prepared = self.prepared(s, matcher.mode());
                // `distinct_matches`, on the text prepared once.
                let count = matcher.distinct_matches_prepared(&prepared.text).len();
                self.observer.keywords(expr, set, s, &prepared, count > 0);
                Value::Int(count as i64)
            }
            (Builtin::Fingerprint, [Value::Str(s)]) => Value::Int(self.fingerprint(s)),
            (Builtin::Clock(part, zone), [Value::Time(t)]) => {
                let value = part.of(self.program.clock_zone(zone), *t);
                match part {
                    crate::program::ClockPart::Day => Value::Time(value),
                    _ => Value::Int(value),
                }
            }
            _ => return Err(bad()),
        })
    }
}

impl<O: Observer> Interpreter<'_, O> {
    /// `text` prepared for keyword matching in `mode`, remembered for the
    /// texts this interpreter saw last.
    fn prepared(&self, text: &std::sync::Arc<str>, mode: MatchMode) -> std::sync::Arc<Normalized> {
        remembered(&self.prepared, text, mode, || {
            std::sync::Arc::new(crate::text::prepare_normalized(text, mode, O::KEYWORD_OFFSETS))
        })
    }

    /// `fingerprint(text)`, remembered for the texts this interpreter saw
    /// last (the same text is often the key of several state declarations).
    fn fingerprint(&self, text: &std::sync::Arc<str>) -> i64 {
        remembered(&self.fingerprints, text, (), || crate::text::fingerprint(text))
    }
}

/// The value `expr` names in the frame, when it is a local or a field of
/// one (`c`, `c.author`): borrowed, where evaluating it would clone each
/// record on the way. `None` for any other expression, and where the path
/// does not lead to a value (evaluating it gives the error).
fn place<'f>(expr: &TExpr, frame: &'f [Value]) -> Option<&'f Value> {
    match &expr.kind {
        TExprKind::Local(slot) => frame.get(*slot as usize),
        TExprKind::Field(base, index) => match place(base, frame)? {
            Value::Record(fields) => fields.get(*index as usize),
            _ => None,
        },
        _ => None,
    }
}

/// What `memo` holds for `text` (found by pointer or content) and `how`,
/// else `compute`d and remembered with the last few.
fn remembered<H: PartialEq + Copy, V: Clone>(
    memo: &std::cell::RefCell<Vec<(std::sync::Arc<str>, H, V)>>,
    text: &std::sync::Arc<str>,
    how: H,
    compute: impl FnOnce() -> V,
) -> V {
    const REMEMBERED: usize = 8;
    let mut memo = memo.borrow_mut();
    if let Some((_, _, value)) = memo
        .iter()
        .find(|(t, h, _)| *h == how && (std::sync::Arc::ptr_eq(t, text) || **t == **text))
    {
        return value.clone();
    }
    let value = compute();
    if memo.len() == REMEMBERED {
        memo.remove(0);
    }
    memo.push((text.clone(), how, value.clone()));
    value
}

impl<O: Observer> Interpreter<'_, O> {
    /// Appends the value of `expr`, a string concatenation, to `out`: a
    /// chain `a + b + c` (nested to the left) is built as one string, with
    /// the errors evaluating each `+` in turn gives (an operand's first,
    /// then a `+` whose operand is not a string, innermost first).
    fn concat_into(&self, expr: &TExpr, frame: &mut Vec<Value>, now: i64, out: &mut String) -> Result<(), EvalError> {
        let TExprKind::Arith(ArithOp::Concat, a, b) = &expr.kind else {
            return Err(bad_record(expr.span));
        };
        let left = match &a.kind {
            TExprKind::Arith(ArithOp::Concat, ..) => {
                self.concat_into(a, frame, now, out)?;
                None
            }
            _ => Some(self.eval_expr(a, frame, now)?),
        };
        let right = self.eval_expr(b, frame, now)?;
        match (left, right) {
            (None, Value::Str(b)) => out.push_str(&b),
            (Some(Value::Str(a)), Value::Str(b)) => {
                out.push_str(&a);
                out.push_str(&b);
            }
            _ => return Err(bad_record(expr.span)),
        }
        Ok(())
    }
}

/// The local slots of a rule or exemption body: the record in slot 0, the
/// rest empty until `let` and quantifiers fill them.
pub fn record_frame(record: &Value, n_locals: u32) -> Vec<Value> {
    let mut frame = vec![Value::Absent; (n_locals as usize).max(1)];
    if let Some(slot) = frame.first_mut() {
        *slot = record.clone();
    }
    frame
}

/// Truncates toward zero; `None` for NaN and values outside `i64`.
pub fn float_to_int(v: f64) -> Option<i64> {
    // -2^63 is exact in f64; 2^63 is the first value past i64::MAX.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if v.is_nan() || !(-LIMIT..LIMIT).contains(&v) {
        None
    } else {
        Some(v.trunc() as i64)
    }
}

fn set_slot(frame: &mut Vec<Value>, slot: u32, value: Value) {
    let slot = slot as usize;
    if frame.len() <= slot {
        frame.resize(slot + 1, Value::Absent);
    }
    if let Some(place) = frame.get_mut(slot) {
        *place = value;
    }
}

fn bad_record(span: Span) -> EvalError {
    EvalError {
        kind: EvalErrorKind::BadRecord,
        span,
    }
}

fn overflow(span: Span) -> EvalError {
    EvalError {
        kind: EvalErrorKind::Overflow,
        span,
    }
}

fn division_by_zero(span: Span) -> EvalError {
    EvalError {
        kind: EvalErrorKind::DivisionByZero,
        span,
    }
}

/// An arithmetic operator on two values (string concatenation is
/// [`Interpreter::concat_into`]'s).
fn arith(op: ArithOp, a: &Value, b: &Value, span: Span) -> Eval {
    use ArithOp::*;
    let int = |r: Option<i64>| r.map(Value::Int).ok_or(overflow(span));
    let dur = |r: Option<i64>| r.map(Value::Duration).ok_or(overflow(span));
    let time = |r: Option<i64>| r.map(Value::Time).ok_or(overflow(span));
    match (op, a, b) {
        (IntAdd, Value::Int(x), Value::Int(y)) => int(x.checked_add(*y)),
        (IntSub, Value::Int(x), Value::Int(y)) => int(x.checked_sub(*y)),
        (IntMul, Value::Int(x), Value::Int(y)) => int(x.checked_mul(*y)),
        (IntDiv | IntRem, Value::Int(_), Value::Int(0)) => Err(division_by_zero(span)),
        (IntDiv, Value::Int(x), Value::Int(y)) => int(x.checked_div(*y)),
        (IntRem, Value::Int(x), Value::Int(y)) => int(x.checked_rem(*y)),
        (FloatAdd, Value::Float(x), Value::Float(y)) => Ok(Value::Float(x + y)),
        (FloatSub, Value::Float(x), Value::Float(y)) => Ok(Value::Float(x - y)),
        (FloatMul, Value::Float(x), Value::Float(y)) => Ok(Value::Float(x * y)),
        (FloatDiv | FloatRem, Value::Float(_), Value::Float(y)) if *y == 0.0 => Err(division_by_zero(span)),
        (FloatDiv, Value::Float(x), Value::Float(y)) => Ok(Value::Float(x / y)),
        (FloatRem, Value::Float(x), Value::Float(y)) => Ok(Value::Float(x % y)),
        (TimeAddDuration, Value::Time(t), Value::Duration(d)) => time(t.checked_add(*d)),
        (TimeSubDuration, Value::Time(t), Value::Duration(d)) => time(t.checked_sub(*d)),
        (TimeSubTime, Value::Time(x), Value::Time(y)) => dur(x.checked_sub(*y)),
        (DurationAdd, Value::Duration(x), Value::Duration(y)) => dur(x.checked_add(*y)),
        (DurationSub, Value::Duration(x), Value::Duration(y)) => dur(x.checked_sub(*y)),
        (DurationMulInt, Value::Duration(x), Value::Int(y)) => dur(x.checked_mul(*y)),
        (DurationDivInt, Value::Duration(_), Value::Int(0)) => Err(division_by_zero(span)),
        (DurationDivInt, Value::Duration(x), Value::Int(y)) => dur(x.checked_div(*y)),
        _ => Err(bad_record(span)),
    }
}

/// Compares two scalars. Floats compare as IEEE 754 (NaN is unequal to everything).
fn compare(op: CmpOp, a: &Value, b: &Value, span: Span) -> Result<bool, EvalError> {
    use std::cmp::Ordering;
    let ordering: Option<Ordering> = match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        (Value::Int(x), Value::Int(y))
        | (Value::Time(x), Value::Time(y))
        | (Value::Duration(x), Value::Duration(y)) => Some(x.cmp(y)),
        (Value::Float(x), Value::Float(y)) => x.partial_cmp(y),
        (Value::Str(x), Value::Str(y)) => Some(x.cmp(y)),
        (Value::Enum(x), Value::Enum(y)) => Some(x.cmp(y)),
        _ => return Err(bad_record(span)),
    };
    Ok(match (op, ordering) {
        (CmpOp::Ne, None) => true,
        (_, None) => false,
        (CmpOp::Eq, Some(o)) => o == Ordering::Equal,
        (CmpOp::Ne, Some(o)) => o != Ordering::Equal,
        (CmpOp::Lt, Some(o)) => o == Ordering::Less,
        (CmpOp::Le, Some(o)) => o != Ordering::Greater,
        (CmpOp::Gt, Some(o)) => o == Ordering::Greater,
        (CmpOp::Ge, Some(o)) => o != Ordering::Less,
    })
}
