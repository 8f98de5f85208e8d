//! Typing list literals and operators: comparison, arithmetic, `in`, `has_any`.

use super::expr::{error_expr, texpr};
use super::*;
use qlp_grammar::print::print_expr;

impl BodyChecker<'_, '_> {
    pub(super) fn list(&mut self, items: &[ast::Expr], expected: Option<&Type>, span: Span) -> TExpr {
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
            return error_expr(span);
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
            return error_expr(span);
        }
        texpr(TExprKind::List(checked), Type::List(Box::new(element)), span)
    }

    /// Checks two operands that should have the same type.
    pub(super) fn operand_pair(&mut self, lhs: &ast::Expr, rhs: &ast::Expr) -> (TExpr, TExpr) {
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

    pub(super) fn binary(&mut self, op: BinaryOp, lhs: &ast::Expr, rhs: &ast::Expr, span: Span) -> TExpr {
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
                texpr(kind, Type::Bool, span)
            }
            BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge => {
                let (lhs_ast, rhs_ast) = (lhs, rhs);
                let (lhs, rhs) = self.operand_pair(lhs, rhs);
                let cmp = match op {
                    BinaryOp::Eq => CmpOp::Eq,
                    BinaryOp::Ne => CmpOp::Ne,
                    BinaryOp::Lt => CmpOp::Lt,
                    BinaryOp::Le => CmpOp::Le,
                    BinaryOp::Gt => CmpOp::Gt,
                    _ => CmpOp::Ge,
                };
                let Some(scalar) = self.comparable(op, (&lhs, &rhs), (lhs_ast, rhs_ast)) else {
                    return error_expr(span);
                };
                texpr(
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
                    return error_expr(span);
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
                        return error_expr(span);
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
                    return error_expr(span);
                }
                let Some(scalar) = self.equatable_scalar(&lhs, span) else {
                    return error_expr(span);
                };
                // A long list of constants is hashed once, at compile time.
                if let TExprKind::List(items) = &rhs.kind {
                    if items.len() >= MIN_HASHED_LIST && scalar != Scalar::Float {
                        if let Some(set) = ConstSet::of(items) {
                            let id = ConstSetId(self.program.const_sets.len() as u32);
                            self.program.const_sets.push(set);
                            return texpr(TExprKind::InSet(Box::new(lhs), id), Type::Bool, span);
                        }
                    }
                }
                texpr(TExprKind::In(scalar, Box::new(lhs), Box::new(rhs)), Type::Bool, span)
            }
            BinaryOp::HasAny => {
                let text = self.expr(lhs, Some(&Type::String));
                self.expect_type(&text, &Type::String);
                let Some(set) = self.keyword_set_ref(rhs) else {
                    return error_expr(span);
                };
                texpr(TExprKind::HasAny(Box::new(text), set), Type::Bool, span)
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
                        return error_expr(span);
                    }
                };
                match self.pattern(pattern) {
                    Ok(id) => texpr(TExprKind::Matches(Box::new(text), id), Type::Bool, span),
                    Err(error) => {
                        let (detail, help) = match error {
                            PatternError::Syntax(detail) => (
                                detail,
                                "patterns use Rust regex syntax (no look-around or back-references, so matching is linear-time)",
                            ),
                            PatternError::TooLarge { limit } if limit < MAX_PATTERN_BYTES => (
                                format!(
                                    "the patterns together are too large ({} MiB compiled)",
                                    MAX_PATTERNS_BYTES >> 20
                                ),
                                "use fewer or smaller patterns: a Unicode class (`\\w`, `\\d`, `.`) repeated compiles to many states; an ASCII one (`[0-9]`, `(?-u:\\w)`) to few",
                            ),
                            PatternError::TooLarge { .. } => (
                                String::from("the pattern is too large"),
                                "a Unicode class (`\\w`, `\\d`, `.`) repeated compiles to many states; an ASCII one (`[0-9]`, `(?-u:\\w)`) to few",
                            ),
                        };
                        self.error("qlp::invalid_regex", rhs.span, "invalid regular expression")
                            .set_label(detail)
                            .help = Some(String::from(help));
                        error_expr(span)
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
                        self.warning(
                            "qlp::not_optional",
                            lhs.span,
                            format!("this `{name}` is never missing, so `??` never uses its default"),
                        )
                        .set_help("remove `?? ...`");
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
                texpr(TExprKind::Coalesce(Box::new(lhs), Box::new(rhs)), ty, span)
            }
            BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Rem => {
                let (lhs, rhs) = self.operand_pair(lhs, rhs);
                self.arith(op, lhs, rhs, span)
            }
        }
    }

    pub(super) fn keyword_set_ref(&mut self, expr: &ast::Expr) -> Option<KeywordSetId> {
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

    pub(super) fn equatable_scalar(&mut self, expr: &TExpr, span: Span) -> Option<Scalar> {
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

    pub(super) fn comparable(
        &mut self,
        op: BinaryOp,
        (lhs, rhs): (&TExpr, &TExpr),
        written: (&ast::Expr, &ast::Expr),
    ) -> Option<Scalar> {
        if lhs.ty.is_error() || rhs.ty.is_error() {
            return None;
        }
        if !lhs.ty.agrees(&rhs.ty) {
            let a = self.ty_name(&lhs.ty);
            let b = self.ty_name(&rhs.ty);
            let optional = matches!(lhs.ty, Type::Optional(_)) || matches!(rhs.ty, Type::Optional(_));
            let literal = self
                .literal_of_other_type(op, (lhs, rhs), written)
                .or_else(|| self.literal_of_other_type(op.flipped(), (rhs, lhs), (written.1, written.0)));
            let fix = literal.as_ref().and_then(|(_, fix)| fix.clone());
            let help = if let Some((help, _)) = literal {
                help
            } else if optional {
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
            if let (Some((span, text)), Some(diagnostic)) = (fix, self.diagnostics.last_mut()) {
                diagnostic.set_fix(span, text);
            }
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

    pub(super) fn arith(&mut self, op: BinaryOp, lhs: TExpr, rhs: TExpr, span: Span) -> TExpr {
        use ArithOp::*;
        if lhs.ty.is_error() || rhs.ty.is_error() {
            return error_expr(span);
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
            Some((arith, ty)) => texpr(TExprKind::Arith(arith, Box::new(lhs), Box::new(rhs)), ty, span),
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
                error_expr(span)
            }
        }
    }
}

impl BodyChecker<'_, '_> {
    /// The fix for a literal written in the wrong form for what it is
    /// compared with: `c.kind == "article"`, `c.created_at > "2022-01-01"`,
    /// `now - c.created_at > 7`. Its example is the author's own expression.
    fn literal_of_other_type(
        &self,
        op: BinaryOp,
        (value, literal): (&TExpr, &TExpr),
        (written, _): (&ast::Expr, &ast::Expr),
    ) -> Option<(String, Option<(Span, String)>)> {
        let TExprKind::Const(constant) = &literal.kind else {
            return None;
        };
        let side = print_expr(written);
        let op = op.as_str();
        match (value.ty.strip_optional(), constant) {
            (Type::Enum(id), Value::Str(text)) => {
                let def = self.program.enum_def(*id)?;
                Some(if def.variants.iter().any(|v| v == &**text) {
                    (
                        format!("enum values are names, not strings: write `{side} {op} {text}` without quotes"),
                        Some((literal.span, text.to_string())),
                    )
                } else {
                    (
                        format!(
                            "`{}` has the values {}: write one without quotes, e.g. `{side} {op} {}`",
                            def.name,
                            listed(&def.variants, true),
                            def.variants.first()?
                        ),
                        None,
                    )
                })
            }
            (Type::Time, Value::Str(text)) if qlp_grammar::time::parse_written(text).is_ok() => Some((
                format!("times are written without quotes: `{side} {op} {text}`"),
                Some((literal.span, text.to_string())),
            )),
            (Type::Duration, Value::Int(n)) => Some((
                format!("a duration needs a unit: `{side} {op} {n}d` for {n} days (or `{n}h`, `{n}m`, `{n}s`)"),
                Some((literal.span, format!("{n}d"))),
            )),
            (Type::Duration, Value::Float(n)) => Some((
                format!("a duration is whole numbers with units: `{side} {op} 1h30m`, not `{n}`"),
                None,
            )),
            _ => None,
        }
    }
}

impl Checker<'_> {
    /// The compiled pattern `source`, compiled once however often it is
    /// written, within [`MAX_PATTERN_BYTES`] and what is left of
    /// [`MAX_PATTERNS_BYTES`] (a compilation that fails for size spends
    /// what it was allowed: the work was done).
    pub(super) fn pattern(&mut self, source: &str) -> Result<RegexId, PatternError> {
        if let Some(known) = self.patterns.get(source) {
            return known.clone();
        }
        let limit = MAX_PATTERN_BYTES.min(self.patterns_left);
        let compiled = match limit {
            0 => Err(PatternError::TooLarge { limit }),
            _ => Pattern::new(source, limit, cache_share(1)),
        };
        let spent = match &compiled {
            Ok(pattern) => pattern.memory_usage(),
            Err(PatternError::TooLarge { limit }) => *limit,
            Err(PatternError::Syntax(_)) => 0,
        };
        self.patterns_left = self.patterns_left.saturating_sub(spent);
        let id = compiled.map(|pattern| {
            self.program.regexes.push(pattern);
            RegexId(self.program.regexes.len() as u32 - 1)
        });
        self.patterns.insert(source.to_string(), id.clone());
        id
    }

    /// Shrinks every pattern's match-time caches to its share of
    /// [`crate::pattern::MAX_PATTERN_CACHES_BYTES`], now that all are compiled (a program
    /// with few patterns keeps them whole).
    pub(super) fn share_pattern_caches(&mut self) {
        let share = cache_share(self.program.regexes.len());
        let patterns = std::mem::take(&mut self.program.regexes);
        self.program.regexes = patterns.into_iter().map(|p| p.with_cache(share)).collect();
    }
}
