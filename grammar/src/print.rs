//! AST to text, in the one canonical layout (the base of `qlp fmt`).
//!
//! Printing keeps the author's parentheses (`ExprKind::Paren`) and adds none:
//! [`needs_parens`] says where a tree needs a `Paren` node to print as itself,
//! so `parse(print(ast)) == ast` for every tree that respects it.

use std::fmt::Write as _;

use crate::ast::*;
use crate::span::Span;
use crate::time::{format_duration, format_written};

const INDENT: &str = "  ";
/// Inline keyword lists longer than this are printed one entry per line.
const INLINE_LIST_WIDTH: usize = 80;

/// A file in the canonical layout (without comments; `format` keeps them).
pub fn print_file(file: &File) -> String {
    let mut out = String::new();
    let mut previous: Option<&Item> = None;
    for item in &file.items {
        if let Some(previous) = previous {
            let both_imports = matches!(previous, Item::Import(_)) && matches!(item, Item::Import(_));
            out.push_str(if both_imports { "\n" } else { "\n\n" });
        }
        print_item(&mut out, item);
        previous = Some(item);
    }
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

pub(crate) fn print_item(out: &mut String, item: &Item) {
    Printer::default().item(out, item);
}

/// An action as written: `suspend(7d)`, `label("...")`.
pub fn print_action(action: &Action) -> String {
    Printer::default().action(action)
}

/// A field declaration: `strikes: int = 0`.
pub fn print_field(field: &crate::ast::FieldDecl) -> String {
    Printer::default().field(field)
}

/// An expression in the canonical layout, with the parentheses it needs.
pub fn print_expr(expr: &Expr) -> String {
    let mut out = String::new();
    Printer::default().expr(&mut out, expr);
    out
}

/// Conditions longer than this (in characters, with their indentation) are
/// printed one `and`/`or` operand per line.
pub const MAX_WIDTH: usize = 100;

/// Prints trees. With the text they were parsed from (as `qlp fmt` has it),
/// literals keep the author's spelling (`1_000`, `90m`, `"\u{4e2d}"`), and an
/// `and`/`or` chain with a comment inside is printed one operand per line so
/// the comment can stay next to its operand.
#[derive(Debug, Clone, Copy, Default)]
pub struct Printer<'a> {
    source: Option<&'a str>,
    comments: &'a [u32],
}

impl<'a> Printer<'a> {
    /// A printer for trees parsed from `source`, which has comments starting
    /// at the byte offsets `comments` (sorted).
    pub fn with_source(source: &'a str, comments: &'a [u32]) -> Printer<'a> {
        Printer {
            source: Some(source),
            comments,
        }
    }

    /// The source text under `span`, when printing with the source.
    fn written(&self, span: Span) -> Option<&'a str> {
        let text = self.source?.get(span.start as usize..span.end as usize)?;
        (!text.is_empty()).then_some(text)
    }

    fn comment_inside(&self, span: Span) -> bool {
        let at = self.comments.partition_point(|&c| c <= span.start);
        self.comments.get(at).is_some_and(|&c| c < span.end)
    }

    fn string(&self, literal: &StrLit) -> String {
        self.written(literal.span)
            .filter(|w| w.starts_with('"'))
            .map_or_else(|| quote(&literal.value), str::to_string)
    }

    fn time(&self, literal: &TimeLit) -> String {
        self.written(literal.span)
            .map_or_else(|| format_written(literal.value), str::to_string)
    }

    /// Prints an item.
    pub fn item(&self, out: &mut String, item: &Item) {
        match item {
            Item::Import(import) => {
                let _ = write!(out, "import {}", self.string(&import.path));
            }
            Item::TimeZone(decl) => {
                let _ = write!(out, "time_zone {}", self.string(&decl.zone));
            }
            Item::Enum(decl) => {
                let variants: Vec<&str> = decl.variants.iter().map(|v| v.name.as_str()).collect();
                let _ = write!(out, "enum {} {{ {} }}", decl.name.name, variants.join(", "));
            }
            Item::Record(decl) => {
                let _ = writeln!(out, "record {} {{", decl.name.name);
                for field in &decl.fields {
                    let _ = writeln!(out, "{INDENT}{}", self.field(field));
                }
                out.push('}');
            }
            Item::Keywords(decl) => {
                let _ = write!(out, "keywords {}", decl.name.name);
                if !decl.options.is_empty() {
                    let options: Vec<&str> = decl.options.iter().map(|o| o.name.as_str()).collect();
                    let _ = write!(out, "({})", options.join(", "));
                }
                out.push_str(" = ");
                match &decl.source {
                    KeywordsSource::File(path) => {
                        let _ = write!(out, "file({})", self.string(path));
                    }
                    KeywordsSource::Inline(entries) => {
                        let quoted: Vec<String> = entries.iter().map(|e| self.string(e)).collect();
                        let inline = format!("[{}]", quoted.join(", "));
                        if inline.chars().count() <= INLINE_LIST_WIDTH && !self.comment_inside(decl.span) {
                            out.push_str(&inline);
                        } else {
                            out.push_str("[\n");
                            for entry in quoted {
                                let _ = writeln!(out, "{INDENT}{entry},");
                            }
                            out.push(']');
                        }
                    }
                }
            }
            Item::Const(decl) => {
                let mut prefix = format!("const {}", decl.name.name);
                if let Some(ty) = &decl.ty {
                    let _ = write!(prefix, ": {}", print_type(ty));
                }
                prefix.push_str(" = ");
                self.condition(out, "", &prefix, &decl.value);
            }
            Item::Fn(decl) => {
                let params: Vec<String> = decl.params.iter().map(print_param).collect();
                let prefix = format!(
                    "fn {}({}) -> {} = ",
                    decl.name.name,
                    params.join(", "),
                    print_type(&decl.ret)
                );
                self.condition(out, "", &prefix, &decl.body);
            }
            Item::Campaign(decl) => {
                let _ = writeln!(out, "campaign {} {{", decl.name.name);
                for prop in &decl.props {
                    match prop {
                        CampaignProp::Title(title) => {
                            let _ = writeln!(out, "{INDENT}title: {}", self.string(title));
                        }
                        CampaignProp::Active { start, end, .. } => {
                            let _ = writeln!(out, "{INDENT}active: {} .. {}", self.time(start), self.time(end));
                        }
                        CampaignProp::Shadow(value, _) => {
                            let _ = writeln!(out, "{INDENT}shadow: {value}");
                        }
                        CampaignProp::MaxAction(kind) => {
                            let _ = writeln!(out, "{INDENT}max_action: {}", kind.kind.as_str());
                        }
                    }
                }
                out.push('}');
            }
            Item::Rule(decl) => self.rule_like(out, "rule", &decl.name, &decl.param, &decl.items),
            Item::Exempt(decl) => self.rule_like(out, "exempt", &decl.name, &decl.param, &decl.items),
            Item::State(decl) => {
                let _ = writeln!(
                    out,
                    "{} {}({}: {}) {{",
                    decl.kind.as_str(),
                    decl.name.name,
                    decl.param.name.name,
                    print_type(&decl.param.ty)
                );
                for item in &decl.items {
                    self.condition(out, INDENT, &format!("{}: ", item.field.name), &item.value);
                    out.push('\n');
                }
                out.push('}');
            }
            Item::Test(decl) => {
                let _ = writeln!(out, "test {} {{", self.string(&decl.name));
                for item in &decl.items {
                    out.push_str(INDENT);
                    match item {
                        TestItem::Now(expr) => {
                            out.push_str("now: ");
                            self.expr(out, expr);
                        }
                        TestItem::Given { count, ty, value } => {
                            out.push_str("given ");
                            if let Some(count) = count {
                                let _ = write!(out, "{count} ");
                            }
                            let _ = write!(out, "{} {}", ty.name, self.record_value(value));
                        }
                        TestItem::Expect(expectation) => {
                            out.push_str("expect ");
                            out.push_str(&print_expectation(expectation));
                        }
                    }
                    out.push('\n');
                }
                out.push('}');
            }
        }
    }

    fn rule_like(&self, out: &mut String, keyword: &str, name: &Ident, param: &Param, items: &[RuleItem]) {
        let _ = writeln!(out, "{keyword} {}({}) {{", name.name, print_param(param));
        for item in items {
            match item {
                RuleItem::Campaign(campaign) => {
                    let _ = write!(out, "{INDENT}campaign: {}", campaign.name);
                }
                RuleItem::When(expr) => self.condition(out, INDENT, "when: ", expr),
                RuleItem::Then(actions) => {
                    let actions: Vec<String> = actions.iter().map(|a| self.action(a)).collect();
                    let _ = write!(out, "{INDENT}then: {}", actions.join(", "));
                }
                RuleItem::Reason(reason) => {
                    let _ = write!(out, "{INDENT}reason: {}", self.string(reason));
                }
                RuleItem::Shadow(value, _) => {
                    let _ = write!(out, "{INDENT}shadow: {value}");
                }
                RuleItem::Cancels(targets) => {
                    let targets: Vec<String> = targets
                        .iter()
                        .map(|target| match target {
                            CancelTarget::Rule(rule) => rule.name.clone(),
                            CancelTarget::Campaign(campaign) => format!("campaign {}", campaign.name),
                        })
                        .collect();
                    let _ = write!(out, "{INDENT}cancels: {}", targets.join(", "));
                }
            }
            out.push('\n');
        }
        out.push('}');
    }

    /// `{indent}{prefix}{expr}`, with an `and`/`or` chain one operand per
    /// line (indented one step more, operator first) when the line would be
    /// longer than [`MAX_WIDTH`] or a comment is inside the chain, before
    /// its last operand.
    fn condition(&self, out: &mut String, indent: &str, prefix: &str, expr: &Expr) {
        let mut line = String::new();
        self.expr(&mut line, expr);
        let width = indent.chars().count() + prefix.chars().count() + line.chars().count();
        let _ = write!(out, "{indent}{prefix}");
        // A comment before the last operand keeps the chain broken: once
        // placed it is still there, so formatting is idempotent.
        let commented = |operands: &[&Expr]| {
            let last = operands.last().map_or(expr.span.end, |e| e.span.start);
            self.comment_inside(Span {
                start: expr.span.start,
                end: last,
            })
        };
        match chain(expr) {
            Some((op, operands)) if width > MAX_WIDTH || commented(&operands) => {
                for (i, operand) in operands.into_iter().enumerate() {
                    if i > 0 {
                        let _ = write!(out, "\n{indent}{INDENT}{} ", op.as_str());
                    }
                    self.expr(out, operand);
                }
            }
            _ => out.push_str(&line),
        }
    }

    /// An action as written: `suspend(7d)`, `label("...")`.
    pub fn action(&self, action: &Action) -> String {
        // The duration as the author spelled it: the last word in the action
        // that spells its value (comments may sit between the brackets).
        let written_duration = |micros: i64| {
            let text = self.written(action.span)?;
            text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .rev()
                .find(|word| crate::time::parse_duration(word) == Ok(micros))
                .map(str::to_string)
        };
        let duration = |micros: i64| written_duration(micros).unwrap_or_else(|| format_duration(micros));
        match (action.kind, &action.label, action.duration) {
            (ActionKind::Label, Some(label), _) => format!("label({})", self.string(label)),
            (ActionKind::Suspend, _, Some(micros)) => format!("suspend({})", duration(micros)),
            (ActionKind::Tag, _, ttl) => {
                let name = action.tag.as_ref().map_or("", |t| t.name.as_str());
                match ttl {
                    Some(ttl) => format!("tag({name}, {})", duration(ttl)),
                    None => format!("tag({name})"),
                }
            }
            (kind, _, _) => kind.as_str().to_string(),
        }
    }

    /// A field declaration: `strikes: int = 0`.
    pub fn field(&self, field: &crate::ast::FieldDecl) -> String {
        match &field.default {
            Some(default) => format!(
                "{}: {} = {}",
                field.name.name,
                print_type(&field.ty),
                self.value(default)
            ),
            None => format!("{}: {}", field.name.name, print_type(&field.ty)),
        }
    }

    fn record_value(&self, value: &RecordValue) -> String {
        if value.fields.is_empty() {
            return String::from("{}");
        }
        let fields: Vec<String> = value
            .fields
            .iter()
            .map(|(name, value)| format!("{}: {}", name.name, self.value(value)))
            .collect();
        format!("{{ {} }}", fields.join(", "))
    }

    fn value(&self, value: &Value) -> String {
        match value {
            Value::Record(record) => self.record_value(record),
            Value::List(values, _) => {
                let values: Vec<String> = values.iter().map(|v| self.value(v)).collect();
                format!("[{}]", values.join(", "))
            }
            Value::Expr(expr) => {
                let mut out = String::new();
                self.expr(&mut out, expr);
                out
            }
        }
    }
}

/// The operands of an `and` or `or` chain (`a and b and c`), left to right.
fn chain(expr: &Expr) -> Option<(BinaryOp, Vec<&Expr>)> {
    let ExprKind::Binary(op @ (BinaryOp::And | BinaryOp::Or), _, _) = &expr.kind else {
        return None;
    };
    let mut operands = Vec::new();
    let mut rest = expr;
    while let ExprKind::Binary(inner, lhs, rhs) = &rest.kind {
        if inner != op {
            break;
        }
        operands.push(&**rhs);
        rest = lhs;
    }
    operands.push(rest);
    operands.reverse();
    Some((*op, operands))
}

fn print_expectation(expectation: &Expectation) -> String {
    let names = |idents: &[Ident]| idents.iter().map(|i| i.name.as_str()).collect::<Vec<_>>().join(", ");
    match expectation {
        Expectation::Nothing(_) => String::from("nothing"),
        Expectation::Verdict(kind, _) => {
            format!("verdict: {}", kind.map_or("allow", ActionKind::as_str))
        }
        Expectation::Fires(rules) => names(rules),
        Expectation::NotFires(rules) => format!("not {}", names(rules)),
        Expectation::Errors(rules) => format!("error {}", names(rules)),
    }
}

fn print_param(param: &Param) -> String {
    format!("{}: {}", param.name.name, print_type(&param.ty))
}

/// A type as written: `[string]`, `int?`.
pub fn print_type(ty: &TypeExpr) -> String {
    match &ty.kind {
        TypeExprKind::Named(name) => name.name.clone(),
        TypeExprKind::List(element) => format!("[{}]", print_type(element)),
        TypeExprKind::Optional(inner) => format!("{}?", print_type(inner)),
    }
}

/// A string literal, quoted and escaped so that it parses back to `value`.
pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Where a sub-expression sits, for deciding whether it needs parentheses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// Left operand of a binary operator of this precedence.
    Left(u8),
    /// Right operand of a binary operator of this precedence.
    Right(u8),
    /// Operand of a prefix operator of this precedence.
    Prefix(u8),
    /// Operand of a postfix operator of this precedence.
    Postfix(u8),
}

/// How tightly an expression binds on its own; `if` and `let` extend as far
/// right as they can, so they bind loosest of all.
fn binding(expr: &Expr) -> u8 {
    match &expr.kind {
        ExprKind::Binary(op, _, _) => op.precedence(),
        ExprKind::Unary(UnaryOp::Not, _) => NOT_PRECEDENCE,
        ExprKind::Unary(UnaryOp::Neg, _) => NEG_PRECEDENCE,
        ExprKind::IsSome { .. } => IS_PRECEDENCE,
        ExprKind::Field(..) => 9,
        ExprKind::If(..) | ExprKind::Let(..) => 0,
        _ => 10,
    }
}

/// Whether an expression ends in an open `if` or `let` that would swallow
/// whatever is printed after it.
fn ends_open(expr: &Expr) -> bool {
    match &expr.kind {
        ExprKind::If(..) | ExprKind::Let(..) => true,
        ExprKind::Binary(_, _, rhs) => ends_open(rhs),
        ExprKind::Unary(_, operand) => ends_open(operand),
        _ => false,
    }
}

/// Whether `child` must be wrapped in a `Paren` to print and parse back as
/// the same tree in `position`.
pub fn needs_parens(child: &Expr, position: Position) -> bool {
    let own = binding(child);
    match position {
        Position::Left(parent) => own < parent || own == 0 || ends_open(child),
        Position::Right(parent) => own <= parent,
        Position::Prefix(parent) => own < parent,
        Position::Postfix(parent) => own < parent || ends_open(child),
    }
}

impl Printer<'_> {
    /// Writes an expression.
    pub fn expr(&self, out: &mut String, expr: &Expr) {
        if let (
            ExprKind::Int(_) | ExprKind::Float(_) | ExprKind::Str(_) | ExprKind::Time(_) | ExprKind::Duration(_),
            Some(written),
        ) = (&expr.kind, self.written(expr.span))
        {
            out.push_str(written);
            return;
        }
        match &expr.kind {
            ExprKind::Int(value) => {
                let _ = write!(out, "{value}");
            }
            ExprKind::Float(value) => {
                let _ = write!(out, "{value:?}");
            }
            ExprKind::Str(value) => out.push_str(&quote(value)),
            ExprKind::Bool(value) => {
                let _ = write!(out, "{value}");
            }
            ExprKind::Time(value) => out.push_str(&format_written(*value)),
            ExprKind::Duration(micros) => out.push_str(&format_duration(*micros)),
            ExprKind::Now => out.push_str("now"),
            ExprKind::Name(name) => out.push_str(&name.name),
            ExprKind::Field(operand, field) => {
                self.expr(out, operand);
                out.push('.');
                out.push_str(&field.name);
            }
            ExprKind::Call(name, args) => {
                out.push_str(&name.name);
                out.push('(');
                self.list(out, args);
                out.push(')');
            }
            ExprKind::List(items) => {
                out.push('[');
                self.list(out, items);
                out.push(']');
            }
            ExprKind::Paren(inner) => {
                out.push('(');
                self.expr(out, inner);
                out.push(')');
            }
            ExprKind::Unary(op, operand) => {
                out.push_str(match op {
                    UnaryOp::Not => "not ",
                    UnaryOp::Neg => "-",
                });
                self.expr(out, operand);
            }
            ExprKind::Binary(op, lhs, rhs) => {
                self.expr(out, lhs);
                out.push(' ');
                out.push_str(op.as_str());
                out.push(' ');
                self.expr(out, rhs);
            }
            ExprKind::IsSome { operand, negated } => {
                self.expr(out, operand);
                out.push_str(if *negated { " is none" } else { " is some" });
            }
            ExprKind::If(cond, then, otherwise) => {
                out.push_str("if ");
                self.expr(out, cond);
                out.push_str(" then ");
                self.expr(out, then);
                out.push_str(" else ");
                self.expr(out, otherwise);
            }
            ExprKind::Let(name, value, body) => {
                let _ = write!(out, "let {} = ", name.name);
                self.expr(out, value);
                out.push_str("; ");
                self.expr(out, body);
            }
            ExprKind::Quantifier {
                kind,
                var,
                list,
                predicate,
            } => {
                let _ = write!(out, "{}({} in ", kind.as_str(), var.name);
                self.expr(out, list);
                out.push_str(": ");
                self.expr(out, predicate);
                out.push(')');
            }
        }
    }

    fn list(&self, out: &mut String, items: &[Expr]) {
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            self.expr(out, item);
        }
    }
}
