//! The policy linter: mistakes that type-check but that policy authors
//! regret. One file per lint in `lint/`, each with a doc comment in fixed
//! sections (what it does, why it is bad, an example, what to write
//! instead), from which `docs/lints/` is generated.
//!
//! Lints read the checked program (and its syntax, for names and comments)
//! and report [`LintHit`]s; the registry gives each a stable code, a name
//! and a default level.

#![warn(missing_docs)]

use qlp_grammar::{Diagnostic, FileId, Span};

use qlp_compiler::program::{Program, TExpr};

mod action_exceeds_campaign;
mod bidi_control;
mod campaign_ended;
mod campaign_far_future;
mod campaign_without_title;
mod constant_condition;
mod default_hides_missing;
mod duplicate_keyword;
mod empty_regex_match;
mod float_equality;
mod keyword_only_severe;
mod mixed_script_identifier;
mod rule_without_campaign;
mod rule_without_reason;
mod shadowed_rule;
mod short_keyword;
mod subsumed_keyword;
mod test_without_now;
mod unanchored_regex;
mod unreachable_rule;
mod untested_rule;
mod unused_campaign;
mod unused_constant;
mod unused_function;
mod unused_import;
mod unused_keywords;
mod unused_state;

/// How seriously a lint is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Not reported.
    Allow,
    /// Reported; does not fail `qlp lint` by default.
    Warning,
    /// Reported; fails `qlp lint`.
    Error,
}

impl Level {
    /// `allow` (or `off`), `warn` (or `warning`) and `error` (or `deny`), as `qlp.toml` spells them.
    pub fn parse(text: &str) -> Option<Level> {
        match text {
            "allow" | "off" => Some(Level::Allow),
            "warn" | "warning" => Some(Level::Warning),
            "error" | "deny" => Some(Level::Error),
            _ => None,
        }
    }

    /// The level as `qlp.toml` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Allow => "allow",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

/// A text edit that fixes a hit: replace `span` of `file` with `replacement`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fix {
    /// The file to edit.
    pub file: FileId,
    /// The bytes to replace.
    pub span: Span,
    /// What replaces them.
    pub replacement: String,
}

/// One finding of one lint.
#[derive(Debug, Clone)]
pub struct LintHit {
    /// The file of the finding.
    pub file: FileId,
    /// Where the finding is.
    pub span: Span,
    /// What is wrong, in the lint's words.
    pub message: String,
    /// How to fix it.
    pub help: Option<String>,
    /// An edit that fixes it safely, for `qlp lint --fix`.
    pub fix: Option<Fix>,
}

impl LintHit {
    /// A finding at `span` of `file`.
    pub fn new(file: FileId, span: Span, message: impl Into<String>) -> LintHit {
        LintHit {
            file,
            span,
            message: message.into(),
            help: None,
            fix: None,
        }
    }

    /// Adds a help line.
    pub fn help(mut self, help: impl Into<String>) -> LintHit {
        self.help = Some(help.into());
        self
    }

    /// Adds a safe fix.
    pub fn fix(mut self, fix: Fix) -> LintHit {
        self.fix = Some(fix);
        self
    }
}

/// What lints see.
pub struct LintContext<'a> {
    /// The checked program.
    pub program: &'a Program,
    /// Today, for lints about campaign periods (microseconds since the epoch).
    pub today: i64,
}

/// A lint in the registry.
pub struct Lint {
    /// A stable code, `QLP1xx`.
    pub code: &'static str,
    /// A stable name, saying what is allowed when it is turned off.
    pub name: &'static str,
    /// The level it has unless `qlp.toml` says otherwise.
    pub default_level: Level,
    /// The lint's source, whose leading `//!` comment is its documentation.
    pub source: &'static str,
    /// Reports the lint's findings in the program.
    pub check: fn(&LintContext<'_>, &mut Vec<LintHit>),
}

impl Lint {
    /// The documentation: the leading `//!` lines of the lint's file.
    pub fn doc(&self) -> String {
        self.source
            .lines()
            .take_while(|l| l.starts_with("//!"))
            .map(|l| {
                l.trim_start_matches("//!")
                    .strip_prefix(' ')
                    .unwrap_or(l.trim_start_matches("//!"))
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The first line of the documentation.
    pub fn summary(&self) -> String {
        self.doc()
            .lines()
            .find(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .unwrap_or("")
            .to_string()
    }
}

macro_rules! registry {
    ($($code:literal $name:literal $level:ident $module:ident),* $(,)?) => {
        /// Every lint, by code.
        pub const REGISTRY: &[Lint] = &[
            $(Lint {
                code: $code,
                name: $name,
                default_level: Level::$level,
                source: include_str!(concat!(stringify!($module), ".rs")),
                check: $module::check,
            },)*
        ];
    };
}

registry! {
    "QLP101" "unused-keywords" Warning unused_keywords,
    "QLP102" "unused-function" Warning unused_function,
    "QLP103" "unused-constant" Warning unused_constant,
    "QLP104" "unused-import" Warning unused_import,
    "QLP105" "unreachable-rule" Error unreachable_rule,
    "QLP106" "constant-condition" Warning constant_condition,
    "QLP107" "shadowed-rule" Warning shadowed_rule,
    "QLP108" "duplicate-keyword" Warning duplicate_keyword,
    "QLP109" "subsumed-keyword" Warning subsumed_keyword,
    "QLP110" "short-keyword" Warning short_keyword,
    "QLP111" "empty-regex-match" Error empty_regex_match,
    "QLP112" "unanchored-regex" Warning unanchored_regex,
    "QLP113" "float-equality" Warning float_equality,
    "QLP114" "default-hides-missing" Warning default_hides_missing,
    "QLP115" "campaign-ended" Warning campaign_ended,
    "QLP116" "campaign-far-future" Warning campaign_far_future,
    "QLP117" "rule-without-campaign" Warning rule_without_campaign,
    "QLP118" "rule-without-reason" Warning rule_without_reason,
    "QLP119" "action-exceeds-campaign" Error action_exceeds_campaign,
    "QLP120" "untested-rule" Warning untested_rule,
    "QLP121" "mixed-script-identifier" Warning mixed_script_identifier,
    "QLP122" "bidi-control" Error bidi_control,
    "QLP123" "campaign-without-title" Warning campaign_without_title,
    "QLP124" "unused-campaign" Warning unused_campaign,
    "QLP125" "test-without-now" Warning test_without_now,
    "QLP126" "unused-state" Warning unused_state,
    "QLP127" "keyword-only-severe" Warning keyword_only_severe,
}

/// The documentation of `QLP100`, the findings about suppressions
/// themselves (reported by `qlp lint`, not a lint one can turn off).
pub const SUPPRESSIONS_DOC: &str = "# QLP100 `suppressions`

Default level: error. Not a lint of the policies: a finding about a suppression comment itself, which cannot be turned off.

## What it does
A finding is suppressed by a comment on its line or the line above:

```qlp
// qlp: allow(QLP110) reason: `赌` alone is what this list is for
keywords single_characters = [\"赌\"]
```

The comment names one or more lints, by code (`QLP110`) or name
(`short-keyword`), separated by commas, then `reason:` and why. `QLP100`
reports:

- a suppression without a reason (`suppression-without-reason`): it
  suppresses nothing until it says why;
- a code or name that is no lint (`unknown-lint-in-suppression`), with the
  lint it may be a misspelling of: such a suppression would silently
  suppress nothing.

## Why is this bad?
A suppression is a decision a reviewer should be able to read; one that
names no lint hides that it does nothing.

## Example
```qlp
// qlp: allow(QLP999)
```

Use instead:
```qlp
// qlp: allow(QLP110) reason: one-character list on purpose
```
";

/// Finds a lint by code (`QLP104`) or name (`unused-import`).
pub fn find(key: &str) -> Option<&'static Lint> {
    REGISTRY
        .iter()
        .find(|l| l.code.eq_ignore_ascii_case(key) || l.name == key)
}

/// A lint finding as a diagnostic at `level`.
pub fn to_diagnostic(lint: &Lint, hit: &LintHit, level: Level) -> Diagnostic {
    let mut diagnostic = match level {
        Level::Error => Diagnostic::error(lint.code, hit.file, hit.span, hit.message.clone()),
        _ => Diagnostic::warning(lint.code, hit.file, hit.span, hit.message.clone()),
    };
    diagnostic.label = lint.name.to_string();
    diagnostic.help = hit.help.clone();
    if let Some(fix) = hit.fix.as_ref().filter(|fix| fix.file == hit.file) {
        diagnostic.set_fix(fix.span, fix.replacement.clone());
    }
    diagnostic
}

/// Runs one lint.
pub fn run_lint(lint: &Lint, context: &LintContext<'_>) -> Vec<LintHit> {
    let mut hits = Vec::new();
    (lint.check)(context, &mut hits);
    hits.sort_by_key(|h| (h.file, h.span.start));
    hits
}

// ---------------------------------------------------------------- shared helpers

/// Every typed expression tree of the program (rule and exemption
/// conditions, function bodies), with the file it is written in.
pub(crate) fn bodies(program: &Program) -> Vec<(FileId, &TExpr)> {
    let rules = program.rules.iter().map(|r| (r.location.file, &r.when));
    let exempts = program.exemptions.iter().map(|e| (e.location.file, &e.when));
    let fns = program.fns.iter().map(|f| (f.location.file, &f.body));
    rules.chain(exempts).chain(fns).collect()
}

/// Calls `visit` on `expr` and every sub-expression.
pub(crate) fn walk<'e>(expr: &'e TExpr, visit: &mut dyn FnMut(&'e TExpr)) {
    visit(expr);
    for child in expr.children() {
        walk(child, visit);
    }
}

/// Every name used in the syntax of a file (expressions, types, rule and
/// campaign references).
pub(crate) fn names_used(file: &qlp_grammar::ast::File) -> Vec<String> {
    use qlp_grammar::ast::*;
    fn expr_names(e: &Expr, out: &mut Vec<String>) {
        match &e.kind {
            ExprKind::Name(n) => out.push(n.name.clone()),
            ExprKind::Call(n, args) => {
                out.push(n.name.clone());
                args.iter().for_each(|a| expr_names(a, out));
            }
            ExprKind::Field(b, _) | ExprKind::Paren(b) | ExprKind::Unary(_, b) => expr_names(b, out),
            ExprKind::IsSome { operand, .. } => expr_names(operand, out),
            ExprKind::List(items) => items.iter().for_each(|a| expr_names(a, out)),
            ExprKind::Binary(_, a, b) | ExprKind::Let(_, a, b) => {
                expr_names(a, out);
                expr_names(b, out);
            }
            ExprKind::If(a, b, c) => {
                expr_names(a, out);
                expr_names(b, out);
                expr_names(c, out);
            }
            ExprKind::Quantifier { list, predicate, .. } => {
                expr_names(list, out);
                expr_names(predicate, out);
            }
            _ => {}
        }
    }
    fn type_names(t: &TypeExpr, out: &mut Vec<String>) {
        match &t.kind {
            TypeExprKind::Named(n) => out.push(n.name.clone()),
            TypeExprKind::List(i) | TypeExprKind::Optional(i) => type_names(i, out),
        }
    }
    fn value_names(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Record(r) => r.fields.iter().for_each(|(_, v)| value_names(v, out)),
            Value::List(items, _) => items.iter().for_each(|v| value_names(v, out)),
            Value::Expr(e) => expr_names(e, out),
        }
    }
    let mut out = Vec::new();
    for item in &file.items {
        match item {
            Item::Record(r) => r.fields.iter().for_each(|f| type_names(&f.ty, &mut out)),
            Item::Const(c) => {
                if let Some(t) = &c.ty {
                    type_names(t, &mut out);
                }
                expr_names(&c.value, &mut out);
            }
            Item::Fn(f) => {
                f.params.iter().for_each(|p| type_names(&p.ty, &mut out));
                type_names(&f.ret, &mut out);
                expr_names(&f.body, &mut out);
            }
            Item::Rule(RuleDecl { param, items, .. }) | Item::Exempt(ExemptDecl { param, items, .. }) => {
                type_names(&param.ty, &mut out);
                for rule_item in items {
                    match rule_item {
                        RuleItem::Campaign(c) => out.push(c.name.clone()),
                        RuleItem::When(e) => expr_names(e, &mut out),
                        RuleItem::Then(actions) => {
                            out.extend(actions.iter().filter_map(|a| a.tag.as_ref()).map(|t| t.name.clone()))
                        }
                        RuleItem::Cancels(targets) => targets.iter().for_each(|t| match t {
                            CancelTarget::Rule(n) | CancelTarget::Campaign(n) => out.push(n.name.clone()),
                        }),
                        _ => {}
                    }
                }
            }
            Item::State(state) => {
                type_names(&state.param.ty, &mut out);
                state.items.iter().for_each(|i| expr_names(&i.value, &mut out));
            }
            Item::Test(t) => {
                for test_item in &t.items {
                    match test_item {
                        TestItem::Now(e) => expr_names(e, &mut out),
                        TestItem::Given { ty, value, .. } => {
                            out.push(ty.name.clone());
                            value.fields.iter().for_each(|(_, v)| value_names(v, &mut out));
                        }
                        TestItem::Expect(_) => {}
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// The span of a whole top-level item, extended over its trailing newline,
/// for fixes that delete it.
pub(crate) fn item_deletion(program: &Program, file: FileId, span: Span) -> Fix {
    let text = program.sources.get(file).map_or("", |f| f.text.as_str());
    let mut end = span.end as usize;
    if text.get(end..end + 1) == Some("\n") {
        end += 1;
    }
    Fix {
        file,
        span: Span::new(span.start as usize, end),
        replacement: String::new(),
    }
}
