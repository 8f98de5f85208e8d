//! Typing calls of functions and built-ins.

use super::expr::{error_expr, texpr};
use super::*;

impl BodyChecker<'_, '_> {
    pub(super) fn call(&mut self, name: &ast::Ident, args: &[ast::Expr], span: Span) -> TExpr {
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
                    return error_expr(span);
                }
                let Some(def) = self.program.fns.get(index as usize) else {
                    return error_expr(span);
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
                        listed(
                            def.params
                                .iter()
                                .map(|(n, t)| format!("{n}: {}", t.display(&self.program))),
                            false
                        )
                    ));
                    return error_expr(span);
                }
                let mut checked = Vec::new();
                for (arg, ty) in args.iter().zip(&params) {
                    let arg = self.expr(arg, Some(ty));
                    self.expect_type(&arg, ty);
                    checked.push(arg);
                }
                if let Some(caller) = self.current_fn {
                    let file = self.file;
                    self.calls.push((caller, id, file, span));
                }
                texpr(TExprKind::Call(id, checked), ret, span)
            }
            Lookup::Found(Decl {
                kind: DeclKind::State,
                index,
                ..
            }) => self.state_read(name, index, args, span),
            Lookup::Found(decl) => {
                self.error(
                    "qlp::not_a_function",
                    name.span,
                    format!("`{}` is {}, not a function", name.name, decl.kind.describe()),
                )
                .label = String::from("cannot be called");
                error_expr(span)
            }
            lookup => {
                let hint = self
                    .suggestions
                    .suggest(&name.name, || {
                        let mut candidates = self.scope.visible_names(self.file, &[DeclKind::Fn]);
                        candidates.extend(crate::builtins::BUILTINS.iter().map(|b| b.name));
                        candidates
                    })
                    .map(str::to_string);
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
                    let elsewhere = qlp_grammar::parse::function_named_elsewhere(&name.name);
                    if let Some(function) = elsewhere.map(str::to_string).or(hint.clone()) {
                        diagnostic.set_fix(name.span, function);
                    }
                    diagnostic.help = Some(match (elsewhere, hint) {
                        (Some(function), _) => {
                            let written: Vec<String> = args.iter().map(qlp_grammar::print::print_expr).collect();
                            format!("qlp calls it `{function}`: `{function}({})`", written.join(", "))
                        }
                        (None, Some(hint)) => format!("did you mean `{hint}`?"),
                        (None, None) => format!(
                            "built-in functions are {}",
                            crate::builtins::names().collect::<Vec<_>>().join(", ")
                        ),
                    });
                }
                error_expr(span)
            }
        }
    }

    /// Checks a call to a built-in function, or returns `None` if `name` is not one.
    pub(super) fn builtin_call(&mut self, name: &ast::Ident, args: &[ast::Expr], span: Span) -> Option<TExpr> {
        let info = crate::builtins::find(&name.name)?;
        let arity = info.arity;
        if args.len() < arity || args.len() > arity + info.optional {
            let takes = match info.optional {
                0 => format!("{arity} argument{}", if arity == 1 { "" } else { "s" }),
                more => format!("{arity} to {} arguments", arity + more),
            };
            self.error(
                "qlp::wrong_arity",
                span,
                format!("`{}` takes {takes}, but {} were given", name.name, args.len()),
            )
            .help = Some(info.signature.to_string());
            return Some(error_expr(span));
        }
        let string = Type::String;
        let (builtin, checked, ty) = match name.name.as_str() {
            "lower" | "upper" | "trim" | "unescape" => {
                let arg = self.builtin_arg(args, 0, &string)?;
                let builtin = match name.name.as_str() {
                    "lower" => Builtin::Lower,
                    "upper" => Builtin::Upper,
                    "trim" => Builtin::Trim,
                    "unescape" => Builtin::Unescape,
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
                    Type::Error => return Some(error_expr(span)),
                    other => {
                        let name = self.ty_name(other);
                        self.error(
                            "qlp::type_mismatch",
                            arg.span,
                            format!("`len` needs a string or a list, found `{name}`"),
                        )
                        .help = Some(info.signature.to_string());
                        return Some(error_expr(span));
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
                    Type::Error => return Some(error_expr(span)),
                    other => {
                        let name = self.ty_name(other);
                        self.error(
                            "qlp::type_mismatch",
                            arg.span,
                            format!("`abs` needs an `int` or a `float`, found `{name}`"),
                        );
                        return Some(error_expr(span));
                    }
                };
                (builtin, vec![arg], ty)
            }
            "min" | "max" => {
                let (a, b) = self.operand_pair(args.first()?, args.get(1)?);
                if a.ty.is_error() || b.ty.is_error() {
                    return Some(error_expr(span));
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
                    return Some(error_expr(span));
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
            "hour_of" | "weekday_of" | "day_of" => {
                let time = self.builtin_arg(args, 0, &Type::Time)?;
                let zone = match args.get(1) {
                    Some(zone) => Some(self.zone_arg(zone)?),
                    None => None,
                };
                let (part, ty) = match name.name.as_str() {
                    "hour_of" => (ClockPart::Hour, Type::Int),
                    "weekday_of" => (ClockPart::Weekday, Type::Int),
                    _ => (ClockPart::Day, Type::Time),
                };
                (Builtin::Clock(part, zone), vec![time], ty)
            }
            "fingerprint" => (
                Builtin::Fingerprint,
                vec![self.builtin_arg(args, 0, &string)?],
                Type::Int,
            ),
            // INVARIANT: every name in `builtins::BUILTINS` has an arm above.
            _ => return None,
        };
        Some(texpr(TExprKind::Builtin(builtin, checked), ty, span))
    }

    /// A zone named in a call: a string literal of an IANA zone, added to
    /// the program's table once.
    fn zone_arg(&mut self, arg: &ast::Expr) -> Option<u32> {
        let ast::ExprKind::Str(name) = &arg.kind else {
            self.error(
                "qlp::zone_not_literal",
                arg.span,
                "a time zone is named by a string literal",
            )
            .help = Some(String::from(
                "write the zone's IANA name: `hour_of(c.created_at, \"Asia/Shanghai\")`",
            ));
            return None;
        };
        match qlp_grammar::time::Zone::named(name) {
            Ok(zone) => {
                let zones = &mut self.program.zones;
                let index = zones.iter().position(|z| *z == zone).unwrap_or_else(|| {
                    zones.push(zone);
                    zones.len() - 1
                });
                Some(index as u32)
            }
            Err(message) => {
                self.error("qlp::unknown_time_zone", arg.span, message).help =
                    Some(String::from("name an IANA zone, like `Asia/Shanghai`"));
                None
            }
        }
    }

    pub(super) fn builtin_arg(&mut self, args: &[ast::Expr], index: usize, ty: &Type) -> Option<TExpr> {
        let arg = self.expr(args.get(index)?, Some(ty));
        self.expect_type(&arg, ty);
        Some(arg)
    }
}
