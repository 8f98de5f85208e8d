//! Type checking: turns the resolved AST into the typed [`Program`],
//! reporting every error of every file (not only the first).
//!
//! Optionals are null-safe: a `T?` is usable as a `T` only after `?? default`
//! or where the checker has seen `x is some` hold (`x is some and x > 3`,
//! `if x is none then .. else x + 1`).

use qlp_grammar::ast::{self, BinaryOp, ExprKind, Item, KeywordsSource, UnaryOp};
use qlp_grammar::{Diagnostic, FileId, Span};

use crate::interp::Interpreter;
use crate::load::{clean_path, LoadedFiles};
use crate::program::*;
use crate::resolve::{suggest, Decl, DeclKind, Lookup, Scope};
use crate::text::{prepare, KeywordMatcher, MatchMode};
use crate::types::Type;
use crate::value::Value;

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
/// Lists of constants at least this long are hashed for `in`.
const MIN_HASHED_LIST: usize = 16;
/// Largest compiled regex, in bytes.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

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
    pub diagnostics: Vec<Diagnostic>,

    file: FileId,
    locals: Vec<Local>,
    n_locals: u32,
    narrowed: Vec<PathKey>,
    allow_now: bool,
    allow_locals: bool,
    allow_calls: bool,
    current_fn: Option<FnId>,

    const_states: Vec<ConstState>,
    const_depth: usize,
    /// Call edges: caller, callee, where.
    calls: Vec<(FnId, FnId, FileId, Span)>,
}

impl<'a> Checker<'a> {
    pub(crate) fn new(scope: &'a Scope, files: &'a LoadedFiles) -> Checker<'a> {
        Checker {
            program: Program::default(),
            scope,
            files,
            diagnostics: Vec::new(),
            file: FileId(0),
            locals: Vec::new(),
            n_locals: 0,
            narrowed: Vec::new(),
            allow_now: true,
            allow_locals: true,
            allow_calls: true,
            current_fn: None,
            const_states: Vec::new(),
            const_depth: 0,
            calls: Vec::new(),
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

    fn ty_name(&self, ty: &Type) -> String {
        ty.display(&self.program).to_string()
    }

    fn location(&self, span: Span) -> Location {
        Location { file: self.file, span }
    }

    /// Runs every stage of checking, in dependency order.
    pub(crate) fn check_all(&mut self) {
        self.declare_enums();
        self.declare_records();
        self.resolve_record_fields();
        self.check_keyword_sets();
        self.merge_keyword_sets();
        self.declare_campaigns();
        self.declare_consts();
        for index in self.const_order() {
            self.check_const(index);
        }
        self.declare_fns();
        self.check_fn_bodies();
        self.check_call_graph();
        self.check_rules();
        self.check_exemptions();
        self.check_eval_depth();
        self.check_tests();
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
        let fn_sizes = expanded_fn_sizes(&self.program);
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
            let size = expanded_size(when, &fn_sizes);
            total = total.saturating_add(size);
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

    // ------------------------------------------------------------ schema

    fn declare_enums(&mut self) {
        for &(file, index) in self.scope.declarations(DeclKind::Enum) {
            let Some(Item::Enum(decl)) = self.item(file, index) else {
                continue;
            };
            self.file = file;
            let mut variants: Vec<String> = Vec::new();
            for variant in &decl.variants {
                if variants.contains(&variant.name) {
                    self.error(
                        "qlp::duplicate_variant",
                        variant.span,
                        format!("enum `{}` lists `{}` twice", decl.name.name, variant.name),
                    )
                    .label = String::from("listed again here");
                } else {
                    variants.push(variant.name.clone());
                }
            }
            if variants.is_empty() {
                self.error(
                    "qlp::empty_enum",
                    decl.name.span,
                    format!("enum `{}` has no variants", decl.name.name),
                )
                .help = Some(String::from("list its values: `enum Kind { post, comment }`"));
                variants.push(String::from("_"));
            }
            self.program.enums.push(EnumDef {
                name: decl.name.name.clone(),
                variants,
                location: Location { file, span: decl.span },
            });
        }
    }

    fn declare_records(&mut self) {
        for &(file, index) in self.scope.declarations(DeclKind::Record) {
            let Some(Item::Record(decl)) = self.item(file, index) else {
                continue;
            };
            self.program.records.push(RecordDef {
                name: decl.name.name.clone(),
                fields: Vec::new(),
                location: Location { file, span: decl.span },
            });
        }
    }

    fn resolve_record_fields(&mut self) {
        let declarations = self.scope.declarations(DeclKind::Record);
        for (record_index, &(file, index)) in declarations.iter().enumerate() {
            let Some(Item::Record(decl)) = self.item(file, index) else {
                continue;
            };
            self.file = file;
            let mut fields: Vec<FieldDef> = Vec::new();
            for field in &decl.fields {
                let ty = self.resolve_type(&field.ty);
                if fields.iter().any(|f| f.name == field.name.name) {
                    self.error(
                        "qlp::duplicate_field",
                        field.name.span,
                        format!("record `{}` declares `{}` twice", decl.name.name, field.name.name),
                    )
                    .label = String::from("declared again here");
                    continue;
                }
                fields.push(FieldDef {
                    name: field.name.name.clone(),
                    ty,
                    span: field.span,
                });
            }
            if let Some(record) = self.program.records.get_mut(record_index) {
                record.fields = fields;
            }
        }
        // A record may not contain itself except through an optional or a list:
        // every record needs a finite default value.
        for record_index in 0..self.program.records.len() {
            if let Some(span) = self.self_containing_field(RecordId(record_index as u32)) {
                let location = self
                    .program
                    .records
                    .get(record_index)
                    .map(|r| (r.location.file, r.name.clone()));
                if let Some((file, name)) = location {
                    self.file = file;
                    self.error(
                        "qlp::recursive_record",
                        span,
                        format!("record `{name}` contains itself"),
                    )
                    .help = Some(String::from("make the field optional (`T?`) or a list (`[T]`)"));
                }
            }
        }
    }

    /// A field through which `start` contains itself without an optional or list in between.
    fn self_containing_field(&self, start: RecordId) -> Option<Span> {
        let mut stack = vec![(start, None::<Span>)];
        let mut seen = vec![start];
        while let Some((record, via)) = stack.pop() {
            for field in self.program.record(record).map(|r| r.fields.as_slice()).unwrap_or(&[]) {
                if let Type::Record(inner) = field.ty {
                    let via = via.or(Some(field.span));
                    if inner == start {
                        return via;
                    }
                    if !seen.contains(&inner) {
                        seen.push(inner);
                        stack.push((inner, via));
                    }
                }
            }
        }
        None
    }

    fn resolve_type(&mut self, ty: &ast::TypeExpr) -> Type {
        match &ty.kind {
            ast::TypeExprKind::List(element) => Type::List(Box::new(self.resolve_type(element))),
            ast::TypeExprKind::Optional(inner) => {
                let inner_ty = self.resolve_type(inner);
                if matches!(inner_ty, Type::Optional(_)) {
                    self.error("qlp::double_optional", ty.span, "a type cannot be optional twice")
                        .help = Some(String::from("write `T?` once"));
                }
                inner_ty.optional()
            }
            ast::TypeExprKind::Named(name) => match name.name.as_str() {
                "bool" => Type::Bool,
                "int" => Type::Int,
                "float" => Type::Float,
                "string" => Type::String,
                "time" => Type::Time,
                "duration" => Type::Duration,
                other => match self.scope.lookup(other, self.file) {
                    Lookup::Found(Decl {
                        kind: DeclKind::Enum,
                        index,
                        ..
                    }) => Type::Enum(EnumId(index)),
                    Lookup::Found(Decl {
                        kind: DeclKind::Record,
                        index,
                        ..
                    }) => Type::Record(RecordId(index)),
                    Lookup::Found(decl) => {
                        self.error(
                            "qlp::not_a_type",
                            name.span,
                            format!("`{other}` is {}, not a type", decl.kind.describe()),
                        )
                        .label = String::from("expected a type");
                        Type::Error
                    }
                    lookup => {
                        self.unresolved(lookup, name, &[DeclKind::Enum, DeclKind::Record], "type");
                        Type::Error
                    }
                },
            },
        }
    }

    /// Reports a name that did not resolve.
    fn unresolved(&mut self, lookup: Lookup, name: &ast::Ident, kinds: &[DeclKind], what: &str) {
        match lookup {
            Lookup::NotImported(decl) => {
                let declared_in = self.files.sources.name(decl.file).to_string();
                let import = self.relative_import(decl.file);
                self.error(
                    "qlp::not_imported",
                    name.span,
                    format!(
                        "`{}` is declared in `{declared_in}`, which this file does not import",
                        name.name
                    ),
                )
                .set_label("not visible here")
                .help = Some(format!("add `import \"{import}\"` at the top of this file"));
            }
            _ => {
                let mut candidates = self.scope.visible_names(self.file, kinds);
                if kinds.contains(&DeclKind::Enum) {
                    candidates.extend(["bool", "int", "float", "string", "time", "duration"]);
                }
                let locals: Vec<String> = self.locals.iter().map(|l| l.name.clone()).collect();
                candidates.extend(locals.iter().map(String::as_str));
                let hint = suggest(&name.name, candidates).map(str::to_string);
                let diagnostic = self
                    .error(
                        "qlp::unknown_name",
                        name.span,
                        format!("unknown {what} `{}`", name.name),
                    )
                    .set_label(format!("not a known {what}"));
                if let Some(hint) = hint {
                    diagnostic.help = Some(format!("did you mean `{hint}`?"));
                }
            }
        }
    }

    /// The import path from the current file to `target`.
    fn relative_import(&self, target: FileId) -> String {
        let from = self.files.path(self.file).and_then(|p| p.parent()).map(clean_path);
        let to = self.files.path(target).map(clean_path).unwrap_or_default();
        let Some(from) = from else {
            return to.display().to_string();
        };
        let from_parts: Vec<_> = from.components().collect();
        let to_parts: Vec<_> = to.components().collect();
        let common = from_parts.iter().zip(&to_parts).take_while(|(a, b)| a == b).count();
        let mut path = std::path::PathBuf::new();
        for _ in common..from_parts.len() {
            path.push("..");
        }
        for part in to_parts.iter().skip(common) {
            path.push(part);
        }
        path.display().to_string()
    }

    // ------------------------------------------------------------ keyword sets

    fn check_keyword_sets(&mut self) {
        for &(file, index) in self.scope.declarations(DeclKind::Keywords) {
            let Some(Item::Keywords(decl)) = self.item(file, index) else {
                continue;
            };
            self.file = file;
            let entries: Vec<(String, Span)> = match &decl.source {
                KeywordsSource::Inline(entries) => entries.iter().map(|e| (e.value.clone(), e.span)).collect(),
                // Read by the loader; a file it could not read has its diagnostic already.
                KeywordsSource::File(path) => self
                    .files
                    .keyword_file(file, path.span)
                    .iter()
                    .map(|entry| (entry.clone(), path.span))
                    .collect(),
            };
            let mode = self.keyword_mode(decl);
            let mut prepared: Vec<String> = Vec::new();
            let mut originals: Vec<String> = Vec::new();
            let mut repeats: Vec<(String, String)> = Vec::new();
            let mut index_of: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
            let mut empties = 0usize;
            for (entry, span) in entries {
                let entry = entry.trim();
                let key = match mode {
                    MatchMode::Exact => entry.to_string(),
                    mode => prepare(entry, mode).trim().to_string(),
                };
                if key.is_empty() {
                    empties += 1;
                    if empties == 1 {
                        self.diagnostics.push(
                            Diagnostic::warning(
                                "qlp::empty_keyword",
                                file,
                                span,
                                format!("keyword `{entry}` is empty after normalization and never matches"),
                            )
                            .with_help("keywords match letters and digits; spaces and punctuation are ignored"),
                        );
                    }
                    continue;
                }
                if let Some(&first) = index_of.get(&key) {
                    if repeats.len() < 3 {
                        let earlier = originals.get(first).cloned().unwrap_or_default();
                        repeats.push((entry.to_string(), earlier));
                    } else {
                        repeats.push((String::new(), String::new()));
                    }
                    continue;
                }
                index_of.insert(key.clone(), prepared.len());
                prepared.push(key);
                originals.push(entry.to_string());
            }
            let matcher = match KeywordMatcher::new(prepared, mode) {
                Ok(matcher) => matcher,
                Err(message) => {
                    self.error(
                        "qlp::keywords_too_large",
                        decl.name.span,
                        format!("keyword set `{}` could not be compiled: {message}", decl.name.name),
                    )
                    .help = Some(String::from("split the set into smaller sets"));
                    match KeywordMatcher::new(Vec::new(), mode) {
                        Ok(matcher) => matcher,
                        Err(_) => continue,
                    }
                }
            };
            // Repeats are merged here and reported once, by the linter
            // (QLP108 duplicate-keyword).
            let repeated = repeats.len();
            repeats.retain(|(entry, _)| !entry.is_empty());
            self.program.keyword_sets.push(KeywordSet {
                name: decl.name.name.clone(),
                entries: originals,
                matcher,
                location: Location { file, span: decl.span },
                repeated,
                repeat_examples: repeats,
            });
        }
    }

    /// Builds one automaton per match mode over every keyword set of it.
    fn merge_keyword_sets(&mut self) {
        let mut merged = Vec::new();
        for mode in [MatchMode::Normalized, MatchMode::Word, MatchMode::Exact] {
            let sets: Vec<(usize, &KeywordMatcher)> = self
                .program
                .keyword_sets
                .iter()
                .enumerate()
                .filter(|(_, s)| s.matcher.mode() == mode)
                .map(|(i, s)| (i, &s.matcher))
                .collect();
            // One set alone is matched directly (its automaton can stop at the first match).
            merged.push(if sets.len() < 2 {
                None
            } else {
                crate::text::MergedKeywords::new(&sets, mode).ok()
            });
        }
        self.program.merged_keywords = merged;
    }

    /// The match mode from a keyword set's options.
    fn keyword_mode(&mut self, decl: &ast::KeywordsDecl) -> MatchMode {
        let mut mode = MatchMode::Normalized;
        for option in &decl.options {
            let chosen = match option.name.as_str() {
                "word" => MatchMode::Word,
                "exact" => MatchMode::Exact,
                other => {
                    self.error(
                        "qlp::keyword_option",
                        option.span,
                        format!("unknown keyword set option `{other}`"),
                    )
                    .help = Some(String::from(
                        "options are `word` (Latin entries match whole words) and `exact` (no normalization, case-sensitive)",
                    ));
                    continue;
                }
            };
            if mode != MatchMode::Normalized && mode != chosen {
                self.error(
                    "qlp::keyword_option",
                    option.span,
                    "`word` and `exact` cannot be combined",
                )
                .help = Some(String::from("choose one match mode per keyword set"));
            }
            mode = chosen;
        }
        mode
    }

    // ------------------------------------------------------------ campaigns

    fn declare_campaigns(&mut self) {
        for &(file, index) in self.scope.declarations(DeclKind::Campaign) {
            let Some(Item::Campaign(decl)) = self.item(file, index) else {
                continue;
            };
            self.file = file;
            let mut title = None;
            let mut active = None;
            let mut max_action = None;
            let mut seen: Vec<&str> = Vec::new();
            for prop in &decl.props {
                let (key, span) = match prop {
                    ast::CampaignProp::Title(t) => ("title", t.span),
                    ast::CampaignProp::Active { span, .. } => ("active", *span),
                    ast::CampaignProp::MaxAction(kind) => ("max_action", kind.span),
                };
                if seen.contains(&key) {
                    self.error(
                        "qlp::duplicate_item",
                        span,
                        format!("campaign `{}` sets `{key}` twice", decl.name.name),
                    )
                    .label = String::from("set again here");
                    continue;
                }
                seen.push(key);
                match prop {
                    ast::CampaignProp::Title(t) => title = Some(t.value.clone()),
                    ast::CampaignProp::Active { start, end, span } => {
                        let end_micros = if end.date_only {
                            end.micros.saturating_add(86_400 * qlp_grammar::time::MICROS_PER_SECOND)
                        } else {
                            end.micros
                        };
                        if start.micros >= end_micros {
                            self.error("qlp::empty_period", *span, "the active period ends before it starts")
                                .help = Some(String::from(
                                "write the start first: `active: 2022-03-17 .. 2022-12-31`",
                            ));
                        }
                        active = Some((start.micros, end_micros));
                    }
                    ast::CampaignProp::MaxAction(kind) => max_action = Some(kind.kind),
                }
            }
            self.program.campaigns.push(CampaignDef {
                name: decl.name.name.clone(),
                title,
                active,
                max_action,
                location: Location { file, span: decl.span },
            });
        }
    }

    // ------------------------------------------------------------ constants

    fn declare_consts(&mut self) {
        for &(file, index) in self.scope.declarations(DeclKind::Const) {
            let Some(Item::Const(decl)) = self.item(file, index) else {
                continue;
            };
            self.program.consts.push(ConstDef {
                name: decl.name.name.clone(),
                ty: Type::Error,
                value: Value::Absent,
                location: Location { file, span: decl.span },
            });
            self.const_states.push(ConstState::Unchecked);
        }
    }

    /// Checks and evaluates constant `index` (and, first, the constants it uses).
    fn check_const(&mut self, index: usize) {
        match self.const_states.get(index) {
            Some(ConstState::Unchecked) => {}
            _ => return,
        }
        let Some(&(file, item_index)) = self.scope.declarations(DeclKind::Const).get(index) else {
            return;
        };
        let Some(Item::Const(decl)) = self.item(file, item_index) else {
            return;
        };
        if let Some(state) = self.const_states.get_mut(index) {
            *state = ConstState::InProgress;
        }
        self.const_depth += 1;
        let saved = self.enter_body(file, false, false);
        let declared = decl.ty.as_ref().map(|ty| self.resolve_type(ty));
        let (ty, value) = if self.const_depth > MAX_CHAIN {
            self.error(
                "qlp::chain_too_long",
                decl.name.span,
                format!(
                    "constant `{}` is defined through more than {MAX_CHAIN} other constants",
                    decl.name.name
                ),
            )
            .help = Some(String::from("define it directly"));
            (Type::Error, None)
        } else {
            let errors_before = self.error_count();
            let expr = self.expr(&decl.value, declared.as_ref());
            if let Some(declared) = &declared {
                self.expect_type(&expr, declared);
            }
            let value = if expr.ty.is_error() || self.error_count() > errors_before {
                None
            } else {
                match Interpreter::new(&self.program).eval_expr(&expr, &mut Vec::new(), 0) {
                    Ok(value) => Some(value),
                    Err(error) => {
                        self.error(
                            "qlp::const_eval",
                            error.span,
                            format!("constant `{}` cannot be computed: {}", decl.name.name, error.kind),
                        )
                        .set_label("fails here")
                        .set_help("constants are computed when the policy is compiled");
                        None
                    }
                }
            };
            (declared.unwrap_or(expr.ty), value)
        };
        self.leave_body(saved);
        self.const_depth -= 1;
        let failed = value.is_none();
        if let Some(def) = self.program.consts.get_mut(index) {
            def.ty = if failed { Type::Error } else { ty };
            def.value = value.unwrap_or(Value::Absent);
        }
        if let Some(state) = self.const_states.get_mut(index) {
            *state = if failed { ConstState::Failed } else { ConstState::Done };
        }
    }

    fn error_count(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }

    // ------------------------------------------------------------ functions

    fn declare_fns(&mut self) {
        for &(file, index) in self.scope.declarations(DeclKind::Fn) {
            let Some(Item::Fn(decl)) = self.item(file, index) else {
                continue;
            };
            self.file = file;
            let mut params: Vec<(String, Type)> = Vec::new();
            for param in &decl.params {
                let ty = self.resolve_type(&param.ty);
                if params.iter().any(|(name, _)| *name == param.name.name) {
                    self.error(
                        "qlp::duplicate_param",
                        param.name.span,
                        format!("parameter `{}` is declared twice", param.name.name),
                    )
                    .label = String::from("declared again here");
                }
                params.push((param.name.name.clone(), ty));
            }
            let ret = self.resolve_type(&decl.ret);
            self.program.fns.push(FnDef {
                name: decl.name.name.clone(),
                params,
                ret,
                body: TExpr {
                    kind: TExprKind::Const(Value::Absent),
                    ty: Type::Error,
                    span: decl.body.span,
                },
                n_locals: 0,
                location: Location { file, span: decl.span },
            });
        }
    }

    fn check_fn_bodies(&mut self) {
        let declarations = self.scope.declarations(DeclKind::Fn);
        for (fn_index, &(file, index)) in declarations.iter().enumerate() {
            let Some(Item::Fn(decl)) = self.item(file, index) else {
                continue;
            };
            let Some(def) = self.program.fns.get(fn_index) else {
                continue;
            };
            let params = def.params.clone();
            let ret = def.ret.clone();
            let saved = self.enter_body(file, true, true);
            self.current_fn = Some(FnId(fn_index as u32));
            for (name, ty) in params {
                self.bind_local(name, ty);
            }
            let body = self.expr(&decl.body, Some(&ret));
            self.expect_type(&body, &ret);
            let n_locals = self.n_locals;
            self.leave_body(saved);
            if let Some(def) = self.program.fns.get_mut(fn_index) {
                def.body = body;
                def.n_locals = n_locals;
            }
        }
    }

    /// Functions may not call themselves, directly or not, and call chains are bounded.
    fn check_call_graph(&mut self) {
        let n = self.program.fns.len();
        let mut callees: Vec<Vec<(usize, FileId, Span)>> = vec![Vec::new(); n];
        for (caller, callee, file, span) in &self.calls {
            if let Some(list) = callees.get_mut(caller.index()) {
                list.push((callee.index(), *file, *span));
            }
        }
        // Longest chain below each function; `None` while on the stack (a cycle).
        let mut depth: Vec<Option<Option<usize>>> = vec![None; n];
        let mut reported = vec![false; n];
        for start in 0..n {
            if depth.get(start).is_some_and(Option::is_some) {
                continue;
            }
            let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
            if let Some(d) = depth.get_mut(start) {
                *d = Some(None);
            }
            while let Some(&(f, edge)) = stack.last() {
                let next = callees.get(f).and_then(|c| c.get(edge)).copied();
                match next {
                    Some((g, file, span)) => {
                        if let Some(top) = stack.last_mut() {
                            top.1 += 1;
                        }
                        match depth.get(g).copied().flatten() {
                            None => {
                                if let Some(d) = depth.get_mut(g) {
                                    *d = Some(None);
                                }
                                stack.push((g, 0));
                            }
                            Some(None) => {
                                if !reported.get(f).copied().unwrap_or(true) {
                                    if let Some(r) = reported.get_mut(f) {
                                        *r = true;
                                    }
                                    let name = self.program.fns.get(g).map(|d| d.name.clone()).unwrap_or_default();
                                    self.file = file;
                                    self.error(
                                        "qlp::recursion",
                                        span,
                                        format!("function `{name}` calls itself, directly or through other functions"),
                                    )
                                    .set_label("recursive call")
                                    .help = Some(String::from(
                                        "qlp functions cannot recurse, so that every rule finishes in linear time",
                                    ));
                                }
                            }
                            Some(Some(_)) => {}
                        }
                    }
                    None => {
                        stack.pop();
                        let below = callees
                            .get(f)
                            .into_iter()
                            .flatten()
                            .filter_map(|(g, _, _)| depth.get(*g).copied().flatten().flatten())
                            .max()
                            .map_or(0, |d| d + 1);
                        if let Some(d) = depth.get_mut(f) {
                            *d = Some(Some(below));
                        }
                        if below > MAX_CHAIN && !reported.get(f).copied().unwrap_or(true) {
                            if let Some(r) = reported.get_mut(f) {
                                *r = true;
                            }
                            let (file, span, name) = self
                                .program
                                .fns
                                .get(f)
                                .map(|d| (d.location.file, d.location.span, d.name.clone()))
                                .unwrap_or_default();
                            self.file = file;
                            self.error(
                                "qlp::chain_too_long",
                                span,
                                format!("function `{name}` calls a chain of more than {MAX_CHAIN} functions"),
                            )
                            .help = Some(String::from("flatten the helpers"));
                        }
                    }
                }
            }
        }
    }

    // ------------------------------------------------------------ rules

    fn rule_param(&mut self, param: &ast::Param) -> Option<RecordId> {
        let ty = self.resolve_type(&param.ty);
        match ty {
            Type::Record(id) => Some(id),
            Type::Error => None,
            other => {
                let name = self.ty_name(&other);
                self.error(
                    "qlp::rule_param",
                    param.ty.span,
                    format!("a rule applies to a record type, not `{name}`"),
                )
                .help = Some(String::from("write `rule name(c: Content) { ... }`"));
                None
            }
        }
    }

    fn campaign_ref(&mut self, name: &ast::Ident) -> Option<CampaignId> {
        self.decl_ref(name, DeclKind::Campaign, "qlp::not_a_campaign", "campaign")
            .map(CampaignId)
    }

    fn rule_ref(&mut self, name: &ast::Ident) -> Option<RuleId> {
        self.decl_ref(name, DeclKind::Rule, "qlp::not_a_rule", "rule")
            .map(RuleId)
    }

    /// Resolves a name that must declare a `kind`; reports anything else.
    fn decl_ref(&mut self, name: &ast::Ident, kind: DeclKind, code: &'static str, what: &str) -> Option<u32> {
        match self.scope.lookup(&name.name, self.file) {
            Lookup::Found(decl) if decl.kind == kind => Some(decl.index),
            Lookup::Found(decl) => {
                self.error(
                    code,
                    name.span,
                    format!("`{}` is {}, not a {what}", name.name, decl.kind.describe()),
                )
                .label = format!("expected a {what}");
                None
            }
            lookup => {
                self.unresolved(lookup, name, &[kind], what);
                None
            }
        }
    }

    /// The items of a rule or exemption, each at most once.
    fn rule_items<'i>(&mut self, kind: &str, name: &ast::Ident, items: &'i [ast::RuleItem]) -> RuleItems<'i> {
        let mut out = RuleItems::default();
        for item in items {
            let (key, span, duplicate) = match item {
                ast::RuleItem::Campaign(c) => ("campaign", c.span, out.campaign.replace(c).is_some()),
                ast::RuleItem::When(e) => ("when", e.span, out.when.replace(e).is_some()),
                ast::RuleItem::Then(a) => (
                    "then",
                    a.first().map_or(name.span, |a| a.span),
                    out.then.replace(a).is_some(),
                ),
                ast::RuleItem::Reason(r) => ("reason", r.span, out.reason.replace(r).is_some()),
                ast::RuleItem::Cancels(c) => ("cancels", name.span, out.cancels.replace(c).is_some()),
            };
            if duplicate {
                self.error(
                    "qlp::duplicate_item",
                    span,
                    format!("{kind} `{}` sets `{key}:` twice", name.name),
                )
                .label = String::from("set again here");
            }
        }
        out
    }

    fn check_rules(&mut self) {
        let declarations = self.scope.declarations(DeclKind::Rule);
        for &(file, index) in declarations {
            let Some(Item::Rule(decl)) = self.item(file, index) else {
                continue;
            };
            self.file = file;
            let record = self.rule_param(&decl.param);
            let items = self.rule_items("rule", &decl.name, &decl.items);
            if items.cancels.is_some() {
                self.error("qlp::misplaced_item", decl.name.span, "a rule cannot have `cancels:`")
                    .help = Some(String::from("`cancels:` belongs in an `exempt` block"));
            }
            let campaign = items.campaign.and_then(|c| self.campaign_ref(c));
            let (when, n_locals) = self.condition(&decl.param, record, items.when, "rule", &decl.name);
            let actions = match items.then {
                Some(actions) => actions.iter().map(convert_action).collect(),
                None => {
                    self.error(
                        "qlp::missing_item",
                        decl.name.span,
                        format!("rule `{}` has no `then:`", decl.name.name),
                    )
                    .set_label("this rule")
                    .help = Some(String::from("say what happens when it fires: `then: review`"));
                    Vec::new()
                }
            };
            self.program.rules.push(RuleDef {
                name: decl.name.name.clone(),
                record: record.unwrap_or(RecordId(u32::MAX)),
                campaign,
                when,
                actions,
                reason: items.reason.map(|r| r.value.clone()),
                n_locals,
                location: Location { file, span: decl.span },
            });
        }
    }

    /// Checks a rule's or exemption's `when:` with its parameter bound.
    fn condition(
        &mut self,
        param: &ast::Param,
        record: Option<RecordId>,
        when: Option<&ast::Expr>,
        kind: &str,
        name: &ast::Ident,
    ) -> (TExpr, u32) {
        let saved = self.enter_body(self.file, true, true);
        self.bind_local(param.name.name.clone(), record.map_or(Type::Error, Type::Record));
        let when = match when {
            Some(expr) => {
                let checked = self.expr(expr, Some(&Type::Bool));
                self.expect_type(&checked, &Type::Bool);
                checked
            }
            None => {
                self.error(
                    "qlp::missing_item",
                    name.span,
                    format!("{kind} `{}` has no `when:`", name.name),
                )
                .set_label(format!("this {kind}"))
                .help = Some(String::from("add the condition: `when: c.kind == livestream`"));
                TExpr {
                    kind: TExprKind::Const(Value::Bool(false)),
                    ty: Type::Bool,
                    span: name.span,
                }
            }
        };
        let n_locals = self.n_locals;
        self.leave_body(saved);
        (when, n_locals)
    }

    fn check_exemptions(&mut self) {
        let declarations = self.scope.declarations(DeclKind::Exempt);
        for &(file, index) in declarations {
            let Some(Item::Exempt(decl)) = self.item(file, index) else {
                continue;
            };
            self.file = file;
            let record = self.rule_param(&decl.param);
            let items = self.rule_items("exemption", &decl.name, &decl.items);
            if let Some(then) = items.then {
                let span = then.first().map_or(decl.name.span, |a| a.span);
                self.error("qlp::misplaced_item", span, "an exemption cannot have `then:`")
                    .help = Some(String::from("an exemption only cancels rules: list them in `cancels:`"));
            }
            let campaign = items.campaign.and_then(|c| self.campaign_ref(c));
            let (when, n_locals) = self.condition(&decl.param, record, items.when, "exemption", &decl.name);
            let mut cancels_rules = Vec::new();
            let mut cancels_campaigns = Vec::new();
            match items.cancels {
                None => {
                    self.error(
                        "qlp::missing_item",
                        decl.name.span,
                        format!("exemption `{}` has no `cancels:`", decl.name.name),
                    )
                    .help = Some(String::from(
                        "list the rules or campaigns it cancels: `cancels: rule_a, campaign news_2022`",
                    ));
                }
                Some(targets) => {
                    for target in targets {
                        match target {
                            ast::CancelTarget::Rule(name) => {
                                if let Some(rule_id) = self.rule_ref(name) {
                                    let rule_record = self.program.rule(rule_id).map(|r| r.record);
                                    if let (Some(rule_record), Some(record)) = (rule_record, record) {
                                        if rule_record != record && rule_record.0 != u32::MAX {
                                            let rule_ty = self.ty_name(&Type::Record(rule_record));
                                            let own_ty = self.ty_name(&Type::Record(record));
                                            self.error(
                                                "qlp::exempt_mismatch",
                                                name.span,
                                                format!("rule `{}` applies to `{rule_ty}`, but this exemption to `{own_ty}`", name.name),
                                            )
                                            .help = Some(String::from("an exemption cancels rules of the same record type"));
                                            continue;
                                        }
                                    }
                                    cancels_rules.push(rule_id);
                                }
                            }
                            ast::CancelTarget::Campaign(name) => {
                                if let Some(id) = self.campaign_ref(name) {
                                    cancels_campaigns.push(id);
                                }
                            }
                        }
                    }
                }
            }
            self.program.exemptions.push(ExemptDef {
                name: decl.name.name.clone(),
                record: record.unwrap_or(RecordId(u32::MAX)),
                campaign,
                when,
                cancels_rules,
                cancels_campaigns,
                reason: items.reason.map(|r| r.value.clone()),
                n_locals,
                location: Location { file, span: decl.span },
            });
        }
    }

    // ------------------------------------------------------------ tests

    fn check_tests(&mut self) {
        for (file_index, ast) in self.files.asts.iter().enumerate() {
            let file = FileId(file_index as u32);
            for item in &ast.items {
                let Item::Test(decl) = item else { continue };
                self.file = file;
                if let Some(test) = self.check_test(decl) {
                    self.program.tests.push(test);
                }
            }
        }
    }

    fn check_test(&mut self, decl: &ast::TestDecl) -> Option<TestDef> {
        let mut now = 0;
        let mut given = None;
        let mut expectations = Vec::new();
        let mut ok = true;
        let mut any_expect = false;
        // `now` first, since `given` values may use it.
        for item in &decl.items {
            if let ast::TestItem::Now(expr) = item {
                let saved = self.enter_body(self.file, false, false);
                self.allow_now = false;
                let checked = self.expr(expr, Some(&Type::Time));
                self.leave_body(saved);
                if !self.expect_type(&checked, &Type::Time) {
                    ok = false;
                    continue;
                }
                match Interpreter::new(&self.program).eval_expr(&checked, &mut Vec::new(), 0) {
                    Ok(Value::Time(t)) => now = t,
                    Ok(_) => ok = false,
                    Err(error) => {
                        self.error(
                            "qlp::const_eval",
                            error.span,
                            format!("cannot compute `now`: {}", error.kind),
                        );
                        ok = false;
                    }
                }
            }
        }
        for item in &decl.items {
            match item {
                ast::TestItem::Now(_) => {}
                ast::TestItem::Given { ty, value } => {
                    if given.is_some() {
                        self.error(
                            "qlp::duplicate_item",
                            ty.span,
                            format!("test `{}` has two `given` records", decl.name.value),
                        )
                        .help = Some(String::from("write one test per record"));
                        ok = false;
                        continue;
                    }
                    let resolved = self.resolve_type(&ast::TypeExpr {
                        kind: ast::TypeExprKind::Named(ty.clone()),
                        span: ty.span,
                    });
                    match resolved {
                        Type::Record(id) => {
                            let (value, value_ok) = self.given_record(id, value, now);
                            ok &= value_ok;
                            given = Some((id, value));
                        }
                        Type::Error => ok = false,
                        other => {
                            let name = self.ty_name(&other);
                            self.error(
                                "qlp::test_record",
                                ty.span,
                                format!("`given` needs a record type, not `{name}`"),
                            );
                            ok = false;
                        }
                    }
                }
                ast::TestItem::Expect(expectation) => {
                    any_expect = true;
                    match self.expectation(expectation) {
                        Some(checked) => expectations.push(checked),
                        None => ok = false,
                    }
                }
            }
        }
        let Some((record, given)) = given else {
            self.error(
                "qlp::missing_item",
                decl.name.span,
                format!("test `{}` has no `given` record", decl.name.value),
            )
            .help = Some(String::from("add `given Content { kind: livestream }`"));
            return None;
        };
        if !any_expect {
            self.error(
                "qlp::missing_item",
                decl.name.span,
                format!("test `{}` expects nothing", decl.name.value),
            )
            .help = Some(String::from(
                "add `expect rule_name`, `expect not rule_name`, `expect verdict: remove` or `expect nothing`",
            ));
            return None;
        }
        // Rules named in expectations must apply to the given record type.
        for (expectation, span) in &expectations {
            let rules: &[RuleId] = match expectation {
                Expectation::Fires(r) | Expectation::NotFires(r) | Expectation::Errors(r) => r,
                _ => &[],
            };
            for rule_id in rules {
                let rule = self.program.rule(*rule_id).map(|r| (r.record, r.name.clone()));
                if let Some((rule_record, name)) = rule {
                    if rule_record != record && rule_record.0 != u32::MAX {
                        let rule_ty = self.ty_name(&Type::Record(rule_record));
                        let given_ty = self.ty_name(&Type::Record(record));
                        self.error(
                            "qlp::test_record",
                            *span,
                            format!("rule `{name}` applies to `{rule_ty}`, but the test gives a `{given_ty}`"),
                        );
                        ok = false;
                    }
                }
            }
        }
        ok.then(|| TestDef {
            name: decl.name.value.clone(),
            now,
            sets_now: decl.items.iter().any(|item| matches!(item, ast::TestItem::Now(_))),
            record,
            given,
            expectations,
            location: self.location(decl.span),
        })
    }

    fn expectation(&mut self, expectation: &ast::Expectation) -> Option<(Expectation, Span)> {
        let rules = |checker: &mut Checker<'_>, names: &[ast::Ident]| -> Option<(Vec<RuleId>, Span)> {
            let mut ids = Vec::new();
            let mut ok = true;
            for name in names {
                match checker.rule_ref(name) {
                    Some(id) => ids.push(id),
                    None => ok = false,
                }
            }
            let span = names.iter().map(|n| n.span).reduce(Span::to).unwrap_or_default();
            ok.then_some((ids, span))
        };
        Some(match expectation {
            ast::Expectation::Nothing(span) => (Expectation::Nothing, *span),
            ast::Expectation::Verdict(kind, span) => (Expectation::Verdict(*kind), *span),
            ast::Expectation::Fires(names) => {
                let (ids, span) = rules(self, names)?;
                (Expectation::Fires(ids), span)
            }
            ast::Expectation::NotFires(names) => {
                let (ids, span) = rules(self, names)?;
                (Expectation::NotFires(ids), span)
            }
            ast::Expectation::Errors(names) => {
                let (ids, span) = rules(self, names)?;
                (Expectation::Errors(ids), span)
            }
        })
    }

    /// A test's record: the fields given, and type defaults for the rest.
    fn given_record(&mut self, record: RecordId, value: &ast::RecordValue, now: i64) -> (Value, bool) {
        let Some(def) = self.program.record(record).cloned() else {
            return (Value::Absent, false);
        };
        let mut ok = true;
        let mut fields: Vec<Option<Value>> = vec![None; def.fields.len()];
        for (name, field_value) in &value.fields {
            match def.field_index(&name.name) {
                Some(index) => {
                    if fields.get(index).is_some_and(Option::is_some) {
                        self.error(
                            "qlp::duplicate_field",
                            name.span,
                            format!("field `{}` is given twice", name.name),
                        );
                        ok = false;
                        continue;
                    }
                    let ty = def.fields.get(index).map_or(Type::Error, |f| f.ty.clone());
                    let (v, field_ok) = self.given_value(&ty, field_value, now);
                    ok &= field_ok;
                    if let Some(slot) = fields.get_mut(index) {
                        *slot = Some(v);
                    }
                }
                None => {
                    let hint = suggest(&name.name, def.fields.iter().map(|f| f.name.as_str())).map(str::to_string);
                    let diagnostic = self
                        .error(
                            "qlp::unknown_field",
                            name.span,
                            format!("record `{}` has no field `{}`", def.name, name.name),
                        )
                        .set_label("unknown field");
                    diagnostic.help = Some(match hint {
                        Some(hint) => format!("did you mean `{hint}`?"),
                        None => format!(
                            "its fields are {}",
                            def.fields
                                .iter()
                                .map(|f| format!("`{}`", f.name))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    });
                    ok = false;
                }
            }
        }
        let values: Vec<Value> = fields
            .into_iter()
            .zip(&def.fields)
            .map(|(given, field)| given.unwrap_or_else(|| self.default_value(&field.ty)))
            .collect();
        (Value::Record(values.into()), ok)
    }

    fn given_value(&mut self, ty: &Type, value: &ast::Value, now: i64) -> (Value, bool) {
        let inner = ty.strip_optional().clone();
        match (value, &inner) {
            (_, Type::Error) => (Value::Absent, false),
            (ast::Value::Record(record_value), Type::Record(id)) => self.given_record(*id, record_value, now),
            (ast::Value::List(items, _), Type::List(element)) => {
                let mut ok = true;
                let mut values = Vec::new();
                for item in items {
                    let (v, item_ok) = self.given_value(element, item, now);
                    ok &= item_ok;
                    values.push(v);
                }
                (Value::List(values.into()), ok)
            }
            (ast::Value::Expr(expr), _) => {
                let saved = self.enter_body(self.file, false, false);
                let checked = self.expr(expr, Some(&inner));
                self.leave_body(saved);
                if !self.expect_type(&checked, &inner) {
                    return (Value::Absent, false);
                }
                match Interpreter::new(&self.program).eval_expr(&checked, &mut Vec::new(), now) {
                    Ok(v) => (v, true),
                    Err(error) => {
                        self.error(
                            "qlp::const_eval",
                            error.span,
                            format!("cannot compute this value: {}", error.kind),
                        );
                        (Value::Absent, false)
                    }
                }
            }
            (other, _) => {
                let name = self.ty_name(&inner);
                let what = match other {
                    ast::Value::Record(_) => "a record value",
                    _ => "a list",
                };
                self.error(
                    "qlp::type_mismatch",
                    other.span(),
                    format!("expected `{name}`, found {what}"),
                )
                .label = format!("expected `{name}`");
                (Value::Absent, false)
            }
        }
    }

    /// The value an unspecified field takes in a test.
    fn default_value(&self, ty: &Type) -> Value {
        match ty {
            Type::Bool => Value::Bool(false),
            Type::Int => Value::Int(0),
            Type::Float => Value::Float(0.0),
            Type::String => Value::str(""),
            Type::Time => Value::Time(0),
            Type::Duration => Value::Duration(0),
            Type::Enum(_) => Value::Enum(0),
            Type::List(_) => Value::List(Vec::new().into()),
            Type::Optional(_) | Type::Error => Value::Absent,
            Type::Record(id) => {
                let fields: Vec<Value> = self
                    .program
                    .record(*id)
                    .map(|r| r.fields.iter().map(|f| self.default_value(&f.ty)).collect())
                    .unwrap_or_default();
                Value::Record(fields.into())
            }
        }
    }

    // ------------------------------------------------------------ bodies and locals

    /// Starts checking a new body; returns what to restore afterwards.
    fn enter_body(&mut self, file: FileId, allow_locals: bool, allow_calls: bool) -> SavedBody {
        let saved = SavedBody {
            file: self.file,
            locals: std::mem::take(&mut self.locals),
            n_locals: self.n_locals,
            narrowed: std::mem::take(&mut self.narrowed),
            allow_now: self.allow_now,
            allow_locals: self.allow_locals,
            allow_calls: self.allow_calls,
            current_fn: self.current_fn.take(),
        };
        self.file = file;
        self.n_locals = 0;
        self.allow_now = allow_locals;
        self.allow_locals = allow_locals;
        self.allow_calls = allow_calls;
        saved
    }

    fn leave_body(&mut self, saved: SavedBody) {
        self.file = saved.file;
        self.locals = saved.locals;
        self.n_locals = saved.n_locals;
        self.narrowed = saved.narrowed;
        self.allow_now = saved.allow_now;
        self.allow_locals = saved.allow_locals;
        self.allow_calls = saved.allow_calls;
        self.current_fn = saved.current_fn;
    }

    fn bind_local(&mut self, name: String, ty: Type) -> u32 {
        let slot = self.n_locals;
        self.n_locals += 1;
        self.locals.push(Local { name, slot, ty });
        slot
    }

    /// Reports a type mismatch; returns whether the types agree.
    fn expect_type(&mut self, expr: &TExpr, expected: &Type) -> bool {
        if expr.ty.agrees(expected) {
            return true;
        }
        let found = self.ty_name(&expr.ty);
        let wanted = self.ty_name(expected);
        let help = if let Type::Optional(inner) = &expr.ty {
            if inner.agrees(expected) {
                Some(String::from(
                    "this value may be missing: give a default with `?? value`, or check `is some` first",
                ))
            } else {
                None
            }
        } else if *expected == Type::Int && expr.ty == Type::String && !matches!(expr.kind, TExprKind::Const(_)) {
            Some(String::from("use `len(..)` to get a string's length"))
        } else {
            None
        };
        let diagnostic = self
            .error(
                "qlp::type_mismatch",
                expr.span,
                format!("expected `{wanted}`, found `{found}`"),
            )
            .set_label(format!("this is `{found}`"));
        diagnostic.help = help;
        false
    }

    // ------------------------------------------------------------ expressions

    fn texpr(kind: TExprKind, ty: Type, span: Span) -> TExpr {
        TExpr { kind, ty, span }
    }

    fn error_expr(span: Span) -> TExpr {
        Checker::texpr(TExprKind::Const(Value::Absent), Type::Error, span)
    }

    /// Checks an expression; `expected` guides literals and enum variants.
    pub(crate) fn expr(&mut self, expr: &ast::Expr, expected: Option<&Type>) -> TExpr {
        let span = expr.span;
        match &expr.kind {
            ExprKind::Int(value) => {
                if expected == Some(&Type::Float) {
                    // An integer literal where a float is expected is that float.
                    Checker::texpr(TExprKind::Const(Value::Float(*value as f64)), Type::Float, span)
                } else {
                    Checker::texpr(TExprKind::Const(Value::Int(*value)), Type::Int, span)
                }
            }
            ExprKind::Float(value) => Checker::texpr(TExprKind::Const(Value::Float(*value)), Type::Float, span),
            ExprKind::Str(value) => Checker::texpr(TExprKind::Const(Value::str(value)), Type::String, span),
            ExprKind::Bool(value) => Checker::texpr(TExprKind::Const(Value::Bool(*value)), Type::Bool, span),
            ExprKind::Time(value) => Checker::texpr(TExprKind::Const(Value::Time(*value)), Type::Time, span),
            ExprKind::Duration(value) => {
                Checker::texpr(TExprKind::Const(Value::Duration(*value)), Type::Duration, span)
            }
            ExprKind::Now => {
                if !self.allow_now {
                    self.error("qlp::now_not_allowed", span, "`now` is not available here")
                        .help = Some(String::from(
                        "`now` is the evaluation clock: use it in rules and functions, not in constants or test values",
                    ));
                    return Checker::error_expr(span);
                }
                Checker::texpr(TExprKind::Now, Type::Time, span)
            }
            ExprKind::Paren(inner) => {
                let mut checked = self.expr(inner, expected);
                checked.span = span;
                checked
            }
            ExprKind::Name(name) => self.name(name, expected),
            ExprKind::Field(base, field) => self.field(base, field, span),
            ExprKind::Call(name, args) => self.call(name, args, span),
            ExprKind::List(items) => self.list(items, expected, span),
            ExprKind::Unary(UnaryOp::Not, operand) => {
                let checked = self.expr(operand, Some(&Type::Bool));
                self.expect_type(&checked, &Type::Bool);
                Checker::texpr(TExprKind::Not(Box::new(checked)), Type::Bool, span)
            }
            ExprKind::Unary(UnaryOp::Neg, operand) => {
                let checked = self.expr(operand, expected);
                let scalar = match checked.ty {
                    Type::Int => Scalar::Int,
                    Type::Float => Scalar::Float,
                    Type::Duration => Scalar::Duration,
                    Type::Error => return Checker::error_expr(span),
                    ref other => {
                        let name = self.ty_name(other);
                        self.error("qlp::bad_operands", span, format!("`-` cannot be applied to `{name}`"))
                            .help = Some(String::from("negation works on `int`, `float` and `duration`"));
                        return Checker::error_expr(span);
                    }
                };
                let ty = checked.ty.clone();
                Checker::texpr(TExprKind::Neg(Box::new(checked), scalar), ty, span)
            }
            ExprKind::Binary(op, lhs, rhs) => self.binary(*op, lhs, rhs, span),
            ExprKind::IsSome { operand, negated } => {
                let checked = self.expr(operand, None);
                if !matches!(checked.ty, Type::Optional(_) | Type::Error) {
                    let name = self.ty_name(&checked.ty);
                    let (test, always) = if *negated { ("none", "false") } else { ("some", "true") };
                    self.diagnostics.push(
                        Diagnostic::warning(
                            "qlp::not_optional",
                            self.file,
                            operand.span,
                            format!("this `{name}` is never missing here, so `is {test}` is always {always}"),
                        )
                        .with_help("only optional values (`T?`) can be missing; a checked value stays present for the rest of the condition"),
                    );
                }
                Checker::texpr(TExprKind::IsSome(Box::new(checked), *negated), Type::Bool, span)
            }
            ExprKind::If(cond, then, otherwise) => {
                let cond = self.expr(cond, Some(&Type::Bool));
                self.expect_type(&cond, &Type::Bool);
                let (when_true, when_false) = facts(&cond);
                let mark = self.narrowed.len();
                self.narrowed.extend(when_true);
                let then = self.expr(then, expected);
                self.narrowed.truncate(mark);
                self.narrowed.extend(when_false);
                let otherwise = self.expr(otherwise, Some(expected.unwrap_or(&then.ty)));
                self.narrowed.truncate(mark);
                let ty = self.join_branches(&then, &otherwise);
                Checker::texpr(
                    TExprKind::If(Box::new(cond), Box::new(then), Box::new(otherwise)),
                    ty,
                    span,
                )
            }
            ExprKind::Let(name, value, body) => {
                let value = self.expr(value, None);
                let slot = self.bind_local(name.name.clone(), value.ty.clone());
                let body = self.expr(body, expected);
                self.locals.pop();
                let ty = body.ty.clone();
                Checker::texpr(TExprKind::Let(slot, Box::new(value), Box::new(body)), ty, span)
            }
            ExprKind::Quantifier {
                kind,
                var,
                list,
                predicate,
            } => {
                let list = self.expr(list, None);
                let element = match &list.ty {
                    Type::List(element) => (**element).clone(),
                    Type::Error => Type::Error,
                    other => {
                        let name = self.ty_name(other);
                        self.error(
                            "qlp::type_mismatch",
                            list.span,
                            format!("`{}` needs a list, found `{name}`", kind.as_str()),
                        )
                        .help = Some(String::from("write `any(t in c.tags: t == \"x\")`"));
                        Type::Error
                    }
                };
                let slot = self.bind_local(var.name.clone(), element);
                let predicate = self.expr(predicate, Some(&Type::Bool));
                self.expect_type(&predicate, &Type::Bool);
                self.locals.pop();
                let ty = if *kind == ast::QuantifierKind::Count {
                    Type::Int
                } else {
                    Type::Bool
                };
                Checker::texpr(
                    TExprKind::Quantifier(*kind, slot, Box::new(list), Box::new(predicate)),
                    ty,
                    span,
                )
            }
        }
    }

    fn join_branches(&mut self, then: &TExpr, otherwise: &TExpr) -> Type {
        if then.ty.agrees(&otherwise.ty) {
            return if then.ty.is_error() {
                otherwise.ty.clone()
            } else {
                then.ty.clone()
            };
        }
        // `if .. then x else y` where one branch is optional: the result is optional.
        if then.ty.strip_optional().agrees(otherwise.ty.strip_optional()) {
            return then.ty.strip_optional().clone().optional();
        }
        let a = self.ty_name(&then.ty);
        let b = self.ty_name(&otherwise.ty);
        self.error(
            "qlp::type_mismatch",
            otherwise.span,
            format!("`if` branches have different types: `{a}` and `{b}`"),
        )
        .set_label(format!("this is `{b}`"))
        .help = Some(String::from("both branches must have the same type"));
        Type::Error
    }

    fn lookup_local(&self, name: &str) -> Option<&Local> {
        self.locals.iter().rev().find(|local| local.name == name)
    }

    /// Enums that have a variant called `name`.
    fn enums_with_variant(&self, name: &str) -> Vec<(EnumId, u32)> {
        self.program
            .enums
            .iter()
            .enumerate()
            .filter_map(|(i, e)| {
                e.variants
                    .iter()
                    .position(|v| v == name)
                    .map(|v| (EnumId(i as u32), v as u32))
            })
            .collect()
    }

    /// Whether `expr` is a bare name that can only be an enum variant, whose
    /// enum is known only from the other operand.
    fn is_bare_variant(&self, expr: &ast::Expr) -> bool {
        match &expr.kind {
            ExprKind::Name(name) => {
                self.lookup_local(&name.name).is_none()
                    && matches!(self.scope.lookup(&name.name, self.file), Lookup::Unknown)
                    && !self.enums_with_variant(&name.name).is_empty()
            }
            ExprKind::Paren(inner) => self.is_bare_variant(inner),
            _ => false,
        }
    }

    fn name(&mut self, name: &ast::Ident, expected: Option<&Type>) -> TExpr {
        let span = name.span;
        if let Some(local) = self.lookup_local(&name.name) {
            let expr = Checker::texpr(TExprKind::Local(local.slot), local.ty.clone(), span);
            return self.narrow(expr);
        }
        match self.scope.lookup(&name.name, self.file) {
            Lookup::Found(Decl {
                kind: DeclKind::Const,
                index,
                ..
            }) => {
                // Constants are checked in dependency order, so one not yet checked
                // here is part of a cycle.
                if matches!(
                    self.const_states.get(index as usize),
                    Some(ConstState::InProgress | ConstState::Unchecked)
                ) {
                    self.error(
                        "qlp::const_cycle",
                        span,
                        format!("constant `{}` is defined in terms of itself", name.name),
                    )
                    .help = Some(String::from("break the cycle with a literal value"));
                    return Checker::error_expr(span);
                }
                let Some(def) = self.program.consts.get(index as usize) else {
                    return Checker::error_expr(span);
                };
                if def.ty.is_error() {
                    return Checker::error_expr(span);
                }
                let (ty, value) = (def.ty.clone(), def.value.clone());
                let value = match (&ty, value, expected) {
                    (Type::Int, Value::Int(v), Some(Type::Float)) => {
                        return Checker::texpr(TExprKind::Const(Value::Float(v as f64)), Type::Float, span)
                    }
                    (_, value, _) => value,
                };
                return Checker::texpr(TExprKind::Const(value), ty, span);
            }
            Lookup::Found(decl) => {
                let help = match decl.kind {
                    DeclKind::Keywords => {
                        format!("match a text against it: `c.text has_any {}`", name.name)
                    }
                    DeclKind::Fn => format!("call it: `{}(..)`", name.name),
                    _ => String::from("only constants, parameters and `let` variables are values"),
                };
                self.error(
                    "qlp::not_a_value",
                    span,
                    format!("`{}` is {}, not a value", name.name, decl.kind.describe()),
                )
                .help = Some(help);
                return Checker::error_expr(span);
            }
            Lookup::NotImported(decl) => {
                self.unresolved(Lookup::NotImported(decl), name, &[], "name");
                return Checker::error_expr(span);
            }
            Lookup::Unknown => {}
        }
        // An enum variant, by the expected type or by being the only one of its name.
        if let Some(Type::Enum(id)) = expected.map(Type::strip_optional) {
            if let Some(variant) = self
                .program
                .enum_def(*id)
                .and_then(|e| e.variants.iter().position(|v| *v == name.name))
            {
                return Checker::texpr(TExprKind::Const(Value::Enum(variant as u32)), Type::Enum(*id), span);
            }
        }
        let candidates = self.enums_with_variant(&name.name);
        match candidates.as_slice() {
            [(enum_id, variant)] => {
                if let Some(Type::Enum(expected_id)) = expected.map(Type::strip_optional) {
                    if expected_id != enum_id {
                        let expected_name = self.ty_name(&Type::Enum(*expected_id));
                        let found_name = self.ty_name(&Type::Enum(*enum_id));
                        let variants = self
                            .program
                            .enum_def(*expected_id)
                            .map(|e| e.variants.join(", "))
                            .unwrap_or_default();
                        self.error(
                            "qlp::type_mismatch",
                            span,
                            format!("`{}` is a `{found_name}`, not a `{expected_name}`", name.name),
                        )
                        .set_label(format!("expected a `{expected_name}`"))
                        .help = Some(format!("`{expected_name}` is one of: {variants}"));
                        return Checker::error_expr(span);
                    }
                }
                Checker::texpr(TExprKind::Const(Value::Enum(*variant)), Type::Enum(*enum_id), span)
            }
            [] => {
                if let Some(Type::Enum(id)) = expected.map(Type::strip_optional) {
                    let enum_name = self.ty_name(&Type::Enum(*id));
                    let variants: Vec<String> = self
                        .program
                        .enum_def(*id)
                        .map(|e| e.variants.clone())
                        .unwrap_or_default();
                    let hint = suggest(&name.name, variants.iter().map(String::as_str)).map(str::to_string);
                    let diagnostic = self
                        .error(
                            "qlp::unknown_variant",
                            span,
                            format!("`{enum_name}` has no variant `{}`", name.name),
                        )
                        .set_label("unknown variant");
                    diagnostic.help = Some(match hint {
                        Some(hint) => format!("did you mean `{hint}`?"),
                        None => format!("`{enum_name}` is one of: {}", variants.join(", ")),
                    });
                    return Checker::error_expr(span);
                }
                self.unresolved(
                    Lookup::Unknown,
                    name,
                    &[DeclKind::Const, DeclKind::Keywords, DeclKind::Fn],
                    "name",
                );
                Checker::error_expr(span)
            }
            several => {
                let options: Vec<String> = several
                    .iter()
                    .map(|(id, _)| format!("`{}.{}`", self.ty_name(&Type::Enum(*id)), name.name))
                    .collect();
                self.error(
                    "qlp::ambiguous_variant",
                    span,
                    format!("`{}` is a variant of several enums", name.name),
                )
                .help = Some(format!("write {}", options.join(" or ")));
                Checker::error_expr(span)
            }
        }
    }

    /// Wraps an optional path in `Unwrap` where the checker knows it is present.
    fn narrow(&self, expr: TExpr) -> TExpr {
        if let Type::Optional(inner) = &expr.ty {
            if let Some(key) = path_key(&expr) {
                if self.narrowed.contains(&key) {
                    let inner = (**inner).clone();
                    let span = expr.span;
                    return Checker::texpr(TExprKind::Unwrap(Box::new(expr)), inner, span);
                }
            }
        }
        expr
    }

    fn field(&mut self, base: &ast::Expr, field: &ast::Ident, span: Span) -> TExpr {
        // `Verification.none`: a qualified enum variant.
        if let ExprKind::Name(type_name) = &base.kind {
            if self.lookup_local(&type_name.name).is_none() {
                if let Lookup::Found(Decl {
                    kind: DeclKind::Enum,
                    index,
                    ..
                }) = self.scope.lookup(&type_name.name, self.file)
                {
                    let id = EnumId(index);
                    let variants = self
                        .program
                        .enum_def(id)
                        .map(|e| e.variants.clone())
                        .unwrap_or_default();
                    return match variants.iter().position(|v| *v == field.name) {
                        Some(variant) => {
                            Checker::texpr(TExprKind::Const(Value::Enum(variant as u32)), Type::Enum(id), span)
                        }
                        None => {
                            self.error(
                                "qlp::unknown_variant",
                                field.span,
                                format!("`{}` has no variant `{}`", type_name.name, field.name),
                            )
                            .help = Some(format!("`{}` is one of: {}", type_name.name, variants.join(", ")));
                            Checker::error_expr(span)
                        }
                    };
                }
            }
        }
        let base = self.expr(base, None);
        let record_id = match &base.ty {
            Type::Record(id) => *id,
            Type::Error => return Checker::error_expr(span),
            Type::Optional(inner) if matches!(**inner, Type::Record(_)) => {
                let path = print_path(base.span, self);
                self.error("qlp::optional_used", base.span, format!("`{path}` may be missing"))
                    .set_label("optional record")
                    .help = Some(format!(
                    "check `{path} is some and ...` before reading `.{}`",
                    field.name
                ));
                return Checker::error_expr(span);
            }
            other => {
                let name = self.ty_name(other);
                self.error("qlp::no_fields", field.span, format!("`{name}` has no fields"))
                    .set_label(format!("`.{}` on a `{name}`", field.name))
                    .help = Some(String::from("only records have fields"));
                return Checker::error_expr(span);
            }
        };
        let Some(record) = self.program.record(record_id) else {
            return Checker::error_expr(span);
        };
        match record.field_index(&field.name) {
            Some(index) => {
                let ty = record.fields.get(index).map_or(Type::Error, |f| f.ty.clone());
                let expr = Checker::texpr(TExprKind::Field(Box::new(base), index as u32), ty, span);
                self.narrow(expr)
            }
            None => {
                let record_name = record.name.clone();
                let fields: Vec<String> = record.fields.iter().map(|f| f.name.clone()).collect();
                let hint = suggest(&field.name, fields.iter().map(String::as_str)).map(str::to_string);
                let diagnostic = self
                    .error(
                        "qlp::unknown_field",
                        field.span,
                        format!("`{record_name}` has no field `{}`", field.name),
                    )
                    .set_label("unknown field");
                diagnostic.help = Some(match hint {
                    Some(hint) => format!("did you mean `{hint}`?"),
                    None => format!(
                        "its fields are {}",
                        fields.iter().map(|f| format!("`{f}`")).collect::<Vec<_>>().join(", ")
                    ),
                });
                Checker::error_expr(span)
            }
        }
    }

    fn list(&mut self, items: &[ast::Expr], expected: Option<&Type>, span: Span) -> TExpr {
        let mut element = match expected.map(Type::strip_optional) {
            Some(Type::List(element)) => Some((**element).clone()),
            _ => None,
        };
        let mut checked = Vec::new();
        for item in items {
            let item = self.expr(item, element.as_ref());
            match &element {
                Some(ty) => {
                    self.expect_type(&item, ty);
                }
                None => element = Some(item.ty.clone()),
            }
            checked.push(item);
        }
        let Some(element) = element else {
            self.error("qlp::empty_list", span, "cannot tell the type of this empty list")
                .help = Some(String::from("an empty list matches nothing: remove the condition"));
            return Checker::error_expr(span);
        };
        if !is_flat(&element) {
            let name = self.ty_name(&element);
            self.error(
                "qlp::nested_list",
                span,
                format!("a list literal cannot hold `{name}` values"),
            )
            .help = Some(String::from(
                "list literals hold bools, numbers, strings, times, durations and enum values",
            ));
            return Checker::error_expr(span);
        }
        Checker::texpr(TExprKind::List(checked), Type::List(Box::new(element)), span)
    }

    /// Checks two operands that should have the same type.
    fn operand_pair(&mut self, lhs: &ast::Expr, rhs: &ast::Expr) -> (TExpr, TExpr) {
        if self.is_bare_variant(lhs) && !self.is_bare_variant(rhs) {
            let rhs = self.expr(rhs, None);
            let lhs = self.expr(lhs, Some(&rhs.ty));
            return (lhs, rhs);
        }
        let mut lhs_checked = self.expr(lhs, None);
        let rhs_checked = self.expr(rhs, Some(&lhs_checked.ty));
        if lhs_checked.ty == Type::Int && rhs_checked.ty == Type::Float && is_int_literal(lhs) {
            lhs_checked = self.expr(lhs, Some(&Type::Float));
        }
        (lhs_checked, rhs_checked)
    }

    fn binary(&mut self, op: BinaryOp, lhs: &ast::Expr, rhs: &ast::Expr, span: Span) -> TExpr {
        match op {
            BinaryOp::And | BinaryOp::Or => {
                let lhs = self.expr(lhs, Some(&Type::Bool));
                self.expect_type(&lhs, &Type::Bool);
                let (when_true, when_false) = facts(&lhs);
                let mark = self.narrowed.len();
                self.narrowed
                    .extend(if op == BinaryOp::And { when_true } else { when_false });
                let rhs = self.expr(rhs, Some(&Type::Bool));
                self.narrowed.truncate(mark);
                self.expect_type(&rhs, &Type::Bool);
                let kind = if op == BinaryOp::And {
                    TExprKind::And(Box::new(lhs), Box::new(rhs))
                } else {
                    TExprKind::Or(Box::new(lhs), Box::new(rhs))
                };
                Checker::texpr(kind, Type::Bool, span)
            }
            BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
                let (lhs, rhs) = self.operand_pair(lhs, rhs);
                let cmp = match op {
                    BinaryOp::Eq => CmpOp::Eq,
                    BinaryOp::Ne => CmpOp::Ne,
                    BinaryOp::Lt => CmpOp::Lt,
                    BinaryOp::Le => CmpOp::Le,
                    BinaryOp::Gt => CmpOp::Gt,
                    _ => CmpOp::Ge,
                };
                let Some(scalar) = self.comparable(op, &lhs, &rhs) else {
                    return Checker::error_expr(span);
                };
                Checker::texpr(
                    TExprKind::Compare(cmp, scalar, Box::new(lhs), Box::new(rhs)),
                    Type::Bool,
                    span,
                )
            }
            BinaryOp::In => {
                let (lhs, rhs) = if self.is_bare_variant(lhs) {
                    let rhs = self.expr(rhs, None);
                    let element = match &rhs.ty {
                        Type::List(element) => (**element).clone(),
                        _ => Type::Error,
                    };
                    (self.expr(lhs, Some(&element)), rhs)
                } else {
                    let lhs = self.expr(lhs, None);
                    let list_ty = Type::List(Box::new(lhs.ty.clone()));
                    let rhs = self.expr(rhs, Some(&list_ty));
                    (lhs, rhs)
                };
                if lhs.ty.is_error() || rhs.ty.is_error() {
                    return Checker::error_expr(span);
                }
                let element = match &rhs.ty {
                    Type::List(element) => (**element).clone(),
                    other => {
                        let name = self.ty_name(other);
                        self.error(
                            "qlp::type_mismatch",
                            rhs.span,
                            format!("`in` needs a list, found `{name}`"),
                        )
                        .help = Some(String::from(
                            "write `x in [a, b]`; to look for text inside a string use `contains(text, part)`",
                        ));
                        return Checker::error_expr(span);
                    }
                };
                if !element.agrees(&lhs.ty) {
                    let a = self.ty_name(&lhs.ty);
                    let b = self.ty_name(&element);
                    self.error(
                        "qlp::type_mismatch",
                        span,
                        format!("cannot look for a `{a}` in a list of `{b}`"),
                    )
                    .help = Some(String::from("the value and the list elements must have the same type"));
                    return Checker::error_expr(span);
                }
                let Some(scalar) = self.equatable_scalar(&lhs, span) else {
                    return Checker::error_expr(span);
                };
                // A long list of constants is hashed once, at compile time.
                if let TExprKind::List(items) = &rhs.kind {
                    if items.len() >= MIN_HASHED_LIST && scalar != Scalar::Float {
                        if let Some(set) = ConstSet::of(items) {
                            let id = ConstSetId(self.program.const_sets.len() as u32);
                            self.program.const_sets.push(set);
                            return Checker::texpr(TExprKind::InSet(Box::new(lhs), id), Type::Bool, span);
                        }
                    }
                }
                Checker::texpr(TExprKind::In(scalar, Box::new(lhs), Box::new(rhs)), Type::Bool, span)
            }
            BinaryOp::HasAny => {
                let text = self.expr(lhs, Some(&Type::String));
                self.expect_type(&text, &Type::String);
                let Some(set) = self.keyword_set_ref(rhs) else {
                    return Checker::error_expr(span);
                };
                Checker::texpr(TExprKind::HasAny(Box::new(text), set), Type::Bool, span)
            }
            BinaryOp::Matches => {
                let text = self.expr(lhs, Some(&Type::String));
                self.expect_type(&text, &Type::String);
                let pattern = match &rhs.kind {
                    ExprKind::Str(pattern) => pattern,
                    _ => {
                        self.error("qlp::regex_not_literal", rhs.span, "`matches` needs a string literal pattern")
                            .help = Some(String::from(
                            "patterns are compiled and checked before the policy runs: write `c.title matches \"^[0-9]+$\"`",
                        ));
                        return Checker::error_expr(span);
                    }
                };
                match regex::RegexBuilder::new(pattern)
                    .size_limit(REGEX_SIZE_LIMIT)
                    .dfa_size_limit(REGEX_SIZE_LIMIT)
                    .build()
                {
                    Ok(regex) => {
                        let id = RegexId(self.program.regexes.len() as u32);
                        self.program.regexes.push(regex);
                        Checker::texpr(TExprKind::Matches(Box::new(text), id), Type::Bool, span)
                    }
                    Err(error) => {
                        let detail = match &error {
                            regex::Error::CompiledTooBig(_) => String::from("the pattern is too large"),
                            other => other.to_string().lines().last().unwrap_or("").trim().to_string(),
                        };
                        self.error("qlp::invalid_regex", rhs.span, "invalid regular expression")
                            .set_label(detail)
                            .help = Some(String::from(
                            "patterns use Rust regex syntax (no look-around or back-references, so matching is linear-time)",
                        ));
                        Checker::error_expr(span)
                    }
                }
            }
            BinaryOp::Coalesce => {
                let lhs = self.expr(lhs, None);
                let inner = match &lhs.ty {
                    Type::Optional(inner) => (**inner).clone(),
                    Type::Error => Type::Error,
                    other => {
                        let name = self.ty_name(other);
                        let other = other.clone();
                        self.diagnostics.push(
                            Diagnostic::warning(
                                "qlp::not_optional",
                                self.file,
                                lhs.span,
                                format!("this `{name}` is never missing, so `??` never uses its default"),
                            )
                            .with_help("remove `?? ...`"),
                        );
                        other
                    }
                };
                let rhs = self.expr(rhs, Some(&inner));
                let ty = if rhs.ty.agrees(&inner) {
                    if inner.is_error() {
                        rhs.ty.clone()
                    } else {
                        inner
                    }
                } else if rhs.ty.agrees(&inner.clone().optional()) {
                    inner.optional()
                } else {
                    self.expect_type(&rhs, &inner);
                    Type::Error
                };
                Checker::texpr(TExprKind::Coalesce(Box::new(lhs), Box::new(rhs)), ty, span)
            }
            BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem => {
                let (lhs, rhs) = self.operand_pair(lhs, rhs);
                self.arith(op, lhs, rhs, span)
            }
        }
    }

    fn keyword_set_ref(&mut self, expr: &ast::Expr) -> Option<KeywordSetId> {
        let ExprKind::Name(name) = &expr.kind else {
            self.error(
                "qlp::not_a_keyword_set",
                expr.span,
                "`has_any` needs the name of a keyword set",
            )
            .help = Some(String::from(
                "declare one with `keywords gambling = [\"赌博\"]` and write `c.text has_any gambling`",
            ));
            return None;
        };
        match self.scope.lookup(&name.name, self.file) {
            Lookup::Found(Decl {
                kind: DeclKind::Keywords,
                index,
                ..
            }) => Some(KeywordSetId(index)),
            Lookup::Found(decl) => {
                self.error(
                    "qlp::not_a_keyword_set",
                    name.span,
                    format!("`{}` is {}, not a keyword set", name.name, decl.kind.describe()),
                )
                .help = Some(String::from("declare one with `keywords NAME = [\"...\"]`"));
                None
            }
            lookup => {
                self.unresolved(lookup, name, &[DeclKind::Keywords], "keyword set");
                None
            }
        }
    }

    fn equatable_scalar(&mut self, expr: &TExpr, span: Span) -> Option<Scalar> {
        match scalar_of(&expr.ty) {
            Some(scalar) => Some(scalar),
            None if expr.ty.is_error() => None,
            None => {
                let name = self.ty_name(&expr.ty);
                let help = if matches!(expr.ty, Type::Optional(_)) {
                    "this value may be missing: give a default with `?? value`, or check `is some` first"
                } else {
                    "only `bool`, `int`, `float`, `string`, `time`, `duration` and enum values can be compared"
                };
                self.error(
                    "qlp::not_comparable",
                    span,
                    format!("values of type `{name}` cannot be compared"),
                )
                .help = Some(String::from(help));
                None
            }
        }
    }

    fn comparable(&mut self, op: BinaryOp, lhs: &TExpr, rhs: &TExpr) -> Option<Scalar> {
        if lhs.ty.is_error() || rhs.ty.is_error() {
            return None;
        }
        if !lhs.ty.agrees(&rhs.ty) {
            let a = self.ty_name(&lhs.ty);
            let b = self.ty_name(&rhs.ty);
            let optional = matches!(lhs.ty, Type::Optional(_)) || matches!(rhs.ty, Type::Optional(_));
            let help = if optional {
                String::from("one side may be missing: give a default with `?? value`, or check `is some` first")
            } else if matches!((&lhs.ty, &rhs.ty), (Type::Int, Type::Float) | (Type::Float, Type::Int)) {
                String::from("convert with `to_float(..)` or `to_int(..)`")
            } else {
                String::from("both sides must have the same type")
            };
            self.error(
                "qlp::type_mismatch",
                lhs.span.to(rhs.span),
                format!("cannot compare `{a}` with `{b}`"),
            )
            .set_label(format!("`{a}` {} `{b}`", op.as_str()))
            .help = Some(help);
            return None;
        }
        let scalar = self.equatable_scalar(lhs, lhs.span.to(rhs.span))?;
        let ordering = !matches!(op, BinaryOp::Eq | BinaryOp::Ne);
        if ordering && !lhs.ty.is_ordered() {
            let name = self.ty_name(&lhs.ty);
            self.error(
                "qlp::not_comparable",
                lhs.span.to(rhs.span),
                format!("values of type `{name}` have no order"),
            )
            .help = Some(format!(
                "`{}` works on `int`, `float`, `string`, `time` and `duration`; use `==` or `in`",
                op.as_str()
            ));
            return None;
        }
        Some(scalar)
    }

    fn arith(&mut self, op: BinaryOp, lhs: TExpr, rhs: TExpr, span: Span) -> TExpr {
        use ArithOp::*;
        if lhs.ty.is_error() || rhs.ty.is_error() {
            return Checker::error_expr(span);
        }
        let resolved = match (op, &lhs.ty, &rhs.ty) {
            (BinaryOp::Add, Type::Int, Type::Int) => Some((IntAdd, Type::Int)),
            (BinaryOp::Sub, Type::Int, Type::Int) => Some((IntSub, Type::Int)),
            (BinaryOp::Mul, Type::Int, Type::Int) => Some((IntMul, Type::Int)),
            (BinaryOp::Div, Type::Int, Type::Int) => Some((IntDiv, Type::Int)),
            (BinaryOp::Rem, Type::Int, Type::Int) => Some((IntRem, Type::Int)),
            (BinaryOp::Add, Type::Float, Type::Float) => Some((FloatAdd, Type::Float)),
            (BinaryOp::Sub, Type::Float, Type::Float) => Some((FloatSub, Type::Float)),
            (BinaryOp::Mul, Type::Float, Type::Float) => Some((FloatMul, Type::Float)),
            (BinaryOp::Div, Type::Float, Type::Float) => Some((FloatDiv, Type::Float)),
            (BinaryOp::Rem, Type::Float, Type::Float) => Some((FloatRem, Type::Float)),
            (BinaryOp::Add, Type::String, Type::String) => Some((Concat, Type::String)),
            (BinaryOp::Add, Type::Time, Type::Duration) => Some((TimeAddDuration, Type::Time)),
            (BinaryOp::Sub, Type::Time, Type::Duration) => Some((TimeSubDuration, Type::Time)),
            (BinaryOp::Sub, Type::Time, Type::Time) => Some((TimeSubTime, Type::Duration)),
            (BinaryOp::Add, Type::Duration, Type::Duration) => Some((DurationAdd, Type::Duration)),
            (BinaryOp::Sub, Type::Duration, Type::Duration) => Some((DurationSub, Type::Duration)),
            (BinaryOp::Mul, Type::Duration, Type::Int) => Some((DurationMulInt, Type::Duration)),
            (BinaryOp::Div, Type::Duration, Type::Int) => Some((DurationDivInt, Type::Duration)),
            _ => None,
        };
        match resolved {
            Some((arith, ty)) => Checker::texpr(TExprKind::Arith(arith, Box::new(lhs), Box::new(rhs)), ty, span),
            None => {
                let a = self.ty_name(&lhs.ty);
                let b = self.ty_name(&rhs.ty);
                let help = if matches!(lhs.ty, Type::Optional(_)) || matches!(rhs.ty, Type::Optional(_)) {
                    String::from("a value may be missing: give a default with `?? value`, or check `is some` first")
                } else if matches!((&lhs.ty, &rhs.ty), (Type::Int, Type::Float) | (Type::Float, Type::Int)) {
                    String::from("convert with `to_float(..)` or `to_int(..)`")
                } else {
                    String::from("arithmetic works on numbers of one type, `time ± duration`, `time - time`, `duration * int` and `string + string`")
                };
                self.error(
                    "qlp::bad_operands",
                    span,
                    format!("`{}` cannot be applied to `{a}` and `{b}`", op.as_str()),
                )
                .help = Some(help);
                Checker::error_expr(span)
            }
        }
    }

    fn call(&mut self, name: &ast::Ident, args: &[ast::Expr], span: Span) -> TExpr {
        if let Some(expr) = self.builtin_call(name, args, span) {
            return expr;
        }
        match self.scope.lookup(&name.name, self.file) {
            Lookup::Found(Decl {
                kind: DeclKind::Fn,
                index,
                ..
            }) => {
                let id = FnId(index);
                if !self.allow_calls {
                    self.error(
                        "qlp::call_not_allowed",
                        span,
                        format!("`{}` cannot be called here", name.name),
                    )
                    .help = Some(String::from(
                        "constants and test values cannot call functions; write the value",
                    ));
                    return Checker::error_expr(span);
                }
                let Some(def) = self.program.fns.get(index as usize) else {
                    return Checker::error_expr(span);
                };
                let params: Vec<Type> = def.params.iter().map(|(_, ty)| ty.clone()).collect();
                let ret = def.ret.clone();
                if args.len() != params.len() {
                    self.error(
                        "qlp::wrong_arity",
                        span,
                        format!(
                            "`{}` takes {} argument{}, but {} were given",
                            name.name,
                            params.len(),
                            if params.len() == 1 { "" } else { "s" },
                            args.len()
                        ),
                    )
                    .help = Some(format!(
                        "its parameters are ({})",
                        def.params
                            .iter()
                            .map(|(n, t)| format!("{n}: {}", t.display(&self.program)))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                    return Checker::error_expr(span);
                }
                let mut checked = Vec::new();
                for (arg, ty) in args.iter().zip(&params) {
                    let arg = self.expr(arg, Some(ty));
                    self.expect_type(&arg, ty);
                    checked.push(arg);
                }
                if let Some(caller) = self.current_fn {
                    self.calls.push((caller, id, self.file, span));
                }
                Checker::texpr(TExprKind::Call(id, checked), ret, span)
            }
            Lookup::Found(decl) => {
                self.error(
                    "qlp::not_a_function",
                    name.span,
                    format!("`{}` is {}, not a function", name.name, decl.kind.describe()),
                )
                .label = String::from("cannot be called");
                Checker::error_expr(span)
            }
            lookup => {
                let mut candidates = self.scope.visible_names(self.file, &[DeclKind::Fn]);
                for builtin in crate::builtins::BUILTINS {
                    candidates.push(builtin.name);
                }
                let hint = suggest(&name.name, candidates).map(str::to_string);
                if let Lookup::NotImported(decl) = lookup {
                    self.unresolved(Lookup::NotImported(decl), name, &[], "function");
                } else {
                    let diagnostic = self
                        .error(
                            "qlp::unknown_function",
                            name.span,
                            format!("unknown function `{}`", name.name),
                        )
                        .set_label("not a known function");
                    diagnostic.help = Some(match hint {
                        Some(hint) => format!("did you mean `{hint}`?"),
                        None => format!(
                            "built-in functions are {}",
                            crate::builtins::names().collect::<Vec<_>>().join(", ")
                        ),
                    });
                }
                Checker::error_expr(span)
            }
        }
    }

    /// Checks a call to a built-in function, or returns `None` if `name` is not one.
    fn builtin_call(&mut self, name: &ast::Ident, args: &[ast::Expr], span: Span) -> Option<TExpr> {
        let info = crate::builtins::find(&name.name)?;
        let arity = info.arity;
        if args.len() != arity {
            self.error(
                "qlp::wrong_arity",
                span,
                format!(
                    "`{}` takes {arity} argument{}, but {} were given",
                    name.name,
                    if arity == 1 { "" } else { "s" },
                    args.len()
                ),
            )
            .help = Some(info.signature.to_string());
            return Some(Checker::error_expr(span));
        }
        let string = Type::String;
        let (builtin, checked, ty) = match name.name.as_str() {
            "lower" | "upper" | "trim" => {
                let arg = self.builtin_arg(args, 0, &string)?;
                let builtin = match name.name.as_str() {
                    "lower" => Builtin::Lower,
                    "upper" => Builtin::Upper,
                    "trim" => Builtin::Trim,
                    _ => return None,
                };
                (builtin, vec![arg], Type::String)
            }
            "contains" | "starts_with" | "ends_with" => {
                let text = self.builtin_arg(args, 0, &string)?;
                let part = self.builtin_arg(args, 1, &string)?;
                let builtin = match name.name.as_str() {
                    "contains" => Builtin::Contains,
                    "starts_with" => Builtin::StartsWith,
                    "ends_with" => Builtin::EndsWith,
                    _ => return None,
                };
                (builtin, vec![text, part], Type::Bool)
            }
            "len" => {
                let arg = self.expr(args.first()?, None);
                let builtin = match &arg.ty {
                    Type::String => Builtin::StrLen,
                    Type::List(_) => Builtin::ListLen,
                    Type::Error => return Some(Checker::error_expr(span)),
                    other => {
                        let name = self.ty_name(other);
                        self.error(
                            "qlp::type_mismatch",
                            arg.span,
                            format!("`len` needs a string or a list, found `{name}`"),
                        )
                        .help = Some(info.signature.to_string());
                        return Some(Checker::error_expr(span));
                    }
                };
                (builtin, vec![arg], Type::Int)
            }
            "to_float" => (
                Builtin::ToFloat,
                vec![self.builtin_arg(args, 0, &Type::Int)?],
                Type::Float,
            ),
            "to_int" => (
                Builtin::ToInt,
                vec![self.builtin_arg(args, 0, &Type::Float)?],
                Type::Int,
            ),
            "abs" => {
                let arg = self.expr(args.first()?, None);
                let (builtin, ty) = match &arg.ty {
                    Type::Int => (Builtin::IntAbs, Type::Int),
                    Type::Float => (Builtin::FloatAbs, Type::Float),
                    Type::Error => return Some(Checker::error_expr(span)),
                    other => {
                        let name = self.ty_name(other);
                        self.error(
                            "qlp::type_mismatch",
                            arg.span,
                            format!("`abs` needs an `int` or a `float`, found `{name}`"),
                        );
                        return Some(Checker::error_expr(span));
                    }
                };
                (builtin, vec![arg], ty)
            }
            "min" | "max" => {
                let (a, b) = self.operand_pair(args.first()?, args.get(1)?);
                if a.ty.is_error() || b.ty.is_error() {
                    return Some(Checker::error_expr(span));
                }
                if !a.ty.agrees(&b.ty) || !a.ty.is_ordered() {
                    let x = self.ty_name(&a.ty);
                    let y = self.ty_name(&b.ty);
                    self.error(
                        "qlp::type_mismatch",
                        span,
                        format!(
                            "`{}` needs two values of one ordered type, found `{x}` and `{y}`",
                            name.name
                        ),
                    )
                    .help = Some(info.signature.to_string());
                    return Some(Checker::error_expr(span));
                }
                let scalar = scalar_of(&a.ty)?;
                let ty = a.ty.clone();
                let builtin = if name.name == "min" {
                    Builtin::Min(scalar)
                } else {
                    Builtin::Max(scalar)
                };
                (builtin, vec![a, b], ty)
            }
            "count_matches" => {
                let text = self.builtin_arg(args, 0, &string)?;
                let set = self.keyword_set_ref(args.get(1)?)?;
                (Builtin::CountMatches(set), vec![text], Type::Int)
            }
            // INVARIANT: every name in `builtins::BUILTINS` has an arm above.
            _ => return None,
        };
        Some(Checker::texpr(TExprKind::Builtin(builtin, checked), ty, span))
    }

    fn builtin_arg(&mut self, args: &[ast::Expr], index: usize, ty: &Type) -> Option<TExpr> {
        let arg = self.expr(args.get(index)?, Some(ty));
        self.expect_type(&arg, ty);
        Some(arg)
    }
}

#[derive(Default)]
struct RuleItems<'i> {
    campaign: Option<&'i ast::Ident>,
    when: Option<&'i ast::Expr>,
    then: Option<&'i Vec<ast::Action>>,
    reason: Option<&'i ast::StrLit>,
    cancels: Option<&'i Vec<ast::CancelTarget>>,
}

struct SavedBody {
    file: FileId,
    locals: Vec<Local>,
    n_locals: u32,
    narrowed: Vec<PathKey>,
    allow_now: bool,
    allow_locals: bool,
    allow_calls: bool,
    current_fn: Option<FnId>,
}

fn convert_action(action: &ast::Action) -> Action {
    Action {
        kind: action.kind,
        label: action.label.as_ref().map(|l| l.value.clone()),
        duration: action.duration,
    }
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
    let mut sizes: Vec<u64> = vec![0; program.fns.len()];
    for _ in 0..=MAX_CHAIN {
        let next: Vec<u64> = program.fns.iter().map(|def| expanded_size(&def.body, &sizes)).collect();
        if next == sizes {
            break;
        }
        sizes = next;
    }
    sizes
}

/// The number of nodes `expr` expands to, each call counting its function's
/// expanded body (`fn_sizes`) and each constant list its elements. Saturates.
pub fn expanded_size(expr: &TExpr, fn_sizes: &[u64]) -> u64 {
    let own: u64 = match &expr.kind {
        TExprKind::Call(id, _) => fn_sizes.get(id.index()).copied().unwrap_or(0),
        TExprKind::Const(Value::List(items)) => items.len() as u64,
        _ => 0,
    };
    expr.children().into_iter().fold(own.saturating_add(1), |sum, child| {
        sum.saturating_add(expanded_size(child, fn_sizes))
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
