//! AST to text, in the one canonical layout (the base of `qlp fmt`).
//!
//! Printing keeps the author's parentheses (`ExprKind::Paren`) and adds none:
//! [`needs_parens`] says where a tree needs a `Paren` node to print as itself,
//! so `parse(print(ast)) == ast` for every tree that respects it.

use std::fmt::Write as _;

use crate::ast::*;
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
    match item {
        Item::Import(import) => {
            let _ = write!(out, "import {}", quote(&import.path.value));
        }
        Item::TimeZone(decl) => {
            let _ = write!(out, "time_zone {}", quote(&decl.zone.value));
        }
        Item::Enum(decl) => {
            let variants: Vec<&str> = decl.variants.iter().map(|v| v.name.as_str()).collect();
            let _ = write!(out, "enum {} {{ {} }}", decl.name.name, variants.join(", "));
        }
        Item::Record(decl) => {
            let _ = writeln!(out, "record {} {{", decl.name.name);
            for field in &decl.fields {
                let _ = writeln!(out, "{INDENT}{}", print_field(field));
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
                    let _ = write!(out, "file({})", quote(&path.value));
                }
                KeywordsSource::Inline(entries) => {
                    let quoted: Vec<String> = entries.iter().map(|e| quote(&e.value)).collect();
                    let inline = format!("[{}]", quoted.join(", "));
                    if inline.chars().count() <= INLINE_LIST_WIDTH {
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
            let _ = write!(out, "const {}", decl.name.name);
            if let Some(ty) = &decl.ty {
                let _ = write!(out, ": {}", print_type(ty));
            }
            let _ = write!(out, " = {}", print_expr(&decl.value));
        }
        Item::Fn(decl) => {
            let params: Vec<String> = decl.params.iter().map(print_param).collect();
            let _ = write!(
                out,
                "fn {}({}) -> {} = {}",
                decl.name.name,
                params.join(", "),
                print_type(&decl.ret),
                print_expr(&decl.body)
            );
        }
        Item::Campaign(decl) => {
            let _ = writeln!(out, "campaign {} {{", decl.name.name);
            for prop in &decl.props {
                match prop {
                    CampaignProp::Title(title) => {
                        let _ = writeln!(out, "{INDENT}title: {}", quote(&title.value));
                    }
                    CampaignProp::Active { start, end, .. } => {
                        let _ = writeln!(
                            out,
                            "{INDENT}active: {} .. {}",
                            format_written(start.value),
                            format_written(end.value)
                        );
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
        Item::Rule(decl) => print_rule_like(out, "rule", &decl.name, &decl.param, &decl.items),
        Item::Exempt(decl) => print_rule_like(out, "exempt", &decl.name, &decl.param, &decl.items),
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
                let _ = writeln!(out, "{INDENT}{}: {}", item.field.name, print_expr(&item.value));
            }
            out.push('}');
        }
        Item::Test(decl) => {
            let _ = writeln!(out, "test {} {{", quote(&decl.name.value));
            for item in &decl.items {
                out.push_str(INDENT);
                match item {
                    TestItem::Now(expr) => {
                        let _ = write!(out, "now: {}", print_expr(expr));
                    }
                    TestItem::Given { count, ty, value } => {
                        out.push_str("given ");
                        if let Some(count) = count {
                            let _ = write!(out, "{count} ");
                        }
                        let _ = write!(out, "{} {}", ty.name, print_record_value(value));
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

fn print_rule_like(out: &mut String, keyword: &str, name: &Ident, param: &Param, items: &[RuleItem]) {
    let _ = writeln!(out, "{keyword} {}({}) {{", name.name, print_param(param));
    for item in items {
        out.push_str(INDENT);
        match item {
            RuleItem::Campaign(campaign) => {
                let _ = write!(out, "campaign: {}", campaign.name);
            }
            RuleItem::When(expr) => {
                let _ = write!(out, "when: {}", print_expr(expr));
            }
            RuleItem::Then(actions) => {
                let actions: Vec<String> = actions.iter().map(print_action).collect();
                let _ = write!(out, "then: {}", actions.join(", "));
            }
            RuleItem::Reason(reason) => {
                let _ = write!(out, "reason: {}", quote(&reason.value));
            }
            RuleItem::Shadow(value, _) => {
                let _ = write!(out, "shadow: {value}");
            }
            RuleItem::Cancels(targets) => {
                let targets: Vec<String> = targets
                    .iter()
                    .map(|target| match target {
                        CancelTarget::Rule(rule) => rule.name.clone(),
                        CancelTarget::Campaign(campaign) => format!("campaign {}", campaign.name),
                    })
                    .collect();
                let _ = write!(out, "cancels: {}", targets.join(", "));
            }
        }
        out.push('\n');
    }
    out.push('}');
}

/// An action as written: `suspend(7d)`, `label("...")`.
pub fn print_action(action: &Action) -> String {
    match (action.kind, &action.label, action.duration) {
        (ActionKind::Label, Some(label), _) => format!("label({})", quote(&label.value)),
        (ActionKind::Suspend, _, Some(duration)) => {
            format!("suspend({})", format_duration(duration))
        }
        (ActionKind::Tag, _, duration) => {
            let name = action.tag.as_ref().map_or("", |t| t.name.as_str());
            match duration {
                Some(ttl) => format!("tag({name}, {})", format_duration(ttl)),
                None => format!("tag({name})"),
            }
        }
        (kind, _, _) => kind.as_str().to_string(),
    }
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

/// A field declaration: `strikes: int = 0`.
pub fn print_field(field: &crate::ast::FieldDecl) -> String {
    match &field.default {
        Some(default) => format!(
            "{}: {} = {}",
            field.name.name,
            print_type(&field.ty),
            print_value(default)
        ),
        None => format!("{}: {}", field.name.name, print_type(&field.ty)),
    }
}

fn print_record_value(value: &RecordValue) -> String {
    if value.fields.is_empty() {
        return String::from("{}");
    }
    let fields: Vec<String> = value
        .fields
        .iter()
        .map(|(name, value)| format!("{}: {}", name.name, print_value(value)))
        .collect();
    format!("{{ {} }}", fields.join(", "))
}

fn print_value(value: &Value) -> String {
    match value {
        Value::Record(record) => print_record_value(record),
        Value::List(values, _) => {
            let values: Vec<String> = values.iter().map(print_value).collect();
            format!("[{}]", values.join(", "))
        }
        Value::Expr(expr) => print_expr(expr),
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

/// An expression in the canonical layout, with the parentheses it needs.
pub fn print_expr(expr: &Expr) -> String {
    let mut out = String::new();
    write_expr(&mut out, expr);
    out
}

fn write_expr(out: &mut String, expr: &Expr) {
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
            write_expr(out, operand);
            out.push('.');
            out.push_str(&field.name);
        }
        ExprKind::Call(name, args) => {
            out.push_str(&name.name);
            out.push('(');
            write_list(out, args);
            out.push(')');
        }
        ExprKind::List(items) => {
            out.push('[');
            write_list(out, items);
            out.push(']');
        }
        ExprKind::Paren(inner) => {
            out.push('(');
            write_expr(out, inner);
            out.push(')');
        }
        ExprKind::Unary(op, operand) => {
            out.push_str(match op {
                UnaryOp::Not => "not ",
                UnaryOp::Neg => "-",
            });
            write_expr(out, operand);
        }
        ExprKind::Binary(op, lhs, rhs) => {
            write_expr(out, lhs);
            out.push(' ');
            out.push_str(op.as_str());
            out.push(' ');
            write_expr(out, rhs);
        }
        ExprKind::IsSome { operand, negated } => {
            write_expr(out, operand);
            out.push_str(if *negated { " is none" } else { " is some" });
        }
        ExprKind::If(cond, then, otherwise) => {
            out.push_str("if ");
            write_expr(out, cond);
            out.push_str(" then ");
            write_expr(out, then);
            out.push_str(" else ");
            write_expr(out, otherwise);
        }
        ExprKind::Let(name, value, body) => {
            let _ = write!(out, "let {} = ", name.name);
            write_expr(out, value);
            out.push_str("; ");
            write_expr(out, body);
        }
        ExprKind::Quantifier {
            kind,
            var,
            list,
            predicate,
        } => {
            let _ = write!(out, "{}({} in ", kind.as_str(), var.name);
            write_expr(out, list);
            out.push_str(": ");
            write_expr(out, predicate);
            out.push(')');
        }
    }
}

fn write_list(out: &mut String, items: &[Expr]) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_expr(out, item);
    }
}
