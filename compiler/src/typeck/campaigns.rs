//! Campaigns: titles, active periods and maximum actions.

use super::*;

impl<'a> Checker<'a> {
    pub(super) fn declare_campaigns(&mut self) {
        for &(file, index) in self.scope.declarations(DeclKind::Campaign) {
            let Some(Item::Campaign(decl)) = self.item(file, index) else {
                continue;
            };
            self.file = file;
            let mut title = None;
            let mut active = None;
            let mut max_action = None;
            let mut seen: Vec<&str> = Vec::new();
            for prop in &decl.props {
                let (key, span) = match prop {
                    ast::CampaignProp::Title(t) => ("title", t.span),
                    ast::CampaignProp::Active { span, .. } => ("active", *span),
                    ast::CampaignProp::MaxAction(kind) => ("max_action", kind.span),
                };
                if seen.contains(&key) {
                    self.error(
                        "qlp::duplicate_item",
                        span,
                        format!("campaign `{}` sets `{key}` twice", decl.name.name),
                    )
                    .label = String::from("set again here");
                    continue;
                }
                seen.push(key);
                match prop {
                    ast::CampaignProp::Title(t) => title = Some(t.value.clone()),
                    ast::CampaignProp::Active { start, end, span } => {
                        let end_micros = if end.date_only {
                            end.micros.saturating_add(86_400 * qlp_grammar::time::MICROS_PER_SECOND)
                        } else {
                            end.micros
                        };
                        if start.micros >= end_micros {
                            self.error("qlp::empty_period", *span, "the active period ends before it starts")
                                .help = Some(String::from(
                                "write the start first: `active: 2022-03-17 .. 2022-12-31`",
                            ));
                        }
                        active = Some((start.micros, end_micros));
                    }
                    ast::CampaignProp::MaxAction(kind) => max_action = Some(kind.kind),
                }
            }
            self.program.campaigns.push(CampaignDef {
                name: decl.name.name.clone(),
                title,
                active,
                max_action,
                location: Location { file, span: decl.span },
            });
        }
    }
}
