//! Constants: checked in dependency order and evaluated with the interpreter.

use super::*;

impl<'a> Checker<'a> {
    pub(super) fn declare_consts(&mut self) {
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
    pub(super) fn check_const(&mut self, index: usize) {
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
        let (ty, value) = self.in_body(file, BodyKind::CONSTANT, |body| {
            let declared = decl.ty.as_ref().map(|ty| body.resolve_type(ty));
            if body.const_depth > MAX_CHAIN {
                body.error(
                    "qlp::chain_too_long",
                    decl.name.span,
                    format!(
                        "constant `{}` is defined through more than {MAX_CHAIN} other constants",
                        decl.name.name
                    ),
                )
                .help = Some(String::from("define it directly"));
                return (Type::Error, None);
            }
            let errors_before = body.error_count();
            let expr = body.expr(&decl.value, declared.as_ref());
            if let Some(declared) = &declared {
                body.expect_type(&expr, declared);
            }
            let value = if expr.ty.is_error() || body.error_count() > errors_before {
                None
            } else {
                match Interpreter::new(&body.program).eval_expr(&expr, &mut Vec::new(), 0) {
                    Ok(value) => Some(value),
                    Err(error) => {
                        body.error(
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
        });
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

    pub(super) fn error_count(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }
}
