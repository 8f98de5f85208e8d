//! Type checking: turns the resolved AST into the typed [`Program`],
//! reporting every error of every file (not only the first).
//!
//! Optionals are null-safe: a `T?` is usable as a `T` only after `?? default`
//! or where the checker has seen `x is some` hold (`x is some and x > 3`,
//! `if x is none then .. else x + 1`).

use qlp_grammar::ast::{self, BinaryOp, ExprKind, Item, KeywordsSource, UnaryOp};
use qlp_grammar::{Diagnostic, FileId, Span};
use std::collections::{HashMap, HashSet};

use crate::interp::Interpreter;
use crate::load::{clean_path, LoadedFiles};
use crate::pattern::{cache_share, Pattern, PatternError, MAX_PATTERNS_BYTES, MAX_PATTERN_BYTES};
use crate::program::*;
use crate::resolve::{Decl, DeclKind, Lookup, Scope};
use crate::text::{prepare, KeywordMatcher, MatchMode};
use crate::types::Type;
use crate::value::Value;

mod body;
use body::{BodyChecker, BodyKind};
mod calls;
mod campaigns;
mod consts;
mod expr;
mod fns;
mod keywords;
pub use keywords::MAX_KEYWORD_MEMORY;
mod operators;
mod rules;
mod schema;
mod states;
pub use states::MAX_STATES_PER_RECORD;
mod test_blocks;

/// Longest chain of constants defined through other constants, or of
/// functions calling functions: bounds the stack of the checker and of the
/// interpreter.
const MAX_CHAIN: usize = 64;
/// Deepest nesting of a rule's evaluation, counting through function calls.
const MAX_EVAL_DEPTH: usize = 1000;
/// The most expression nodes one rule or exemption may expand to, every
/// function call replaced by the function's body and every list counted by
/// its elements. Evaluation time per record is linear in this size (and in
/// the lengths of the record's lists), and so is the JIT's work.
pub const MAX_RULE_SIZE: u64 = 20_000;
/// The most expression nodes all rules and exemptions together may expand to.
pub const MAX_PROGRAM_SIZE: u64 = 200_000;
/// The most work running a program's tests may take: the sum, over every
/// given record (as often as it is repeated), of [`TEST_RECORD_WORK`] plus
/// the expanded size of its type's rules, exemptions and state
/// declarations. 4 MiB of tests could otherwise ask for billions of
/// evaluations (`given 10000` on every line); this is a few seconds.
pub const MAX_TEST_WORK: u64 = 200_000_000;
/// What one given record costs a test run besides its conditions (laying it
/// out, reading and writing state, comparing the engines), in expression
/// nodes.
pub const TEST_RECORD_WORK: u64 = 64;
/// Bytes of text one unit of test work reads: a node that reads a whole
/// string (a keyword search, a string builtin, a join, a comparison) costs
/// a unit per this many bytes of the given record's strings, a pattern
/// match a unit per byte (a pattern whose lazy DFA gives up matches at
/// ~75 ns a byte).
pub const TEST_TEXT_BYTES: u64 = 16;
/// Lists of constants at least this long are hashed for `in`.
const MIN_HASHED_LIST: usize = 16;

/// A local variable in scope.
struct Local {
    name: String,
    slot: u32,
    ty: Type,
}

/// A path to a value that can be narrowed: a local and a chain of fields.
type PathKey = (u32, Vec<u32>);

enum ConstState {
    Unchecked,
    InProgress,
    Done,
    Failed,
}

pub(crate) struct Checker<'a> {
    pub program: Program,
    scope: &'a Scope,
    files: &'a LoadedFiles,
    /// Keyword automata kept from the check before.
    cache: &'a crate::CheckCache,
    /// The most heap the keyword sets take together.
    keyword_memory: usize,
    /// `matches` patterns compiled, by their text: each is compiled once.
    patterns: HashMap<String, Result<RegexId, PatternError>>,
    /// What the patterns may still take (see [`MAX_PATTERNS_BYTES`]).
    patterns_left: usize,
    /// "Did you mean" hints, within one budget for the check.
    suggestions: crate::resolve::Suggester,
    pub diagnostics: Vec<Diagnostic>,

    file: FileId,

    const_states: Vec<ConstState>,
    const_depth: usize,
    /// Call edges: caller, callee, where.
    calls: Vec<(FnId, FnId, FileId, Span)>,
    /// Each function's expanded size ([`expanded_fn_sizes`]), worked out
    /// once for the rules' budget and the tests'.
    fn_sizes: Vec<u64>,
}

impl<'a> Checker<'a> {
    pub(crate) fn new(
        scope: &'a Scope,
        files: &'a LoadedFiles,
        cache: &'a crate::CheckCache,
        keyword_memory: usize,
    ) -> Checker<'a> {
        Checker {
            program: Program::default(),
            scope,
            files,
            cache,
            keyword_memory,
            patterns: HashMap::new(),
            patterns_left: MAX_PATTERNS_BYTES,
            suggestions: crate::resolve::Suggester::default(),
            diagnostics: Vec::new(),
            file: FileId(0),
            const_states: Vec::new(),
            const_depth: 0,
            calls: Vec::new(),
            fn_sizes: Vec::new(),
        }
    }

    fn item(&self, file: FileId, index: usize) -> Option<&'a Item> {
        self.files
            .asts
            .get(file.0 as usize)
            .and_then(|ast| ast.items.get(index))
    }

    fn error(&mut self, code: &'static str, span: Span, message: impl Into<String>) -> &mut Diagnostic {
        self.diagnostics.push(Diagnostic::error(code, self.file, span, message));
        let last = self.diagnostics.len() - 1;
        #[expect(clippy::indexing_slicing, reason = "the element was just pushed")]
        &mut self.diagnostics[last]
    }

    fn warning(&mut self, code: &'static str, span: Span, message: impl Into<String>) -> &mut Diagnostic {
        self.diagnostics
            .push(Diagnostic::warning(code, self.file, span, message));
        let last = self.diagnostics.len() - 1;
        #[expect(clippy::indexing_slicing, reason = "the element was just pushed")]
        &mut self.diagnostics[last]
    }

    fn ty_name(&self, ty: &Type) -> String {
        ty.display(&self.program).to_string()
    }

    fn location(&self, span: Span) -> Location {
        Location { file: self.file, span }
    }

    /// Runs every stage of checking, in dependency order.
    pub(crate) fn check_all(&mut self) {
        self.declare_time_zone();
        self.declare_enums();
        self.declare_records();
        self.resolve_record_fields();
        let dfa_left = self.check_keyword_sets();
        self.merge_keyword_sets(dfa_left);
        self.declare_campaigns();
        self.declare_consts();
        for index in self.const_order() {
            self.check_const(index);
        }
        self.check_field_defaults();
        self.declare_fns();
        self.check_fn_bodies();
        self.check_call_graph();
        self.check_states();
        self.check_rules();
        self.check_tags_written();
        self.check_exemptions();
        self.check_eval_depth();
        self.check_tests();
        self.share_pattern_caches();
    }

    /// Constants in an order where each comes after the constants it names,
    /// so that checking them needs no recursion. Constants in a cycle come
    /// last, where `check_const` reports the cycle.
    fn const_order(&self) -> Vec<usize> {
        let declarations = self.scope.declarations(DeclKind::Const);
        let index_of = |name: &str, file: FileId| match self.scope.lookup(name, file) {
            Lookup::Found(Decl {
                kind: DeclKind::Const,
                index,
                ..
            }) => Some(index as usize),
            _ => None,
        };
        let mut dependencies: Vec<Vec<usize>> = Vec::new();
        for &(file, item) in declarations {
            let mut names = Vec::new();
            if let Some(Item::Const(decl)) = self.item(file, item) {
                collect_names(&decl.value, &mut names);
            }
            let mut deps: Vec<usize> = names.iter().filter_map(|n| index_of(n, file)).collect();
            deps.sort_unstable();
            deps.dedup();
            dependencies.push(deps);
        }
        // Kahn's algorithm over "depends on" edges.
        let n = dependencies.len();
        let mut remaining: Vec<usize> = dependencies.iter().map(Vec::len).collect();
        let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
        for (i, deps) in dependencies.iter().enumerate() {
            for &d in deps {
                if let Some(list) = dependents.get_mut(d) {
                    list.push(i);
                }
            }
        }
        let mut ready: Vec<usize> = (0..n).filter(|i| remaining.get(*i) == Some(&0)).rev().collect();
        let mut order = Vec::with_capacity(n);
        while let Some(i) = ready.pop() {
            order.push(i);
            for &j in dependents.get(i).map(Vec::as_slice).unwrap_or(&[]) {
                if let Some(r) = remaining.get_mut(j) {
                    *r -= 1;
                    if *r == 0 {
                        ready.push(j);
                    }
                }
            }
        }
        let placed: std::collections::HashSet<usize> = order.iter().copied().collect();
        order.extend((0..n).filter(|i| !placed.contains(i)));
        order
    }

    /// Bounds how deep evaluation can nest, calls included, so that the
    /// interpreter's stack stays bounded on every rule.
    fn check_eval_depth(&mut self) {
        let mut fn_depths: Vec<Option<usize>> = vec![None; self.program.fns.len()];
        // Callees are shallower in the call graph; compute depths by repeated passes
        // (the graph is acyclic and chains are at most MAX_CHAIN long).
        for _ in 0..=MAX_CHAIN {
            let mut changed = false;
            for (i, def) in self.program.fns.iter().enumerate() {
                if fn_depths.get(i).is_some_and(Option::is_some) {
                    continue;
                }
                if let Some(depth) = eval_depth(&def.body, &fn_depths) {
                    if let Some(slot) = fn_depths.get_mut(i) {
                        *slot = Some(depth);
                        changed = true;
                    }
                }
            }
            if !changed {
                break;
            }
        }
        let mut too_deep: Vec<(FileId, Span, String)> = Vec::new();
        for rule in &self.program.rules {
            if eval_depth(&rule.when, &fn_depths).is_none_or(|d| d > MAX_EVAL_DEPTH) {
                too_deep.push((rule.location.file, rule.location.span, format!("rule `{}`", rule.name)));
            }
        }
        for exempt in &self.program.exemptions {
            if eval_depth(&exempt.when, &fn_depths).is_none_or(|d| d > MAX_EVAL_DEPTH) {
                too_deep.push((
                    exempt.location.file,
                    exempt.location.span,
                    format!("exemption `{}`", exempt.name),
                ));
            }
        }
        self.check_expanded_size();
        for (file, span, what) in too_deep {
            self.file = file;
            self.error(
                "qlp::too_complex",
                span,
                format!("{what} nests more than {MAX_EVAL_DEPTH} levels deep, counting the functions it calls"),
            )
            .help = Some(String::from("flatten the condition and its helpers"));
        }
    }

    /// Bounds the size of every rule with its calls expanded (see
    /// [`MAX_RULE_SIZE`]), so that compile time, memory and evaluation time
    /// stay linear in what the author can see. A function that doubles its
    /// callee (`fn f2(x) = f1(x) + f1(x)`) grows exponentially with the
    /// chain: that is caught here, before anything is compiled.
    fn check_expanded_size(&mut self) {
        self.fn_sizes = expanded_fn_sizes(&self.program);
        let fn_sizes = &self.fn_sizes;
        let mut total: u64 = 0;
        let mut too_large: Vec<(FileId, Span, String, u64)> = Vec::new();
        let bodies = self
            .program
            .rules
            .iter()
            .map(|r| (&r.when, r.location, format!("rule `{}`", r.name)))
            .chain(
                self.program
                    .exemptions
                    .iter()
                    .map(|e| (&e.when, e.location, format!("exemption `{}`", e.name))),
            );
        for (when, location, what) in bodies {
            let size = expanded_size(when, fn_sizes);
            total = total.saturating_add(size);
            // INVARIANT: a checked program has no rule or exemption past
            // MAX_RULE_SIZE: evaluation and the JIT's work are bounded by it.
            if size > MAX_RULE_SIZE {
                too_large.push((location.file, location.span, what, size));
            }
        }
        for (file, span, what, size) in too_large {
            self.file = file;
            self.error(
                "qlp::too_complex",
                span,
                format!("{what} expands to {size} expression nodes, more than the limit of {MAX_RULE_SIZE}"),
            )
            .help = Some(String::from(
                "every call counts its function's whole body: a function that calls another twice doubles it; \
                 compute shared values once with `let`, and keep long lists in keyword sets",
            ));
        }
        if total > MAX_PROGRAM_SIZE && !self.diagnostics.iter().any(|d| d.code == "qlp::too_complex") {
            if let Some(rule) = self.program.rules.first() {
                let location = rule.location;
                self.file = location.file;
                self.error(
                    "qlp::too_complex",
                    location.span,
                    format!(
                        "the rules and exemptions expand to {total} expression nodes together, more than the limit of {MAX_PROGRAM_SIZE}"
                    ),
                )
                .help = Some(String::from("split the policy set, or share work between rules through functions of few calls"));
            }
        }
    }
}

#[derive(Default)]
struct RuleItems<'i> {
    campaign: Option<&'i ast::Ident>,
    when: Option<&'i ast::Expr>,
    then: Option<&'i Vec<ast::Action>>,
    reason: Option<&'i ast::StrLit>,
    cancels: Option<&'i Vec<ast::CancelTarget>>,
    shadow: Option<(bool, Span)>,
}

/// Whether values of `ty` are stored without pointers to other values
/// (everything but records and lists), as list literal elements must be.
fn is_flat(ty: &Type) -> bool {
    match ty {
        Type::Record(_) | Type::List(_) => false,
        Type::Optional(inner) => is_flat(inner),
        _ => true,
    }
}

fn is_int_literal(expr: &ast::Expr) -> bool {
    match &expr.kind {
        ExprKind::Int(_) => true,
        ExprKind::Unary(UnaryOp::Neg, inner) | ExprKind::Paren(inner) => is_int_literal(inner),
        _ => false,
    }
}

pub(crate) fn scalar_of(ty: &Type) -> Option<Scalar> {
    Some(match ty {
        Type::Bool => Scalar::Bool,
        Type::Int => Scalar::Int,
        Type::Float => Scalar::Float,
        Type::String => Scalar::String,
        Type::Time => Scalar::Time,
        Type::Duration => Scalar::Duration,
        Type::Enum(_) => Scalar::Enum,
        _ => return None,
    })
}

/// Names an expression mentions (over-approximating: locals included).
fn collect_names(expr: &ast::Expr, names: &mut Vec<String>) {
    match &expr.kind {
        ExprKind::Name(name) => names.push(name.name.clone()),
        ExprKind::Field(base, _) | ExprKind::Paren(base) | ExprKind::Unary(_, base) => collect_names(base, names),
        ExprKind::IsSome { operand, .. } => collect_names(operand, names),
        ExprKind::Call(_, args) | ExprKind::List(args) => args.iter().for_each(|a| collect_names(a, names)),
        ExprKind::Binary(_, a, b) | ExprKind::Let(_, a, b) => {
            collect_names(a, names);
            collect_names(b, names);
        }
        ExprKind::If(a, b, c) => {
            collect_names(a, names);
            collect_names(b, names);
            collect_names(c, names);
        }
        ExprKind::Quantifier { list, predicate, .. } => {
            collect_names(list, names);
            collect_names(predicate, names);
        }
        _ => {}
    }
}

/// How deep evaluating `expr` nests, calls included; `None` if it calls a
/// function whose depth is not known yet.
fn eval_depth(expr: &TExpr, fn_depths: &[Option<usize>]) -> Option<usize> {
    let mut deepest = 0;
    if let TExprKind::Call(id, _) = &expr.kind {
        deepest = fn_depths.get(id.index()).copied().flatten()?;
    }
    for child in expr.children() {
        deepest = deepest.max(eval_depth(child, fn_depths)?);
    }
    Some(deepest + 1)
}

/// Each function of a program with its calls expanded, in nodes (see
/// [`MAX_RULE_SIZE`]). Calls form no cycle in a checked program, so the sizes
/// are stable after as many rounds as the longest chain of calls; the rounds
/// are bounded all the same.
pub fn expanded_fn_sizes(program: &Program) -> Vec<u64> {
    expanded_fn_counts(program, node_weight)
}

/// Each function of a program with its calls expanded, each node counted
/// as `weight` says (see [`expanded_fn_sizes`]).
pub fn expanded_fn_counts(program: &Program, weight: fn(&TExpr) -> u64) -> Vec<u64> {
    let mut counts: Vec<u64> = vec![0; program.fns.len()];
    for _ in 0..=MAX_CHAIN {
        let next: Vec<u64> = program
            .fns
            .iter()
            .map(|def| expanded_count(&def.body, &counts, weight))
            .collect();
        if next == counts {
            break;
        }
        counts = next;
    }
    counts
}

/// The number of nodes `expr` expands to, each call counting its function's
/// expanded body (`fn_sizes`) and each constant list its elements. Saturates.
pub fn expanded_size(expr: &TExpr, fn_sizes: &[u64]) -> u64 {
    expanded_count(expr, fn_sizes, node_weight)
}

/// A node, and a constant list's elements.
fn node_weight(expr: &TExpr) -> u64 {
    match &expr.kind {
        TExprKind::Const(Value::List(items)) => 1 + items.len() as u64,
        _ => 1,
    }
}

/// `expr` with its calls expanded (each counting its function's expanded
/// count, `fn_counts`), each node counted as `weight` says. Saturates.
pub fn expanded_count(expr: &TExpr, fn_counts: &[u64], weight: fn(&TExpr) -> u64) -> u64 {
    let own = match &expr.kind {
        TExprKind::Call(id, _) => fn_counts.get(id.index()).copied().unwrap_or(0),
        _ => 0,
    };
    expr.children()
        .into_iter()
        .fold(own.saturating_add(weight(expr)), |sum, child| {
            sum.saturating_add(expanded_count(child, fn_counts, weight))
        })
}

/// The narrowable path an expression denotes: a local and fields of it.
fn path_key(expr: &TExpr) -> Option<PathKey> {
    match &expr.kind {
        TExprKind::Local(slot) => Some((*slot, Vec::new())),
        TExprKind::Field(base, field) => {
            let (slot, mut fields) = path_key(base)?;
            fields.push(*field);
            Some((slot, fields))
        }
        TExprKind::Unwrap(inner) => path_key(inner),
        _ => None,
    }
}

/// Paths known present when `cond` is true, and when it is false.
fn facts(cond: &TExpr) -> (Vec<PathKey>, Vec<PathKey>) {
    match &cond.kind {
        TExprKind::IsSome(operand, negated) => {
            let paths: Vec<PathKey> = path_key(operand).into_iter().collect();
            if *negated {
                (Vec::new(), paths)
            } else {
                (paths, Vec::new())
            }
        }
        TExprKind::Not(inner) => {
            let (t, f) = facts(inner);
            (f, t)
        }
        TExprKind::And(a, b) => {
            let (mut t, _) = facts(a);
            t.extend(facts(b).0);
            (t, Vec::new())
        }
        TExprKind::Or(a, b) => {
            let (_, mut f) = facts(a);
            f.extend(facts(b).1);
            (Vec::new(), f)
        }
        _ => (Vec::new(), Vec::new()),
    }
}

/// The source text of a span in the current file, for messages.
fn print_path(span: Span, checker: &Checker<'_>) -> String {
    checker
        .files
        .sources
        .get(checker.file)
        .and_then(|f| f.text.get(span.start as usize..span.end as usize))
        .unwrap_or("this value")
        .to_string()
}

/// The most names a help lists (a record may have thousands of fields).
const LISTED: usize = 20;

/// `names` for a help, joined by commas (each in backticks when `quoted`):
/// at most [`LISTED`] of them, and how many more.
fn listed<T: std::fmt::Display>(names: impl IntoIterator<Item = T>, quoted: bool) -> String {
    let mut out = String::new();
    let mut more = 0usize;
    for (i, name) in names.into_iter().enumerate() {
        if i >= LISTED {
            more += 1;
            continue;
        }
        if i > 0 {
            out.push_str(", ");
        }
        match quoted {
            true => out.push_str(&format!("`{name}`")),
            false => out.push_str(&name.to_string()),
        }
    }
    if more > 0 {
        out.push_str(&format!(" and {more} more"));
    }
    out
}
