//! Typing expressions: literals, names, fields and narrowing of optionals.

use super::*;

pub(super) fn texpr(kind: TExprKind, ty: Type, span: Span) -> TExpr {
    TExpr { kind, ty, span }
}

/// The expression standing for one that failed to check.
pub(super) fn error_expr(span: Span) -> TExpr {
    texpr(TExprKind::Const(Value::Absent), Type::Error, span)
}

impl BodyChecker<'_, '_> {
    /// Checks an expression; `expected` guides literals and enum variants.
    pub(crate) fn expr(&mut self, expr: &ast::Expr, expected: Option<&Type>) -> TExpr {
        let span = expr.span;
        match &expr.kind {
            ExprKind::Int(value) => {
                if expected == Some(&Type::Float) {
                    // An integer literal where a float is expected is that float.
                    texpr(TExprKind::Const(Value::Float(*value as f64)), Type::Float, span)
                } else {
                    texpr(TExprKind::Const(Value::Int(*value)), Type::Int, span)
                }
            }
            ExprKind::Float(value) => texpr(TExprKind::Const(Value::Float(*value)), Type::Float, span),
            ExprKind::Str(value) => texpr(TExprKind::Const(Value::str(value)), Type::String, span),
            ExprKind::Bool(value) => texpr(TExprKind::Const(Value::Bool(*value)), Type::Bool, span),
            ExprKind::Time(value) => match value.in_zone(&self.program.zone) {
                Ok(micros) => texpr(TExprKind::Const(Value::Time(micros)), Type::Time, span),
                Err(message) => {
                    self.error("qlp::bad_time", span, message);
                    texpr(TExprKind::Const(Value::Time(0)), Type::Time, span)
                }
            },
            ExprKind::Duration(value) => texpr(TExprKind::Const(Value::Duration(*value)), Type::Duration, span),
            ExprKind::Now => {
                if !self.allow_now {
                    self.error("qlp::now_not_allowed", span, "`now` is not available here")
                        .help = Some(String::from(
                        "`now` is the evaluation clock: use it in rules and functions, not in constants or test values",
                    ));
                    return error_expr(span);
                }
                texpr(TExprKind::Now, Type::Time, span)
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
                texpr(TExprKind::Not(Box::new(checked)), Type::Bool, span)
            }
            ExprKind::Unary(UnaryOp::Neg, operand) => {
                let checked = self.expr(operand, expected);
                let scalar = match checked.ty {
                    Type::Int => Scalar::Int,
                    Type::Float => Scalar::Float,
                    Type::Duration => Scalar::Duration,
                    Type::Error => return error_expr(span),
                    ref other => {
                        let name = self.ty_name(other);
                        self.error("qlp::bad_operands", span, format!("`-` cannot be applied to `{name}`"))
                            .help = Some(String::from("negation works on `int`, `float` and `duration`"));
                        return error_expr(span);
                    }
                };
                let ty = checked.ty.clone();
                texpr(TExprKind::Neg(Box::new(checked), scalar), ty, span)
            }
            ExprKind::Binary(op, lhs, rhs) => self.binary(*op, lhs, rhs, span),
            ExprKind::IsSome { operand, negated } => {
                let checked = self.expr(operand, None);
                if !matches!(checked.ty, Type::Optional(_) | Type::Error) {
                    let name = self.ty_name(&checked.ty);
                    let (test, always) = if *negated { ("none", "false") } else { ("some", "true") };
                    self.warning(
                        "qlp::not_optional",
                        operand.span,
                        format!("this `{name}` is never missing here, so `is {test}` is always {always}"),
                    )
                    .set_help("only optional values (`T?`) can be missing; a checked value stays present for the rest of the condition");
                }
                texpr(TExprKind::IsSome(Box::new(checked), *negated), Type::Bool, span)
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
                texpr(
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
                texpr(TExprKind::Let(slot, Box::new(value), Box::new(body)), ty, span)
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
                texpr(
                    TExprKind::Quantifier(*kind, slot, Box::new(list), Box::new(predicate)),
                    ty,
                    span,
                )
            }
        }
    }

    pub(super) fn join_branches(&mut self, then: &TExpr, otherwise: &TExpr) -> Type {
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

    pub(super) fn lookup_local(&self, name: &str) -> Option<&Local> {
        self.locals.iter().rev().find(|local| local.name == name)
    }

    /// Enums that have a variant called `name`.
    pub(super) fn enums_with_variant(&self, name: &str) -> Vec<(EnumId, u32)> {
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
    pub(super) fn is_bare_variant(&self, expr: &ast::Expr) -> bool {
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

    pub(super) fn name(&mut self, name: &ast::Ident, expected: Option<&Type>) -> TExpr {
        let span = name.span;
        if let Some(local) = self.lookup_local(&name.name) {
            let expr = texpr(TExprKind::Local(local.slot), local.ty.clone(), span);
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
                    return error_expr(span);
                }
                let Some(def) = self.program.consts.get(index as usize) else {
                    return error_expr(span);
                };
                if def.ty.is_error() {
                    return error_expr(span);
                }
                let (ty, value) = (def.ty.clone(), def.value.clone());
                let value = match (&ty, value, expected) {
                    (Type::Int, Value::Int(v), Some(Type::Float)) => {
                        return texpr(TExprKind::Const(Value::Float(v as f64)), Type::Float, span)
                    }
                    (_, value, _) => value,
                };
                return texpr(TExprKind::Const(value), ty, span);
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
                return error_expr(span);
            }
            Lookup::NotImported(decl) => {
                self.unresolved(Lookup::NotImported(decl), name, &[], "name");
                return error_expr(span);
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
                return texpr(TExprKind::Const(Value::Enum(variant as u32)), Type::Enum(*id), span);
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
                            .map(|e| listed(&e.variants, false))
                            .unwrap_or_default();
                        self.error(
                            "qlp::type_mismatch",
                            span,
                            format!("`{}` is a `{found_name}`, not a `{expected_name}`", name.name),
                        )
                        .set_label(format!("expected a `{expected_name}`"))
                        .help = Some(format!("`{expected_name}` is one of: {variants}"));
                        return error_expr(span);
                    }
                }
                texpr(TExprKind::Const(Value::Enum(*variant)), Type::Enum(*enum_id), span)
            }
            [] => {
                if let Some(Type::Enum(id)) = expected.map(Type::strip_optional) {
                    let enum_name = self.ty_name(&Type::Enum(*id));
                    let variants = self
                        .program
                        .enum_def(*id)
                        .map(|e| e.variants.as_slice())
                        .unwrap_or_default();
                    let hint = self
                        .suggestions
                        .suggest(&name.name, || variants.iter().map(String::as_str))
                        .map(str::to_string);
                    let variants = listed(variants, false);
                    let diagnostic = self
                        .error(
                            "qlp::unknown_variant",
                            span,
                            format!("`{enum_name}` has no variant `{}`", name.name),
                        )
                        .set_label("unknown variant");
                    if let Some(hint) = &hint {
                        diagnostic.set_fix(span, hint.clone());
                    }
                    diagnostic.help = Some(match hint {
                        Some(hint) => format!("did you mean `{hint}`?"),
                        None => format!("`{enum_name}` is one of: {variants}"),
                    });
                    return error_expr(span);
                }
                self.unresolved(
                    Lookup::Unknown,
                    name,
                    &[DeclKind::Const, DeclKind::Keywords, DeclKind::Fn],
                    "name",
                );
                error_expr(span)
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
                error_expr(span)
            }
        }
    }

    /// Wraps an optional path in `Unwrap` where the checker knows it is present.
    pub(super) fn narrow(&self, expr: TExpr) -> TExpr {
        if let Type::Optional(inner) = &expr.ty {
            if let Some(key) = path_key(&expr) {
                if self.narrowed.contains(&key) {
                    let inner = (**inner).clone();
                    let span = expr.span;
                    return texpr(TExprKind::Unwrap(Box::new(expr)), inner, span);
                }
            }
        }
        expr
    }

    pub(super) fn field(&mut self, base: &ast::Expr, field: &ast::Ident, span: Span) -> TExpr {
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
                        Some(variant) => texpr(TExprKind::Const(Value::Enum(variant as u32)), Type::Enum(id), span),
                        None => {
                            self.error(
                                "qlp::unknown_variant",
                                field.span,
                                format!("`{}` has no variant `{}`", type_name.name, field.name),
                            )
                            .help = Some(format!("`{}` is one of: {}", type_name.name, listed(&variants, false)));
                            error_expr(span)
                        }
                    };
                }
            }
        }
        let base = self.expr(base, None);
        let record_id = match &base.ty {
            Type::Record(id) => *id,
            Type::Error => return error_expr(span),
            Type::Optional(inner) if matches!(**inner, Type::Record(_)) => {
                let path = print_path(base.span, self);
                self.error("qlp::optional_used", base.span, format!("`{path}` may be missing"))
                    .set_label("optional record")
                    .help = Some(format!(
                    "check `{path} is some and ...` before reading `.{}`",
                    field.name
                ));
                return error_expr(span);
            }
            other => {
                let name = self.ty_name(other);
                let call = qlp_grammar::parse::function_named_elsewhere(&field.name)
                    .map(|function| format!("{function}({})", print_path(base.span, self)));
                let diagnostic = self
                    .error("qlp::no_fields", field.span, format!("`{name}` has no fields"))
                    .set_label(format!("`.{}` on a `{name}`", field.name));
                match call {
                    Some(call) => {
                        diagnostic.set_help(format!("`{}` is not a field: qlp calls it `{call}`", field.name));
                        diagnostic.set_fix(span, call);
                    }
                    None => {
                        diagnostic.set_help("only records have fields");
                    }
                }
                return error_expr(span);
            }
        };
        let Some(record) = self.program.record(record_id) else {
            return error_expr(span);
        };
        match record.field_index(&field.name) {
            Some(index) => {
                let ty = record.fields.get(index).map_or(Type::Error, |f| f.ty.clone());
                let expr = texpr(TExprKind::Field(Box::new(base), index as u32), ty, span);
                self.narrow(expr)
            }
            None => {
                let record_name = record.name.clone();
                let names = || record.fields.iter().map(|f| f.name.as_str());
                let hint = self.suggestions.suggest(&field.name, names).map(str::to_string);
                let fields = listed(names(), true);
                let diagnostic = self
                    .error(
                        "qlp::unknown_field",
                        field.span,
                        format!("`{record_name}` has no field `{}`", field.name),
                    )
                    .set_label("unknown field");
                if let Some(hint) = &hint {
                    diagnostic.set_fix(field.span, hint.clone());
                }
                diagnostic.help = Some(match hint {
                    Some(hint) => format!("did you mean `{hint}`?"),
                    None => format!("its fields are {fields}"),
                });
                error_expr(span)
            }
        }
    }
}
