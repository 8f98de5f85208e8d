//! State declarations (`counter`, `distinct`, `first_seen`, `tag`): their
//! items, and the reads and `tag(..)` actions that name them.

use super::body::BodyKind;
use super::*;

/// The most buckets one window may have: a week by the minute.
pub const MAX_BUCKETS: i64 = 10_080;

/// Which items each kind of state takes, required first.
fn items_of(kind: StateKind) -> (&'static [&'static str], &'static [&'static str]) {
    match kind {
        StateKind::Counter => (&["key", "time", "window", "bucket"], &["when"]),
        StateKind::Distinct => (&["key", "of", "time", "window", "bucket"], &["when"]),
        StateKind::FirstSeen => (&["key", "id", "time"], &[]),
        StateKind::Tag => (&["key", "time", "ttl"], &[]),
    }
}

/// What a state declaration's item should hold, for help lines.
fn example(field: &str) -> &'static str {
    match field {
        "key" => "`key: c.author.id` (what it is kept per)",
        "of" => "`of: c.author.id` (what is counted distinct)",
        "id" => "`id: c.id` (the record's id)",
        "time" => "`time: c.created_at` (the record's event time)",
        "window" => "`window: 1h`",
        "bucket" => "`bucket: 1m` (the window is counted in buckets this wide)",
        "ttl" => "`ttl: 30d` (how long the tag lasts)",
        _ => "`when: c.kind == post` (which records count)",
    }
}

/// The most state declarations one record type may have: every record
/// touches each of its type's (a key built, a store read and written), so
/// 20,000 counters made `qlp test` of 2,000 given records take 43 s.
pub const MAX_STATES_PER_RECORD: usize = 256;

impl<'a> Checker<'a> {
    /// Checks every state declaration, in program order (rules read them).
    pub(super) fn check_states(&mut self) {
        let declarations = self.scope.declarations(DeclKind::State);
        let mut per_record: HashMap<RecordId, usize> = HashMap::new();
        for &(file, index) in declarations {
            let Some(Item::State(decl)) = self.item(file, index) else {
                continue;
            };
            self.file = file;
            let state = self.check_state(file, decl);
            let count = per_record.entry(state.record).or_default();
            *count += 1;
            if *count == MAX_STATES_PER_RECORD + 1 {
                let record = self
                    .program
                    .record(state.record)
                    .map_or("", |r| r.name.as_str())
                    .to_string();
                self.error(
                    "qlp::too_complex",
                    decl.name.span,
                    format!("`{record}` has more than {MAX_STATES_PER_RECORD} state declarations"),
                )
                .set_label("one too many")
                .help = Some(String::from(
                    "every record touches each state declaration of its type: key several counts by one declaration's key instead",
                ));
            }
            self.program.states.push(state);
        }
    }

    fn check_state(&mut self, file: FileId, decl: &ast::StateDecl) -> StateDef {
        let record = self.rule_param(&decl.param);
        let (required, optional) = items_of(decl.kind);
        let mut items: Vec<(&str, &ast::StateItem)> = Vec::new();
        for item in &decl.items {
            let field = item.field.name.as_str();
            if items.iter().any(|(f, _)| *f == field) {
                self.error(
                    "qlp::duplicate_item",
                    item.field.span,
                    format!("`{}` sets `{field}:` twice", decl.name.name),
                )
                .label = String::from("set again here");
            } else if required.contains(&field) || optional.contains(&field) {
                items.push((field, item));
            } else {
                let takes: Vec<String> = required.iter().chain(optional).map(|f| format!("`{f}:`")).collect();
                self.error(
                    "qlp::misplaced_item",
                    item.field.span,
                    format!("a `{}` has no `{field}:`", decl.kind.as_str()),
                )
                .help = Some(format!("it takes {}", takes.join(", ")));
            }
        }
        for field in required {
            if !items.iter().any(|(f, _)| f == field) {
                self.error(
                    "qlp::missing_item",
                    decl.name.span,
                    format!("`{}` has no `{field}:`", decl.name.name),
                )
                .help = Some(format!("add {}", example(field)));
            }
        }
        let find = |field: &str| items.iter().find(|(f, _)| *f == field).map(|(_, item)| *item);
        let durations: Vec<i64> = ["window", "bucket", "ttl"]
            .into_iter()
            .map(|field| find(field).map_or(0, |item| self.state_duration(item)))
            .collect();
        let (window, bucket, ttl) = match durations.as_slice() {
            [window, bucket, ttl] => (*window, *bucket, *ttl),
            _ => (0, 0, 0),
        };
        if window > 0 && bucket > 0 {
            if window % bucket != 0 {
                let span = find("bucket").map_or(decl.name.span, |i| i.value.span);
                self.error(
                    "qlp::state_window",
                    span,
                    "the bucket does not divide the window: a window is a whole number of buckets",
                )
                .help = Some(String::from(
                    "pick a bucket that divides it: `window: 1h` with `bucket: 1m`",
                ));
            } else if window / bucket > MAX_BUCKETS {
                let span = find("bucket").map_or(decl.name.span, |i| i.value.span);
                self.error(
                    "qlp::state_window",
                    span,
                    format!("the window is {} buckets, more than {MAX_BUCKETS}", window / bucket),
                )
                .help = Some(String::from(
                    "use wider buckets: each read adds up every bucket of the window",
                ));
            }
        }
        let record_ty = record.map_or(Type::Error, Type::Record);
        let kind = decl.kind;
        let (exprs, n_locals) = self.in_body(file, BodyKind::STATE, |body| {
            body.bind_local(decl.param.name.name.clone(), record_ty);
            let mut exprs: Vec<Option<TExpr>> = Vec::new();
            for field in ["key", "time", "when", "of", "id"] {
                exprs.push(find(field).map(|item| body.state_expr(kind, field, &item.value)));
            }
            (exprs, body.n_locals)
        });
        let mut exprs = exprs.into_iter();
        let mut next = || exprs.next().flatten();
        let never = || TExpr {
            kind: TExprKind::Const(Value::Absent),
            ty: Type::Error,
            span: decl.name.span,
        };
        let key = next().unwrap_or_else(never);
        let time = next().unwrap_or_else(never);
        let when = next();
        let of = next();
        let id = next();
        StateDef {
            name: decl.name.name.clone(),
            kind,
            record: record.unwrap_or(RecordId(u32::MAX)),
            key,
            time,
            when,
            of,
            id,
            window,
            bucket,
            buckets: if bucket > 0 { (window / bucket).max(1) } else { 1 },
            ttl,
            n_locals,
            location: Location { file, span: decl.span },
        }
    }

    /// A `window:`, `bucket:` or `ttl:`: a positive constant duration, in
    /// microseconds; 0 (reported) when it is not one.
    fn state_duration(&mut self, item: &ast::StateItem) -> i64 {
        let (checked, typed) = self.in_body(self.file, BodyKind::CONSTANT, |body| {
            body.expr_of(&item.value, &Type::Duration)
        });
        if !typed {
            return 0;
        }
        match Interpreter::new(&self.program).eval_expr(&checked, &mut Vec::new(), 0) {
            Ok(Value::Duration(d)) if d > 0 => d,
            Ok(_) => {
                self.error(
                    "qlp::state_window",
                    item.value.span,
                    format!("`{}:` must be longer than zero", item.field.name),
                )
                .set_label("not a positive duration");
                0
            }
            Err(error) => {
                self.error(
                    "qlp::const_eval",
                    error.span,
                    format!("cannot compute `{}:`: {}", item.field.name, error.kind),
                );
                0
            }
        }
    }

    /// The state declaration a `tag(NAME)` action writes, which must be a
    /// tag of the rule's record type.
    pub(super) fn tag_ref(&mut self, name: &ast::Ident, record: Option<RecordId>) -> Option<StateId> {
        let id = StateId(self.decl_ref(name, DeclKind::State, "qlp::not_a_tag", "tag")?);
        let state = self.program.states.get(id.index())?;
        if state.kind != StateKind::Tag {
            let kind = state.kind.as_str();
            self.error(
                "qlp::not_a_tag",
                name.span,
                format!("`{}` is a `{kind}`, not a `tag`", name.name),
            )
            .help = Some(String::from(
                "`tag(..)` writes a tag declared with `tag NAME(c: Record) { .. }`",
            ));
            return None;
        }
        if record.is_some_and(|r| r != state.record) && state.record.0 != u32::MAX {
            let tag_ty = self.ty_name(&Type::Record(state.record));
            self.error(
                "qlp::state_record",
                name.span,
                format!("tag `{}` is kept for `{tag_ty}` records, not this rule's", name.name),
            );
            return None;
        }
        Some(id)
    }

    /// Every tag must be written by some rule: a tag nobody writes is never set.
    pub(super) fn check_tags_written(&mut self) {
        let written: std::collections::HashSet<StateId> = self
            .program
            .rules
            .iter()
            .flat_map(|r| r.actions.iter().filter_map(|a| a.tag))
            .collect();
        let unwritten: Vec<(String, Location)> = self
            .program
            .states
            .iter()
            .enumerate()
            .filter(|(i, s)| s.kind == StateKind::Tag && !written.contains(&StateId(*i as u32)))
            .map(|(_, s)| (s.name.clone(), s.location))
            .collect();
        for (name, location) in unwritten {
            self.file = location.file;
            let span = self.item_name_span(location).unwrap_or(location.span);
            self.error(
                "qlp::tag_never_written",
                span,
                format!("no rule writes tag `{name}`, so it is never set"),
            )
            .help = Some(format!(
                "add `tag({name})` to the `then:` of the rule that should set it"
            ));
        }
    }

    /// The span of the name of the declaration at `location`.
    fn item_name_span(&self, location: Location) -> Option<Span> {
        let ast = self.files.asts.get(location.file.0 as usize)?;
        ast.items
            .iter()
            .find(|item| item.span() == location.span && item.name().is_some())
            .and_then(|item| item.name().map(|n| n.span))
    }
}

impl BodyChecker<'_, '_> {
    /// One expression item of a state declaration, typed for its field.
    fn state_expr(&mut self, kind: StateKind, field: &str, expr: &ast::Expr) -> TExpr {
        match field {
            "time" => self.expr_of(expr, &Type::Time).0,
            "when" => self.expr_of(expr, &Type::Bool).0,
            _ => {
                let checked = self.expr(expr, None);
                let keyable = matches!(checked.ty, Type::Int | Type::String | Type::Enum(_) | Type::Error);
                if !keyable {
                    let found = self.ty_name(&checked.ty);
                    let help = if matches!(checked.ty, Type::Optional(_)) {
                        "a key must be there on every record: give a default with `?? \"\"`, or leave the records without one out with `when:`"
                    } else {
                        "key by an id, a name or a `fingerprint(text)`"
                    };
                    self.error(
                        "qlp::state_key",
                        checked.span,
                        format!(
                            "a `{}`'s `{field}:` is an `int`, `string` or enum, not `{found}`",
                            kind.as_str()
                        ),
                    )
                    .help = Some(String::from(help));
                }
                checked
            }
        }
    }

    /// Reads state declaration `index` (`posts_by_author(c)`): only in a
    /// rule's or exemption's condition, for the record being evaluated.
    pub(super) fn state_read(&mut self, name: &ast::Ident, index: u32, args: &[ast::Expr], span: Span) -> TExpr {
        let id = StateId(index);
        // Functions are checked before state declarations: say why the read
        // is refused before looking the declaration up.
        let Some(record) = self.state_record else {
            self.error(
                "qlp::state_read_not_allowed",
                span,
                format!("`{}` can be read only in a rule's or an exemption's `when:`", name.name),
            )
            .help = Some(String::from(
                "read it in the rule and pass the value to the function as a parameter",
            ));
            return super::expr::error_expr(span);
        };
        // INVARIANT: rules are checked after every state declaration.
        let Some((state_record, ty)) = self.program.states.get(id.index()).map(|s| (s.record, s.read_type())) else {
            return super::expr::error_expr(span);
        };
        let is_param = match args {
            [arg] => {
                let checked = self.expr(arg, None);
                matches!(checked.kind, TExprKind::Local(0)) && checked.ty == Type::Record(record)
            }
            _ => false,
        };
        if !is_param || (record != state_record && state_record.0 != u32::MAX) {
            let param = self.locals.first().map_or("c", |l| l.name.as_str()).to_string();
            let wanted = self.ty_name(&Type::Record(state_record));
            self.error(
                "qlp::state_argument",
                span,
                format!("`{}` is kept for the `{wanted}` being evaluated", name.name),
            )
            .help = Some(if record == state_record {
                format!("write `{}({param})`", name.name)
            } else {
                format!("rules on `{wanted}` records can read it")
            });
            return super::expr::error_expr(span);
        }
        super::expr::texpr(TExprKind::State(id), ty, span)
    }
}
