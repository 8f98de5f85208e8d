//! Rules and exemptions: their items, conditions and actions.

use super::*;

impl<'a> Checker<'a> {
    pub(super) fn rule_param(&mut self, param: &ast::Param) -> Option<RecordId> {
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

    pub(super) fn campaign_ref(&mut self, name: &ast::Ident) -> Option<CampaignId> {
        self.decl_ref(name, DeclKind::Campaign, "qlp::not_a_campaign", "campaign")
            .map(CampaignId)
    }

    pub(super) fn rule_ref(&mut self, name: &ast::Ident) -> Option<RuleId> {
        self.decl_ref(name, DeclKind::Rule, "qlp::not_a_rule", "rule")
            .map(RuleId)
    }

    /// Resolves a name that must declare a `kind`; reports anything else.
    pub(super) fn decl_ref(
        &mut self,
        name: &ast::Ident,
        kind: DeclKind,
        code: &'static str,
        what: &str,
    ) -> Option<u32> {
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

    /// A rule's action; a `tag(..)` resolved to the tag it writes.
    fn action(&mut self, action: &ast::Action, record: Option<RecordId>) -> Action {
        Action {
            kind: action.kind,
            label: action.label.as_ref().map(|l| l.value.clone()),
            duration: action.duration,
            tag: action.tag.as_ref().and_then(|name| self.tag_ref(name, record)),
        }
    }

    /// The items of a rule or exemption, each at most once.
    pub(super) fn rule_items<'i>(
        &mut self,
        kind: &str,
        name: &ast::Ident,
        items: &'i [ast::RuleItem],
    ) -> RuleItems<'i> {
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
                ast::RuleItem::Shadow(value, span) => ("shadow", *span, out.shadow.replace((*value, *span)).is_some()),
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

    pub(super) fn check_rules(&mut self) {
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
                Some(actions) => actions.iter().map(|a| self.action(a, record)).collect(),
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
                reads: when.state_reads(),
                when,
                actions,
                reason: items.reason.map(|r| r.value.clone()),
                n_locals,
                selected: true,
                shadow: items.shadow.is_some_and(|(value, _)| value)
                    || campaign
                        .and_then(|c| self.program.campaign(c))
                        .is_some_and(|c| c.shadow),
                location: Location { file, span: decl.span },
            });
        }
    }

    /// Checks a rule's or exemption's `when:` with its parameter bound.
    pub(super) fn condition(
        &mut self,
        param: &ast::Param,
        record: Option<RecordId>,
        when: Option<&ast::Expr>,
        kind: &str,
        name: &ast::Ident,
    ) -> (TExpr, u32) {
        let record = record.map_or(Type::Error, Type::Record);
        let record_id = match record {
            Type::Record(id) => Some(id),
            _ => None,
        };
        let when = self.in_body(self.file, BodyKind::CODE, |body| {
            body.state_record = record_id;
            body.bind_local(param.name.name.clone(), record);
            let when = when.map(|expr| body.expr_of(expr, &Type::Bool).0);
            (when, body.n_locals)
        });
        let (when, n_locals) = match when {
            (Some(when), n_locals) => (when, n_locals),
            (None, n_locals) => {
                self.error(
                    "qlp::missing_item",
                    name.span,
                    format!("{kind} `{}` has no `when:`", name.name),
                )
                .set_label(format!("this {kind}"))
                .help = Some(String::from("add the condition: `when: c.kind == livestream`"));
                let never = TExpr {
                    kind: TExprKind::Const(Value::Bool(false)),
                    ty: Type::Bool,
                    span: name.span,
                };
                (never, n_locals)
            }
        };
        (when, n_locals)
    }

    pub(super) fn check_exemptions(&mut self) {
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
            if let Some((_, span)) = items.shadow {
                self.error("qlp::misplaced_item", span, "an exemption cannot be in shadow")
                    .help = Some(String::from(
                    "put `shadow: true` on the rules (or their campaign) to try them without affecting verdicts",
                ));
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
                reads: when.state_reads(),
                when,
                cancels_rules,
                cancels_campaigns,
                reason: items.reason.map(|r| r.value.clone()),
                n_locals,
                location: Location { file, span: decl.span },
            });
        }
    }
}
