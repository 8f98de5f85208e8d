//! Why a rule fired or not: the keywords it matched (evidence for
//! decisions) and the value of each sub-condition (for `qlp explain`).
//!
//! Both observe one run of the reference interpreter (see
//! [`crate::interp::Observer`]): evidence comes only from keyword searches
//! the interpreter made, and every value shown is one it computed. Nothing
//! here evaluates an expression itself.

use std::cell::RefCell;
use std::collections::HashMap;

use qlp_grammar::{FileId, Span};

use crate::interp::{record_frame, Eval, Interpreter, Observer};
use crate::program::{FnDef, KeywordSetId, Program, TExpr, TExprKind};
use crate::text::Normalized;
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
    /// Where `matched` starts in the original text (a byte offset).
    pub start: usize,
    /// Where it ends (exclusive).
    pub end: usize,
}

/// Keyword hits kept per rule and searched text: a record with a keyword
/// on every line would otherwise make a decision many times its own size.
/// The rest are counted (see [`KeywordEvidence::omitted`]).
pub const MAX_HITS_PER_FIELD: usize = 16;

/// The keyword hits behind a condition, and how many more there were.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeywordEvidence {
    /// At most [`MAX_HITS_PER_FIELD`] hits per searched text, by position.
    pub hits: Vec<KeywordHit>,
    /// For each searched text (as written) that had more hits: how many
    /// were left out.
    pub omitted: Vec<(String, usize)>,
}

/// The keyword hits behind a condition, evaluated on `record` at `now`
/// with reads of state giving `state` (see `Interpreter::with_state`):
/// every search that found something while the interpreter evaluated it
/// (short-circuited branches search nothing), the first
/// [`MAX_HITS_PER_FIELD`] of each searched text. `file` is the file the
/// condition is written in.
pub fn keyword_evidence(
    program: &Program,
    file: FileId,
    when: &TExpr,
    n_locals: u32,
    record: &Value,
    now: i64,
    state: &[i64],
) -> KeywordEvidence {
    let observer = EvidenceObserver {
        program,
        // Room for a few nested calls without growing.
        files: RefCell::new({
            let mut files = Vec::with_capacity(8);
            files.push(file);
            files
        }),
        evidence: RefCell::new(KeywordEvidence {
            hits: Vec::with_capacity(4),
            ..KeywordEvidence::default()
        }),
    };
    let interpreter = Interpreter::with_observer(program, &observer).with_state(state);
    let mut frame = record_frame(record, n_locals);
    // An error ends the run; the searches made before it are still evidence.
    let _ = interpreter.eval_expr(when, &mut frame, now);
    let mut evidence = observer.evidence.into_inner();
    sort_hits(&mut evidence);
    evidence
}

/// Collects the hits of every keyword search that matched, attributing
/// each to the file its expression is written in.
struct EvidenceObserver<'p> {
    program: &'p Program,
    /// The file of the body being evaluated: the condition's, then each
    /// called function's.
    files: RefCell<Vec<FileId>>,
    evidence: RefCell<KeywordEvidence>,
}

impl Observer for EvidenceObserver<'_> {
    const VALUES: bool = false;

    fn enter_fn(&self, def: &FnDef) {
        self.files.borrow_mut().push(def.location.file);
    }

    fn leave_fn(&self, _def: &FnDef) {
        self.files.borrow_mut().pop();
    }

    const KEYWORD_OFFSETS: bool = true;

    fn keywords(&self, expr: &TExpr, set: KeywordSetId, original: &str, normalized: &Normalized, matched: bool) {
        if !matched {
            return;
        }
        let file = self.files.borrow().last().copied().unwrap_or(FileId(0));
        let field = searched_field(self.program, file, expr);
        add_hits(
            self.program,
            &mut self.evidence.borrow_mut(),
            set,
            &field,
            original,
            normalized,
        );
    }
}

/// The text a keyword search (`has_any` or `count_matches`) written in
/// `file` searched, as written there (`c.text`): what its hits are filed under.
pub fn searched_field(program: &Program, file: FileId, expr: &TExpr) -> String {
    let text_span = match &expr.kind {
        TExprKind::HasAny(text, _) => text.span,
        TExprKind::Builtin(_, args) => args.first().map_or(expr.span, |a| a.span),
        _ => expr.span,
    };
    field_at(program, file, text_span)
}

/// The searched text written at `span` of `file` (see [`searched_field`]).
pub fn field_at(program: &Program, file: FileId, span: Span) -> String {
    program
        .sources
        .get(file)
        .and_then(|f| f.text.get(span.start as usize..span.end as usize))
        .unwrap_or("text")
        .to_string()
}

/// Adds the hits of keyword set `set` in `original` (prepared as
/// `normalized`, with offsets), a text a search that matched looked at, to
/// `evidence`, filed under `field`: each hit once, at most
/// [`MAX_HITS_PER_FIELD`] per field, the rest counted. Both engines' runs
/// collect evidence through it. Returns how many occurrences the scan found
/// (those already filed and those left out included): more than 0 exactly
/// when the set matches the text.
pub fn add_hits(
    program: &Program,
    evidence: &mut KeywordEvidence,
    set: KeywordSetId,
    field: &str,
    original: &str,
    normalized: &Normalized,
) -> usize {
    let Some(keyword_set) = program.keyword_sets.get(set.index()) else {
        return 0;
    };
    let KeywordEvidence { hits, omitted } = evidence;
    let mut kept = hits.iter().filter(|h| h.field == field).count();
    let mut left_out = 0;
    let mut found = 0;
    for (pattern, start, end) in keyword_set.matcher.find_iter_prepared(&normalized.text) {
        found += 1;
        let (from, to) = normalized.original_range(start, end, original);
        let keyword = keyword_set.entries.get(pattern).map_or("", String::as_str);
        // A search evaluated twice (a function called by two branches)
        // finds the same hits: each is evidence once.
        let seen = |h: &KeywordHit| {
            h.start == from && h.end == to && h.keyword == keyword && h.field == field && h.set == keyword_set.name
        };
        if hits.iter().any(seen) {
            continue;
        }
        if kept == MAX_HITS_PER_FIELD {
            left_out += 1;
            continue;
        }
        kept += 1;
        hits.push(KeywordHit {
            set: keyword_set.name.clone(),
            field: field.to_string(),
            keyword: keyword.to_string(),
            matched: original.get(from..to).unwrap_or("").to_string(),
            start: from,
            end: to,
        });
    }
    if left_out > 0 {
        match omitted.iter_mut().find(|(f, _)| *f == field) {
            Some((_, count)) => *count += left_out,
            None => omitted.push((field.to_string(), left_out)),
        }
    }
    found
}

/// Whether evaluating `expr` may search keywords (`has_any`,
/// `count_matches`), directly or in a function it calls: whether a rule
/// with it as condition has keyword evidence to find.
pub fn searches_keywords(program: &Program, expr: &TExpr) -> bool {
    fn walk(program: &Program, expr: &TExpr, depth: usize) -> bool {
        use crate::program::Builtin;
        // Deeper than any checked program: assume it searches.
        if depth > 2_000 {
            return true;
        }
        match &expr.kind {
            TExprKind::HasAny(..) | TExprKind::Builtin(Builtin::CountMatches(_), _) => true,
            TExprKind::Call(id, args) => {
                args.iter().any(|a| walk(program, a, depth + 1))
                    || program
                        .fns
                        .get(id.index())
                        .is_some_and(|f| walk(program, &f.body, depth + 1))
            }
            _ => expr.children().into_iter().any(|c| walk(program, c, depth + 1)),
        }
    }
    walk(program, expr, 0)
}

/// Puts hits in the order decisions show them: by position, then keyword.
pub fn sort_hits(evidence: &mut KeywordEvidence) {
    evidence
        .hits
        .sort_by(|a, b| (a.start, &a.keyword).cmp(&(b.start, &b.keyword)));
}

/// The source text of `span` in `file`, whitespace folded; `fallback` if
/// the span is not in the file.
fn source_text(program: &Program, file: FileId, span: Span, fallback: &str) -> String {
    program
        .sources
        .get(file)
        .and_then(|f| f.text.get(span.start as usize..span.end as usize))
        .unwrap_or(fallback)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// One line of an explanation: a sub-condition, its value, and its parts.
#[derive(Debug, Clone)]
pub struct Explanation {
    /// The sub-condition as written.
    pub source: String,
    /// Its value (`true`, `42`, `"text"`, `missing`), the run-time error, or
    /// `not evaluated` when short-circuiting skipped it.
    pub value: String,
    /// Its operands, for `and`/`or` chains and `not`.
    pub children: Vec<Explanation>,
}

/// Explains a condition: the value of each boolean sub-condition down to
/// comparisons, tests and keyword matches (`and`/`or` chains and `not` are
/// opened up), as the interpreter computed them in one run, reads of state
/// giving `state`.
pub fn explain_condition(
    program: &Program,
    file: FileId,
    when: &TExpr,
    n_locals: u32,
    record: &Value,
    now: i64,
    state: &[i64],
) -> Explanation {
    let mut shown = Vec::new();
    shown_nodes(when, &mut shown);
    let observer = ValueObserver {
        shown: shown.iter().map(|e| *e as *const TExpr).collect(),
        values: RefCell::new(HashMap::new()),
    };
    let interpreter = Interpreter::with_observer(program, &observer).with_state(state);
    let mut frame = record_frame(record, n_locals);
    let _ = interpreter.eval_expr(when, &mut frame, now);
    let values = observer.values.into_inner();
    build(program, file, when, &values)
}

/// Records the first value the interpreter computed for each shown node.
/// Shown nodes lie outside functions and quantifiers, so each is evaluated
/// at most once per run.
struct ValueObserver {
    shown: std::collections::HashSet<*const TExpr>,
    values: RefCell<HashMap<*const TExpr, Eval>>,
}

impl Observer for ValueObserver {
    fn value(&self, expr: &TExpr, result: &Eval) {
        let key = expr as *const TExpr;
        if self.shown.contains(&key) {
            self.values.borrow_mut().entry(key).or_insert_with(|| result.clone());
        }
    }
}

/// The nodes an explanation shows: the condition, and the operands of its
/// `and`/`or` chains and `not`s.
fn shown_nodes<'e>(expr: &'e TExpr, out: &mut Vec<&'e TExpr>) {
    out.push(expr);
    match &expr.kind {
        TExprKind::And(..) | TExprKind::Or(..) => {
            let mut operands = Vec::new();
            flatten(expr, matches!(expr.kind, TExprKind::And(..)), &mut operands);
            for operand in operands {
                shown_nodes(operand, out);
            }
        }
        TExprKind::Not(inner) => shown_nodes(inner, out),
        _ => {}
    }
}

fn build(program: &Program, file: FileId, expr: &TExpr, values: &HashMap<*const TExpr, Eval>) -> Explanation {
    let value = match values.get(&(expr as *const TExpr)) {
        None => String::from("not evaluated"),
        Some(Ok(v)) => show(program, v, &expr.ty),
        Some(Err(e)) => format!("error: {}", e.kind),
    };
    let children = match &expr.kind {
        // A chain `a and b and c` is shown as one list of operands.
        TExprKind::And(..) | TExprKind::Or(..) => {
            let mut operands = Vec::new();
            flatten(expr, matches!(expr.kind, TExprKind::And(..)), &mut operands);
            operands
                .into_iter()
                .map(|operand| build(program, file, operand, values))
                .collect()
        }
        TExprKind::Not(inner) => vec![build(program, file, inner, values)],
        _ => Vec::new(),
    };
    Explanation {
        source: source_text(program, file, expr.span, "?"),
        value,
        children,
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
