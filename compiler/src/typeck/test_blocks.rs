//! `test` blocks: the clock, the given record and the expectations.

use super::*;

impl<'a> Checker<'a> {
    pub(super) fn check_tests(&mut self) {
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
        self.check_test_work();
    }

    /// Bounds what running the tests costs (see [`MAX_TEST_WORK`]): a run
    /// evaluates every given record, as often as it is repeated, against
    /// every rule, exemption and state declaration of its type, on both
    /// engines; the nodes that read strings read the record's. Each is
    /// bounded on its own; their product is bounded here.
    fn check_test_work(&mut self) {
        // Most checks (an editor's, on every change) have no tests to cost.
        if self.program.tests.is_empty() {
            return;
        }
        // Worked out by `check_expanded_size`, which runs first.
        let fn_sizes = &self.fn_sizes;
        let fn_text = expanded_fn_counts(&self.program, text_weight);
        // By record type: (nodes, text weight) of everything evaluated.
        let mut per_record = vec![(TEST_RECORD_WORK, 0u64); self.program.records.len()];
        let mut add = |record: RecordId, expr: &TExpr| {
            if let Some((nodes, text)) = per_record.get_mut(record.index()) {
                *nodes = nodes.saturating_add(expanded_size(expr, fn_sizes));
                *text = text.saturating_add(expanded_count(expr, &fn_text, text_weight));
            }
        };
        for rule in &self.program.rules {
            add(rule.record, &rule.when);
        }
        for exempt in &self.program.exemptions {
            add(exempt.record, &exempt.when);
        }
        for state in &self.program.states {
            let items = [
                Some(&state.key),
                Some(&state.time),
                state.when.as_ref(),
                state.of.as_ref(),
                state.id.as_ref(),
            ];
            for item in items.into_iter().flatten() {
                add(state.record, item);
            }
        }
        let mut total: u64 = 0;
        for test in &self.program.tests {
            let (nodes, text) = per_record
                .get(test.record.index())
                .copied()
                .unwrap_or((TEST_RECORD_WORK, 0));
            let mut costliest = 0;
            for step in &test.steps {
                let reading = text.saturating_mul(string_bytes(&step.given)) / TEST_TEXT_BYTES;
                let cost = nodes.saturating_add(reading);
                costliest = costliest.max(cost);
                total = total.saturating_add(u64::from(step.count).saturating_mul(cost));
            }
            if total > MAX_TEST_WORK {
                self.file = test.location.file;
                self.error(
                    "qlp::too_complex",
                    test.location.span,
                    format!(
                        "running the tests up to test `{}` takes more than the limit of {MAX_TEST_WORK} units of work \
                         (each given record, as often as it is repeated, costs {TEST_RECORD_WORK} plus the expression nodes \
                         of its type's rules, exemptions and state declarations, plus, for each node that reads a string, \
                         a unit per {TEST_TEXT_BYTES} bytes of the record's strings, or per byte for a pattern; \
                         this test's `{}` records cost {costliest} each)",
                        test.name,
                        self.program.record(test.record).map_or("?", |r| r.name.as_str()),
                    ),
                )
                .help = Some(String::from(
                    "repeat fewer records (`given 100 Content {...}` is enough to pass most thresholds) and give \
                     shorter texts, or move long tests to `qlp backtest`",
                ));
                return;
            }
        }
    }

    pub(super) fn check_test(&mut self, decl: &ast::TestDecl) -> Option<TestDef> {
        let mut now = 0;
        let mut ok = true;
        let mut any_expect = false;
        // `now` first, since `given` values may use it.
        for item in &decl.items {
            if let ast::TestItem::Now(expr) = item {
                let (checked, typed) =
                    self.in_body(self.file, BodyKind::CONSTANT, |body| body.expr_of(expr, &Type::Time));
                if !typed {
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
        // Each `given` starts a step; expectations belong to the step before
        // them (with a single `given`, wherever they are written).
        let single_given = decl
            .items
            .iter()
            .filter(|i| matches!(i, ast::TestItem::Given { .. }))
            .count()
            == 1;
        let mut record: Option<RecordId> = None;
        let mut steps: Vec<TestStep> = Vec::new();
        let mut early: Vec<(Expectation, Span)> = Vec::new();
        for item in &decl.items {
            match item {
                ast::TestItem::Now(_) => {}
                ast::TestItem::Given { count, ty, value } => {
                    let resolved = self.resolve_type(&ast::TypeExpr {
                        kind: ast::TypeExprKind::Named(ty.clone()),
                        span: ty.span,
                    });
                    match resolved {
                        Type::Record(id) if record.is_none_or(|r| r == id) => {
                            let (value, value_ok) = self.given_record(id, value, now);
                            ok &= value_ok;
                            record = Some(id);
                            steps.push(TestStep {
                                given: value,
                                count: count.unwrap_or(1),
                                expectations: Vec::new(),
                            });
                        }
                        Type::Record(_) => {
                            self.error(
                                "qlp::test_record",
                                ty.span,
                                "every `given` of a test has the same record type",
                            )
                            .help = Some(String::from("write one test per record type"));
                            ok = false;
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
                        Some(checked) => match steps.last_mut() {
                            Some(step) => step.expectations.push(checked),
                            None => early.push(checked),
                        },
                        None => ok = false,
                    }
                }
            }
        }
        if let Some((_, span)) = early.first() {
            if single_given {
                if let Some(step) = steps.first_mut() {
                    step.expectations.splice(0..0, early);
                }
            } else if !steps.is_empty() {
                self.error(
                    "qlp::missing_item",
                    *span,
                    "this `expect` comes before any `given`: in a test of several records, each `expect` is about the record given before it",
                )
                .help = Some(String::from("move it after the `given` it is about"));
                ok = false;
            }
        }
        let Some(record) = record else {
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
        for (expectation, span) in steps.iter().flat_map(|s| &s.expectations) {
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
            steps,
            location: self.location(decl.span),
        })
    }

    pub(super) fn expectation(&mut self, expectation: &ast::Expectation) -> Option<(Expectation, Span)> {
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
    pub(super) fn given_record(&mut self, record: RecordId, value: &ast::RecordValue, now: i64) -> (Value, bool) {
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
                    let hint = self
                        .suggestions
                        .suggest(&name.name, || def.fields.iter().map(|f| f.name.as_str()))
                        .map(str::to_string);
                    let diagnostic = self
                        .error(
                            "qlp::unknown_field",
                            name.span,
                            format!("record `{}` has no field `{}`", def.name, name.name),
                        )
                        .set_label("unknown field");
                    if let Some(hint) = &hint {
                        diagnostic.set_fix(name.span, hint.clone());
                    }
                    diagnostic.help = Some(match hint {
                        Some(hint) => format!("did you mean `{hint}`?"),
                        None => format!("its fields are {}", listed(def.fields.iter().map(|f| &f.name), true)),
                    });
                    ok = false;
                }
            }
        }
        let values: Vec<Value> = fields
            .into_iter()
            .zip(&def.fields)
            .map(|(given, field)| given.unwrap_or_else(|| self.field_default(field)))
            .collect();
        (Value::Record(values.into()), ok)
    }

    pub(super) fn given_value(&mut self, ty: &Type, value: &ast::Value, now: i64) -> (Value, bool) {
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
                let (checked, typed) = self.in_body(self.file, BodyKind::CONSTANT, |body| body.expr_of(expr, &inner));
                if !typed {
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

    /// The value an unspecified field takes in a test: its declared
    /// default, or its type's.
    fn field_default(&self, field: &crate::program::FieldDef) -> Value {
        field.default.clone().unwrap_or_else(|| self.default_value(&field.ty))
    }

    /// The value an unspecified field of type `ty` takes in a test.
    pub(super) fn default_value(&self, ty: &Type) -> Value {
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
                    .map(|r| r.fields.iter().map(|f| self.field_default(f)).collect())
                    .unwrap_or_default();
                Value::Record(fields.into())
            }
        }
    }
}

/// What a node costs a test run per [`TEST_TEXT_BYTES`] bytes of the
/// record's strings: a pattern match a unit per byte, any other node that
/// may read a whole string (a keyword search, a builtin, a join, a
/// comparison or membership test of strings) one.
fn text_weight(expr: &TExpr) -> u64 {
    match &expr.kind {
        TExprKind::Matches(..) => TEST_TEXT_BYTES,
        TExprKind::HasAny(..) | TExprKind::Builtin(..) => 1,
        TExprKind::Compare(_, Scalar::String, ..) | TExprKind::In(Scalar::String, ..) => 1,
        TExprKind::Arith(_, operand, _) | TExprKind::InSet(operand, _) => u64::from(operand.ty == Type::String),
        _ => 0,
    }
}

/// The bytes of every string in `value`.
fn string_bytes(value: &Value) -> u64 {
    let mut bytes: u64 = 0;
    let mut pending = vec![value];
    while let Some(value) = pending.pop() {
        match value {
            Value::Str(text) => bytes = bytes.saturating_add(text.len() as u64),
            Value::List(items) | Value::Record(items) => pending.extend(items.iter()),
            _ => {}
        }
    }
    bytes
}
