//! Text to AST: splits a file into top-level items, parses each with the pest
//! grammar (so one bad item does not hide the errors of the next), and builds
//! expressions with pest's Pratt parser.
//!
//! Nothing here panics on any input: oversized or deeply nested input is
//! rejected with a diagnostic before it can exhaust the stack.

// The builder walks pairs that the grammar has already matched, so the shape
// of each pair is known; `expect` on it states that invariant.
#![expect(clippy::expect_used, reason = "pairs are walked in the shape the grammar guarantees")]

use std::sync::LazyLock;

use pest::error::{ErrorVariant, InputLocation};
use pest::iterators::{Pair, Pairs};
use pest::pratt_parser::{Assoc, Op, PrattParser};
use pest::Parser as _;

use crate::ast::*;
use crate::diagnostic::Diagnostic;
use crate::scan::{self, TokenKind};
use crate::source::FileId;
use crate::span::Span;
use crate::time::{parse_duration, parse_written};

/// The pest parser generated from `qlp.pest`; its `Rule` enum names every
/// rule of the grammar.
mod generated {
    #![allow(missing_docs, reason = "generated from qlp.pest")]
    #[derive(pest_derive::Parser)]
    #[grammar = "qlp.pest"]
    pub(super) struct QlpParser;
}

use generated::{QlpParser, Rule};

/// Deepest expression tree the parser accepts. Later stages recurse over
/// expressions, so this bound is what keeps their stack use bounded.
pub const MAX_EXPR_DEPTH: u32 = 200;
/// Deepest nesting of brackets the parser accepts.
pub const MAX_BRACKET_DEPTH: u32 = 64;
/// Most `if`/`let`/`not`/`-` in one top-level item (each may nest).
const MAX_NESTING_WORDS: usize = 128;
/// The most elements of one list literal outside a keyword set. Larger
/// lists are refused before pest sees them, so that compile time stays
/// bounded (a long list of constants is hashed, so it costs one lookup at
/// run time); long lists of words belong in keyword sets.
pub const MAX_LIST_ELEMENTS: u32 = 100_000;
/// Largest source file accepted, in bytes.
pub const MAX_FILE_BYTES: usize = 16 << 20;

/// The most copies `given N TYPE { .. }` makes.
pub const MAX_GIVEN_COUNT: u32 = 10_000;

/// Parses one file. Returns the items that parsed and a diagnostic for each
/// item that did not.
pub fn parse_file(text: &str, file: FileId) -> (File, Vec<Diagnostic>) {
    parse_file_with(text, file, true)
}

/// [`parse_file`], leaving out the file's tests (not even checking their
/// syntax) unless `tests`: what evaluating the rules needs, for which the
/// tests were most of the parse of the shipped policies.
pub fn parse_file_with(text: &str, file: FileId, tests: bool) -> (File, Vec<Diagnostic>) {
    let mut diagnostics = Vec::new();
    let mut items = Vec::new();
    if text.len() > MAX_FILE_BYTES {
        diagnostics.push(
            Diagnostic::error(
                "qlp::file_too_large",
                file,
                Span::new(0, 0),
                format!("policy file is larger than {} MiB", MAX_FILE_BYTES >> 20),
            )
            .with_help("split the policy into several files, and keyword lists into `file(..)` keyword sets"),
        );
        return (File { items }, diagnostics);
    }
    for chunk in split_items(text).into_iter().filter(|chunk| tests || !chunk.test) {
        let Some(chunk_text) = text.get(chunk.start..chunk.end) else {
            continue;
        };
        if let Some(diagnostic) = check_nesting(chunk_text, chunk.start, file) {
            diagnostics.push(diagnostic);
            continue;
        }
        let mut builder = Builder {
            file,
            offset: chunk.start,
            diagnostics: Vec::new(),
        };
        builder.declaration(chunk_text, text.get(chunk.end..), &mut items);
        diagnostics.append(&mut builder.diagnostics);
    }
    (File { items }, diagnostics)
}

/// Parses a single expression (used by tools and tests).
pub fn parse_expr(text: &str, file: FileId) -> Result<Expr, Vec<Diagnostic>> {
    if let Some(diagnostic) = check_nesting(text, 0, file) {
        return Err(vec![diagnostic]);
    }
    let mut builder = Builder {
        file,
        offset: 0,
        diagnostics: Vec::new(),
    };
    match QlpParser::parse(Rule::expr, text) {
        Ok(mut pairs) => {
            let pair = pairs.next().expect("an expr pair");
            if pair.as_span().end() != text.len() {
                let rest = text.get(pair.as_span().end()..).unwrap_or("");
                if !rest.trim().is_empty() {
                    let at = pair.as_span().end();
                    return Err(vec![Diagnostic::error(
                        "qlp::parse_error",
                        file,
                        Span::new(at, text.len()),
                        format!("unexpected `{}` after the expression", first_token(rest)),
                    )
                    .with_label("the expression ends before this")]);
                }
            }
            let expr = builder.expr(pair);
            match expr {
                Some(expr) if builder.diagnostics.is_empty() => Ok(expr),
                _ => Err(builder.diagnostics),
            }
        }
        Err(error) => Err(vec![parse_error(&error, text, 0, file, None)]),
    }
}

mod errors;
mod expr;
mod mistakes;
mod prescan;
mod words;

pub use words::{DECLARATION_WORDS, WORDS};

use errors::{first_token, parse_error};
pub use mistakes::function_named_elsewhere;
use prescan::{check_nesting, split_items, too_deep};

struct Builder {
    file: FileId,
    /// Byte offset of the chunk being built within its file.
    offset: usize,
    diagnostics: Vec<Diagnostic>,
}

/// An expression with the depth of its tree, or `None` after an error was
/// recorded.
type Built = Option<(Expr, u32)>;

impl Builder {
    fn span(&self, pair: &Pair<'_, Rule>) -> Span {
        let span = pair.as_span();
        Span::new(self.offset + span.start(), self.offset + span.end())
    }

    fn error(&mut self, code: &'static str, span: Span, message: impl Into<String>) -> &mut Diagnostic {
        self.diagnostics.push(Diagnostic::error(code, self.file, span, message));
        self.diagnostics.last_mut().expect("just pushed")
    }

    fn ident(&self, pair: Pair<'_, Rule>) -> Ident {
        Ident {
            name: pair.as_str().to_string(),
            span: self.span(&pair),
        }
    }

    fn item(&mut self, pair: Pair<'_, Rule>) -> Option<Item> {
        let span = self.span(&pair);
        let rule = pair.as_rule();
        let mut inner = pair.into_inner();
        Some(match rule {
            Rule::import_decl => {
                skip_keyword(&mut inner);
                Item::Import(Import {
                    path: self.string(inner.next().expect("import path"))?,
                    span,
                })
            }
            Rule::time_zone_decl => {
                skip_keyword(&mut inner);
                Item::TimeZone(crate::ast::TimeZoneDecl {
                    zone: self.string(inner.next().expect("time zone"))?,
                    span,
                })
            }
            Rule::enum_decl => {
                skip_keyword(&mut inner);
                let name = self.ident(inner.next().expect("enum name"));
                let variants = inner.map(|p| self.ident(p)).collect();
                Item::Enum(EnumDecl { name, variants, span })
            }
            Rule::record_decl => {
                skip_keyword(&mut inner);
                let name = self.ident(inner.next().expect("record name"));
                let mut fields = Vec::new();
                for field in inner {
                    let field_span = self.span(&field);
                    let mut parts = field.into_inner();
                    let name = self.ident(parts.next().expect("field name"));
                    let ty = self.type_expr(parts.next().expect("field type"));
                    let default = parts.next().and_then(|value| self.value(value));
                    fields.push(FieldDecl {
                        name,
                        ty,
                        default,
                        span: field_span,
                    });
                }
                Item::Record(RecordDecl { name, fields, span })
            }
            Rule::keywords_decl => {
                skip_keyword(&mut inner);
                let name = self.ident(inner.next().expect("keywords name"));
                let mut source_pair = inner.next().expect("keywords source");
                let mut options = Vec::new();
                if source_pair.as_rule() == Rule::keyword_options {
                    options = source_pair.into_inner().map(|p| self.ident(p)).collect();
                    source_pair = inner.next().expect("keywords source");
                }
                let source = match source_pair.as_rule() {
                    Rule::string_list => {
                        let mut entries = Vec::new();
                        for p in source_pair.into_inner() {
                            entries.push(self.string(p)?);
                        }
                        KeywordsSource::Inline(entries)
                    }
                    _ => {
                        let mut parts = source_pair.into_inner();
                        skip_keyword(&mut parts);
                        KeywordsSource::File(self.string(parts.next().expect("keywords file"))?)
                    }
                };
                Item::Keywords(KeywordsDecl {
                    name,
                    options,
                    source,
                    span,
                })
            }
            Rule::const_decl => {
                skip_keyword(&mut inner);
                let name = self.ident(inner.next().expect("const name"));
                let mut next = inner.next().expect("const type or value");
                let ty = if next.as_rule() == Rule::type_expr {
                    let ty = self.type_expr(next);
                    next = inner.next().expect("const value");
                    Some(ty)
                } else {
                    None
                };
                let value = self.expr(next)?;
                Item::Const(ConstDecl { name, ty, value, span })
            }
            Rule::fn_decl => {
                skip_keyword(&mut inner);
                let name = self.ident(inner.next().expect("fn name"));
                let params = inner
                    .next()
                    .expect("fn params")
                    .into_inner()
                    .map(|p| self.param(p))
                    .collect();
                let ret = self.type_expr(inner.next().expect("fn return type"));
                let body = self.expr(inner.next().expect("fn body"))?;
                Item::Fn(FnDecl {
                    name,
                    params,
                    ret,
                    body,
                    span,
                })
            }
            Rule::campaign_decl => {
                skip_keyword(&mut inner);
                let name = self.ident(inner.next().expect("campaign name"));
                let mut props = Vec::new();
                for prop in inner {
                    let prop_span = self.span(&prop);
                    let rule = prop.as_rule();
                    let mut parts = prop.into_inner();
                    skip_keyword(&mut parts);
                    props.push(match rule {
                        Rule::campaign_title => CampaignProp::Title(self.string(parts.next().expect("title"))?),
                        Rule::campaign_shadow => {
                            let value = parts.next().expect("shadow value");
                            CampaignProp::Shadow(value.as_str() == "true", self.span(&value))
                        }
                        Rule::campaign_active => {
                            let start = self.time_lit(parts.next().expect("start"))?;
                            let end = self.time_lit(parts.next().expect("end"))?;
                            CampaignProp::Active {
                                start,
                                end,
                                span: prop_span,
                            }
                        }
                        _ => {
                            let kind_pair = parts.next().expect("max action");
                            CampaignProp::MaxAction(ActionKindLit {
                                kind: self.action_kind(&kind_pair)?,
                                span: self.span(&kind_pair),
                            })
                        }
                    });
                }
                Item::Campaign(CampaignDecl { name, props, span })
            }
            Rule::rule_decl | Rule::exempt_decl => {
                skip_keyword(&mut inner);
                let name = self.ident(inner.next().expect("rule name"));
                let param = self.param(inner.next().expect("rule param"));
                let mut items = Vec::new();
                for item in inner {
                    items.push(self.rule_item(item)?);
                }
                if rule == Rule::rule_decl {
                    Item::Rule(RuleDecl {
                        name,
                        param,
                        items,
                        span,
                    })
                } else {
                    Item::Exempt(ExemptDecl {
                        name,
                        param,
                        items,
                        span,
                    })
                }
            }
            Rule::state_decl => {
                let kind = match inner.next().expect("state kind").as_str() {
                    "counter" => StateKind::Counter,
                    "distinct" => StateKind::Distinct,
                    "first_seen" => StateKind::FirstSeen,
                    _ => StateKind::Tag,
                };
                let name = self.ident(inner.next().expect("state name"));
                let param = self.param(inner.next().expect("state param"));
                let mut items = Vec::new();
                for item in inner {
                    let item_span = self.span(&item);
                    let mut parts = item.into_inner();
                    let field = self.ident(parts.next().expect("state item word"));
                    let value = self.expr(parts.next().expect("state item value"))?;
                    items.push(StateItem {
                        field,
                        value,
                        span: item_span,
                    });
                }
                Item::State(StateDecl {
                    kind,
                    name,
                    param,
                    items,
                    span,
                })
            }
            Rule::test_decl => {
                skip_keyword(&mut inner);
                let name = self.string(inner.next().expect("test name"))?;
                let mut items = Vec::new();
                for item in inner {
                    items.push(self.test_item(item)?);
                }
                Item::Test(TestDecl { name, items, span })
            }
            _ => return None,
        })
    }

    fn rule_item(&mut self, pair: Pair<'_, Rule>) -> Option<RuleItem> {
        let rule = pair.as_rule();
        let mut parts = pair.into_inner();
        skip_keyword(&mut parts);
        Some(match rule {
            Rule::rule_campaign => RuleItem::Campaign(self.ident(parts.next().expect("campaign name"))),
            Rule::rule_when => RuleItem::When(self.expr(parts.next().expect("condition"))?),
            Rule::rule_then => {
                let mut actions = Vec::new();
                for action in parts {
                    actions.push(self.action(action)?);
                }
                RuleItem::Then(actions)
            }
            Rule::rule_reason => RuleItem::Reason(self.string(parts.next().expect("reason"))?),
            Rule::rule_shadow => {
                let value = parts.next().expect("shadow value");
                RuleItem::Shadow(value.as_str() == "true", self.span(&value))
            }
            _ => RuleItem::Cancels(
                parts
                    .map(|target| {
                        let inner = target.into_inner().next().expect("cancel target");
                        if inner.as_rule() == Rule::cancel_campaign {
                            let mut p = inner.into_inner();
                            skip_keyword(&mut p);
                            CancelTarget::Campaign(self.ident(p.next().expect("campaign name")))
                        } else {
                            CancelTarget::Rule(self.ident(inner))
                        }
                    })
                    .collect(),
            ),
        })
    }

    /// The action a keyword names; `None` (with a diagnostic) for a word
    /// the grammar let through that is no action, never a guess.
    fn action_kind(&mut self, pair: &Pair<'_, Rule>) -> Option<ActionKind> {
        let word = pair.as_str().trim();
        let kind = ActionKind::ALL.into_iter().find(|kind| kind.as_str() == word);
        if kind.is_none() {
            let span = self.span(pair);
            self.error(
                "qlp::parse_error",
                span,
                format!("internal error: unknown action `{word}`"),
            );
        }
        kind
    }

    fn action(&mut self, pair: Pair<'_, Rule>) -> Option<Action> {
        let span = self.span(&pair);
        let inner = pair.into_inner().next().expect("action body");
        match inner.as_rule() {
            Rule::action_label => {
                let mut parts = inner.into_inner();
                skip_keyword(&mut parts);
                let label = self.string(parts.next().expect("label text"))?;
                Some(Action {
                    kind: ActionKind::Label,
                    label: Some(label),
                    duration: None,
                    tag: None,
                    span,
                })
            }
            Rule::action_tag => {
                let mut parts = inner.into_inner();
                skip_keyword(&mut parts);
                let tag = self.ident(parts.next().expect("tag name"));
                let duration = match parts.next() {
                    Some(ttl) => Some(self.duration(&ttl)?),
                    None => None,
                };
                Some(Action {
                    kind: ActionKind::Tag,
                    label: None,
                    duration,
                    tag: Some(tag),
                    span,
                })
            }
            Rule::action_suspend => {
                let mut parts = inner.into_inner();
                skip_keyword(&mut parts);
                let duration_pair = parts.next().expect("suspend duration");
                let duration = self.duration(&duration_pair)?;
                Some(Action {
                    kind: ActionKind::Suspend,
                    label: None,
                    duration: Some(duration),
                    tag: None,
                    span,
                })
            }
            _ => {
                let kind = self.action_kind(&inner)?;
                match kind {
                    ActionKind::Label => {
                        self.error("qlp::action_argument", span, "`label` needs the label's text")
                            .label = String::from("missing text");
                        self.diagnostics.last_mut().expect("just pushed").help =
                            Some(String::from("write `label(\"未成年人打赏\")`"));
                        None
                    }
                    ActionKind::Suspend => {
                        self.error("qlp::action_argument", span, "`suspend` needs a duration")
                            .label = String::from("missing duration");
                        self.diagnostics.last_mut().expect("just pushed").help =
                            Some(String::from("write `suspend(7d)`"));
                        None
                    }
                    _ => Some(Action {
                        kind,
                        label: None,
                        duration: None,
                        tag: None,
                        span,
                    }),
                }
            }
        }
    }

    fn test_item(&mut self, pair: Pair<'_, Rule>) -> Option<TestItem> {
        let rule = pair.as_rule();
        let mut parts = pair.into_inner();
        skip_keyword(&mut parts);
        Some(match rule {
            Rule::test_now => TestItem::Now(self.expr(parts.next().expect("now value"))?),
            Rule::test_given => {
                let mut next = parts.next().expect("given type");
                let count = if next.as_rule() == Rule::given_count {
                    let span = self.span(&next);
                    let count = next
                        .as_str()
                        .parse::<u32>()
                        .ok()
                        .filter(|n| (1..=MAX_GIVEN_COUNT).contains(n));
                    if count.is_none() {
                        self.error(
                            "qlp::number_out_of_range",
                            span,
                            format!("a test repeats a record 1 to {MAX_GIVEN_COUNT} times"),
                        )
                        .label = String::from("out of range");
                        return None;
                    }
                    next = parts.next().expect("given type");
                    count
                } else {
                    None
                };
                let ty = self.ident(next);
                let value = self.record_value(parts.next().expect("given value"))?;
                TestItem::Given { count, ty, value }
            }
            _ => {
                let expectation = parts.next().expect("expectation");
                let span = self.span(&expectation);
                let rule = expectation.as_rule();
                let mut inner = expectation.into_inner();
                TestItem::Expect(match rule {
                    Rule::expect_nothing => Expectation::Nothing(span),
                    Rule::expect_verdict => {
                        skip_keyword(&mut inner);
                        let verdict = inner
                            .next()
                            .expect("verdict")
                            .into_inner()
                            .next()
                            .expect("verdict word");
                        let kind = if verdict.as_rule() == Rule::kw_allow {
                            None
                        } else {
                            Some(self.action_kind(&verdict)?)
                        };
                        Expectation::Verdict(kind, span)
                    }
                    Rule::expect_not => {
                        skip_keyword(&mut inner);
                        Expectation::NotFires(inner.map(|p| self.ident(p)).collect())
                    }
                    Rule::expect_error => {
                        skip_keyword(&mut inner);
                        Expectation::Errors(inner.map(|p| self.ident(p)).collect())
                    }
                    _ => Expectation::Fires(inner.map(|p| self.ident(p)).collect()),
                })
            }
        })
    }

    fn record_value(&mut self, pair: Pair<'_, Rule>) -> Option<RecordValue> {
        let span = self.span(&pair);
        let mut fields = Vec::new();
        for field in pair.into_inner() {
            let mut parts = field.into_inner();
            let name = self.ident(parts.next().expect("field name"));
            let value = self.value(parts.next().expect("field value"))?;
            fields.push((name, value));
        }
        Some(RecordValue { fields, span })
    }

    fn value(&mut self, pair: Pair<'_, Rule>) -> Option<Value> {
        match pair.as_rule() {
            Rule::record_value => Some(Value::Record(self.record_value(pair)?)),
            Rule::list_value => {
                let span = self.span(&pair);
                let mut values = Vec::new();
                for p in pair.into_inner() {
                    values.push(self.value(p)?);
                }
                Some(Value::List(values, span))
            }
            _ => Some(Value::Expr(self.expr(pair)?)),
        }
    }

    fn param(&mut self, pair: Pair<'_, Rule>) -> Param {
        let span = self.span(&pair);
        let mut parts = pair.into_inner();
        let name = self.ident(parts.next().expect("param name"));
        let ty = self.type_expr(parts.next().expect("param type"));
        Param { name, ty, span }
    }

    fn type_expr(&mut self, pair: Pair<'_, Rule>) -> TypeExpr {
        let span = self.span(&pair);
        let mut parts = pair.into_inner();
        let base = parts.next().expect("type");
        let base_span = self.span(&base);
        let kind = match base.as_rule() {
            Rule::list_type => {
                let element = base.into_inner().next().expect("list element type");
                TypeExprKind::List(Box::new(self.type_expr(element)))
            }
            _ => TypeExprKind::Named(self.ident(base.into_inner().next().expect("type name"))),
        };
        let mut ty = TypeExpr { kind, span: base_span };
        for mark in parts {
            let end = self.span(&mark).end;
            ty = TypeExpr {
                span: Span { start: span.start, end },
                kind: TypeExprKind::Optional(Box::new(ty)),
            };
        }
        ty
    }

    fn string(&mut self, pair: Pair<'_, Rule>) -> Option<StrLit> {
        let span = self.span(&pair);
        let raw = pair.into_inner().next().map_or("", |p| p.as_str());
        match unescape(raw) {
            Ok(value) => Some(StrLit { value, span }),
            Err(message) => {
                self.error("qlp::bad_escape", span, message).help = Some(String::from(
                    "escapes are `\\\"`, `\\\\`, `\\n`, `\\t`, `\\r`, `\\0` and `\\u{XXXX}`",
                ));
                None
            }
        }
    }

    fn time_lit(&mut self, pair: Pair<'_, Rule>) -> Option<TimeLit> {
        let span = self.span(&pair);
        match parse_written(pair.as_str()) {
            Ok(value) => Some(TimeLit {
                value,
                date_only: !pair.as_str().contains('T'),
                span,
            }),
            Err(message) => {
                self.error("qlp::bad_time", span, message).help = Some(String::from(
                    "write a date `2022-03-17` or a time `2022-03-17T08:00:00+08:00`",
                ));
                None
            }
        }
    }

    fn duration(&mut self, pair: &Pair<'_, Rule>) -> Option<i64> {
        let span = self.span(pair);
        match parse_duration(pair.as_str()) {
            Ok(micros) => {
                if let Some(ordered) = crate::time::units_out_of_order(pair.as_str()) {
                    self.error(
                        "qlp::bad_duration",
                        span,
                        format!("the units of `{}` are out of order", pair.as_str()),
                    )
                    .set_label("largest unit first")
                    .set_help(format!(
                        "write `{ordered}` (the same length of time), each unit once, largest first"
                    ))
                    .set_fix(span, ordered.clone());
                }
                Some(micros)
            }
            Err(message) => {
                self.error("qlp::bad_duration", span, message).help =
                    Some(String::from("durations are at most about 290,000 years"));
                None
            }
        }
    }
}

/// Skips a leading keyword pair (`kw_*`), if there is one.
fn skip_keyword(pairs: &mut Pairs<'_, Rule>) {
    if let Some(first) = pairs.peek() {
        if format!("{:?}", first.as_rule()).starts_with("kw_") {
            pairs.next();
        }
    }
}

/// Decodes the escapes of a string literal's body.
pub fn unescape(raw: &str) -> Result<String, String> {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('"') => out.push('"'),
            Some('\\') => out.push('\\'),
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('0') => out.push('\0'),
            Some('u') => {
                let rest = chars.as_str();
                let close = rest.find('}').ok_or("unterminated `\\u{...}` escape")?;
                let hex = rest.get(1..close).unwrap_or("");
                let code = u32::from_str_radix(hex, 16).map_err(|_| format!("`\\u{{{hex}}}` is not a hex number"))?;
                let c = char::from_u32(code).ok_or_else(|| format!("`\\u{{{hex}}}` is not a Unicode scalar value"))?;
                out.push(c);
                chars = rest.get(close + 1..).unwrap_or("").chars();
            }
            other => {
                return Err(format!(
                    "unknown escape `\\{}`",
                    other.map(String::from).unwrap_or_default()
                ))
            }
        }
    }
    Ok(out)
}
