//! Why a rule fired or not: the keywords it matched (evidence for
//! decisions) and the value of each sub-condition (for `qlp explain`).
//! Both re-run parts of a condition with the interpreter, so they describe
//! exactly what the specification computes.

use qlp_grammar::ast::QuantifierKind;
use qlp_grammar::Span;

use crate::interp::{record_frame, Interpreter};
use qlp_grammar::FileId;

use crate::program::{Builtin, KeywordSetId, Program, TExpr, TExprKind};
use crate::text::prepare_mapped;
use crate::types::Type;
use crate::value::Value;

/// One keyword found in a text a rule looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeywordHit {
    /// The keyword set's name.
    pub set: String,
    /// The expression whose text was searched, as written (`c.text`).
    pub field: String,
    /// The keyword as listed in the set.
    pub keyword: String,
    /// The matched part of the original text, and its byte range there.
    pub matched: String,
    pub start: usize,
    pub end: usize,
}

/// The keyword hits behind a condition, evaluated on `record` at `now`.
/// `file` is the file the condition is written in.
pub fn keyword_evidence(
    program: &Program,
    file: FileId,
    when: &TExpr,
    n_locals: u32,
    record: &Value,
    now: i64,
) -> Vec<KeywordHit> {
    let mut frame = record_frame(record, n_locals);
    let mut hits = Vec::new();
    let walker = Walker {
        program,
        interpreter: Interpreter::new(program),
        now,
    };
    walker.walk(file, when, &mut frame, &mut hits, 0);
    hits.sort_by(|a, b| (a.start, &a.keyword).cmp(&(b.start, &b.keyword)));
    hits.dedup();
    hits
}

struct Walker<'p> {
    program: &'p Program,
    interpreter: Interpreter<'p>,
    now: i64,
}

/// Deepest function nesting followed (calls are bounded by the checker; this is a backstop).
const MAX_WALK_DEPTH: usize = 128;

impl Walker<'_> {
    fn walk(&self, file: FileId, expr: &TExpr, frame: &mut Vec<Value>, hits: &mut Vec<KeywordHit>, depth: usize) {
        if depth > MAX_WALK_DEPTH {
            return;
        }
        match &expr.kind {
            TExprKind::HasAny(text, set) => {
                self.search(file, text, *set, frame, hits);
                self.walk(file, text, frame, hits, depth + 1);
            }
            TExprKind::Builtin(Builtin::CountMatches(set), args) => {
                for text in args {
                    self.search(file, text, *set, frame, hits);
                    self.walk(file, text, frame, hits, depth + 1);
                }
            }
            TExprKind::Call(id, args) => {
                let Some(def) = self.program.fns.get(id.index()) else {
                    return;
                };
                let mut callee = vec![Value::Absent; (def.n_locals as usize).max(1)];
                for (i, arg) in args.iter().enumerate() {
                    self.walk(file, arg, frame, hits, depth + 1);
                    match self.interpreter.eval_expr(arg, frame, self.now) {
                        Ok(v) => {
                            if let Some(slot) = callee.get_mut(i) {
                                *slot = v;
                            }
                        }
                        Err(_) => return,
                    }
                }
                self.walk(def.location.file, &def.body, &mut callee, hits, depth + 1);
            }
            TExprKind::Let(slot, value, body) => {
                self.walk(file, value, frame, hits, depth + 1);
                if let Ok(v) = self.interpreter.eval_expr(value, frame, self.now) {
                    set(frame, *slot, v);
                    self.walk(file, body, frame, hits, depth + 1);
                }
            }
            TExprKind::Quantifier(_, slot, list, predicate) => {
                self.walk(file, list, frame, hits, depth + 1);
                if let Ok(Value::List(items)) = self.interpreter.eval_expr(list, frame, self.now) {
                    for item in items.iter() {
                        set(frame, *slot, item.clone());
                        self.walk(file, predicate, frame, hits, depth + 1);
                    }
                }
            }
            _ => {
                for child in children(expr) {
                    self.walk(file, child, frame, hits, depth + 1);
                }
            }
        }
    }

    fn search(
        &self,
        file: FileId,
        text: &TExpr,
        set: KeywordSetId,
        frame: &mut Vec<Value>,
        hits: &mut Vec<KeywordHit>,
    ) {
        let Ok(Value::Str(original)) = self.interpreter.eval_expr(text, frame, self.now) else {
            return;
        };
        let Some(keyword_set) = self.program.keyword_sets.get(set.index()) else {
            return;
        };
        let normalized = prepare_mapped(&original, keyword_set.matcher.mode());
        for (pattern, start, end) in keyword_set.matcher.find_all_prepared(&normalized.text) {
            let (from, to) = normalized.original_range(start, end, &original);
            hits.push(KeywordHit {
                set: keyword_set.name.clone(),
                field: self.source_text(file, text.span),
                keyword: keyword_set.entries.get(pattern).cloned().unwrap_or_default(),
                matched: original.get(from..to).unwrap_or("").to_string(),
                start: from,
                end: to,
            });
        }
    }

    fn source_text(&self, file: FileId, span: Span) -> String {
        self.program
            .sources
            .get(file)
            .and_then(|f| f.text.get(span.start as usize..span.end as usize))
            .unwrap_or("text")
            .to_string()
    }
}

fn set(frame: &mut Vec<Value>, slot: u32, value: Value) {
    let slot = slot as usize;
    if frame.len() <= slot {
        frame.resize(slot + 1, Value::Absent);
    }
    if let Some(place) = frame.get_mut(slot) {
        *place = value;
    }
}

/// The direct sub-expressions of an expression.
pub fn children(expr: &TExpr) -> Vec<&TExpr> {
    match &expr.kind {
        TExprKind::Const(_) | TExprKind::Now | TExprKind::Local(_) => Vec::new(),
        TExprKind::Field(a, _)
        | TExprKind::Unwrap(a)
        | TExprKind::Not(a)
        | TExprKind::Neg(a, _)
        | TExprKind::IsSome(a, _)
        | TExprKind::HasAny(a, _)
        | TExprKind::InSet(a, _)
        | TExprKind::Matches(a, _) => vec![a],
        TExprKind::And(a, b)
        | TExprKind::Or(a, b)
        | TExprKind::Arith(_, a, b)
        | TExprKind::Compare(_, _, a, b)
        | TExprKind::Coalesce(a, b)
        | TExprKind::In(_, a, b)
        | TExprKind::Let(_, a, b)
        | TExprKind::Quantifier(_, _, a, b) => vec![a, b],
        TExprKind::If(a, b, c) => vec![a, b, c],
        TExprKind::Builtin(_, args) | TExprKind::List(args) | TExprKind::Call(_, args) => args.iter().collect(),
    }
}

/// One line of an explanation: a sub-condition, its value, and its parts.
#[derive(Debug, Clone)]
pub struct Explanation {
    /// The sub-condition as written.
    pub source: String,
    /// Its value (`true`, `42`, `"text"`, `missing`), or the run-time error.
    pub value: String,
    pub children: Vec<Explanation>,
}

/// Explains a condition: the value of each boolean sub-condition down to
/// comparisons, tests and keyword matches. Sub-conditions skipped by
/// short-circuiting are shown as `not evaluated`.
pub fn explain_condition(
    program: &Program,
    file: FileId,
    when: &TExpr,
    n_locals: u32,
    record: &Value,
    now: i64,
) -> Explanation {
    let mut frame = record_frame(record, n_locals);
    let explainer = Explainer {
        program,
        interpreter: Interpreter::new(program),
        now,
        file,
    };
    explainer.explain(when, &mut frame, true)
}

struct Explainer<'p> {
    program: &'p Program,
    interpreter: Interpreter<'p>,
    now: i64,
    file: FileId,
}

impl Explainer<'_> {
    fn explain(&self, expr: &TExpr, frame: &mut Vec<Value>, evaluated: bool) -> Explanation {
        let source = self
            .program
            .sources
            .get(self.file)
            .and_then(|f| f.text.get(expr.span.start as usize..expr.span.end as usize))
            .unwrap_or("?")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let result = evaluated.then(|| self.interpreter.eval_expr(expr, frame, self.now));
        let value = match &result {
            None => String::from("not evaluated"),
            Some(Ok(v)) => show(self.program, v, &expr.ty),
            Some(Err(e)) => format!("error: {}", e.kind),
        };
        let children = match &expr.kind {
            TExprKind::And(..) | TExprKind::Or(..) => {
                // A chain `a and b and c` is shown as one list of operands.
                let is_and = matches!(expr.kind, TExprKind::And(..));
                let mut operands = Vec::new();
                flatten(expr, is_and, &mut operands);
                let mut still_evaluated = evaluated;
                let mut children = Vec::new();
                for operand in operands {
                    children.push(self.explain(operand, frame, still_evaluated));
                    if still_evaluated {
                        let value = self.interpreter.eval_expr(operand, frame, self.now);
                        still_evaluated = matches!(value, Ok(Value::Bool(v)) if v == is_and);
                    }
                }
                children
            }
            TExprKind::Not(a) => vec![self.explain(a, frame, evaluated)],
            TExprKind::Quantifier(QuantifierKind::Any | QuantifierKind::All, ..) => Vec::new(),
            _ => Vec::new(),
        };
        Explanation {
            source,
            value,
            children,
        }
    }
}

/// The operands of a chain of `and` (or of `or`).
fn flatten<'e>(expr: &'e TExpr, is_and: bool, out: &mut Vec<&'e TExpr>) {
    match &expr.kind {
        TExprKind::And(a, b) if is_and => {
            flatten(a, is_and, out);
            flatten(b, is_and, out);
        }
        TExprKind::Or(a, b) if !is_and => {
            flatten(a, is_and, out);
            flatten(b, is_and, out);
        }
        _ => out.push(expr),
    }
}

/// A value as a policy author writes it.
pub fn show(program: &Program, value: &Value, ty: &Type) -> String {
    match value {
        Value::Absent => String::from("missing"),
        Value::Bool(b) => b.to_string(),
        Value::Int(v) => v.to_string(),
        Value::Float(v) => format!("{v:?}"),
        Value::Str(s) => qlp_grammar::print::quote(s),
        Value::Time(t) => qlp_grammar::time::format_time(*t),
        Value::Duration(d) => qlp_grammar::time::format_duration(*d),
        Value::Enum(v) => match ty.strip_optional() {
            Type::Enum(id) => program
                .enum_def(*id)
                .and_then(|e| e.variants.get(*v as usize))
                .cloned()
                .unwrap_or_else(|| format!("#{v}")),
            _ => format!("#{v}"),
        },
        Value::List(items) => format!("[{} items]", items.len()),
        Value::Record(_) => String::from("{record}"),
    }
}
