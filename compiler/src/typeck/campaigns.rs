//! Campaigns: titles, active periods and maximum actions.

use super::*;
use qlp_grammar::time::Zone;

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
            let mut shadow = false;
            let mut seen: Vec<&str> = Vec::new();
            for prop in &decl.props {
                let (key, span) = match prop {
                    ast::CampaignProp::Title(t) => ("title", t.span),
                    ast::CampaignProp::Active { span, .. } => ("active", *span),
                    ast::CampaignProp::MaxAction(kind) => ("max_action", kind.span),
                    ast::CampaignProp::Shadow(_, span) => ("shadow", *span),
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
                        // A date alone as the end includes that whole day:
                        // the period ends at the next local midnight.
                        let end_value = match end.value {
                            qlp_grammar::time::Written::Local(civil) if end.date_only => {
                                qlp_grammar::time::Written::Local(
                                    civil.saturating_add(86_400 * qlp_grammar::time::MICROS_PER_SECOND),
                                )
                            }
                            other => other,
                        };
                        let zone = self.program.zone.clone();
                        let (start_micros, end_micros) = match (start.value.in_zone(&zone), end_value.in_zone(&zone)) {
                            (Ok(start), Ok(end)) => (start, end),
                            (Err(message), _) | (_, Err(message)) => {
                                self.error("qlp::bad_time", *span, message);
                                continue;
                            }
                        };
                        if start_micros >= end_micros {
                            self.error("qlp::empty_period", *span, "the active period ends before it starts")
                                .help = Some(String::from(
                                "write the start first: `active: 2022-03-17 .. 2022-12-31`",
                            ));
                        }
                        active = Some((start_micros, end_micros));
                    }
                    ast::CampaignProp::MaxAction(kind) => max_action = Some(kind.kind),
                    ast::CampaignProp::Shadow(value, _) => shadow = *value,
                }
            }
            self.program.campaigns.push(CampaignDef {
                name: decl.name.name.clone(),
                title,
                active,
                max_action,
                shadow,
                location: Location { file, span: decl.span },
            });
        }
    }
}

impl Checker<'_> {
    /// Reads the policy set's `time_zone` (one zone for the whole set;
    /// UTC without one), before anything that reads a date.
    pub(super) fn declare_time_zone(&mut self) {
        let mut declared: Option<(String, FileId, Span)> = None;
        for (file_index, ast) in self.files.asts.iter().enumerate() {
            let file = FileId(file_index as u32);
            for item in &ast.items {
                let Item::TimeZone(decl) = item else { continue };
                let name = decl.zone.value.clone();
                self.file = file;
                match &declared {
                    Some((first, _, _)) if *first != name => {
                        let first = first.clone();
                        self.error(
                            "qlp::time_zone_conflict",
                            decl.zone.span,
                            format!("the policy set's time zone is `{first}` already, not `{name}`"),
                        )
                        .help = Some(String::from(
                            "a policy set has one time zone: declare it once, in the file every other imports",
                        ));
                    }
                    Some(_) => {}
                    None => match Zone::named(&name) {
                        Ok(zone) => {
                            self.program.zone = zone;
                            declared = Some((name, file, decl.zone.span));
                        }
                        Err(message) => {
                            self.error("qlp::unknown_time_zone", decl.zone.span, message).help =
                                Some(String::from("name an IANA zone: `time_zone \"Asia/Shanghai\"`"));
                        }
                    },
                }
            }
        }
    }
}
