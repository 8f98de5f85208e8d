//! Parse errors in a policy author's words: pest's rule names rewritten into
//! what was expected and what was found.

use super::*;

/// A parse error in one declaration (`text`, at `offset` in the file); `after`
/// is the rest of the file, where the next declaration starts.
pub(super) fn parse_error(
    error: &pest::error::Error<Rule>,
    text: &str,
    offset: usize,
    file: FileId,
    after: Option<&str>,
) -> Diagnostic {
    let pos = match error.location {
        InputLocation::Pos(pos) => pos,
        InputLocation::Span((start, _)) => start,
    };
    let rest = text.get(pos..).unwrap_or("");
    let next_declaration = after
        .map(str::trim_start)
        .filter(|after| rest.trim().is_empty() && !after.is_empty());
    let found = match next_declaration {
        Some(next) => format!("the next declaration (`{}`)", first_token(next)),
        None if rest.trim().is_empty() => String::from("end of file"),
        None => format!("`{}`", first_token(rest)),
    };
    let token_len = if rest.is_empty() { 0 } else { first_token(rest).len() };
    let span = Span::new(offset + pos, offset + pos + token_len);
    match &error.variant {
        ErrorVariant::ParsingError { positives, .. } => {
            if rest.starts_with('"') && !rest.lines().next().is_some_and(closes_string) {
                return Diagnostic::error(
                    "qlp::unterminated_string",
                    file,
                    Span::new(offset + pos, offset + pos + 1),
                    "unterminated string",
                )
                .with_label("this string has no closing `\"` on its line")
                .with_help("close the string with `\"`; write a line break inside a string as `\\n`");
            }
            let mut words: Vec<&str> = positives.iter().filter_map(|rule| describe_rule(*rule)).collect();
            words.dedup();
            let mut seen = Vec::new();
            words.retain(|w| {
                let new = !seen.contains(w);
                seen.push(*w);
                new
            });
            simplify_expected(&mut words);
            let expected = join_alternatives(&words);
            let message = if expected.is_empty() {
                format!("unexpected {found}")
            } else {
                format!("expected {expected}, found {found}")
            };
            let mut diagnostic =
                Diagnostic::error("qlp::parse_error", file, span, message).with_label(if expected.is_empty() {
                    String::from("not expected here")
                } else {
                    format!("expected {expected}")
                });
            if let Some(help) = parse_help(positives, rest) {
                diagnostic = diagnostic.with_help(help);
            } else if next_declaration.is_some() {
                diagnostic =
                    diagnostic.with_help("this declaration ends before it is complete: is a `}` or `)` missing?");
            }
            diagnostic
        }
        ErrorVariant::CustomError { message } => {
            Diagnostic::error("qlp::parse_error", file, span, message.to_lowercase())
                .with_label("the parser stopped here")
                .with_help("simplify or split this declaration")
        }
    }
}

/// Drops alternatives that a broader one in the list already covers.
fn simplify_expected(words: &mut Vec<&str>) {
    let covered: &[(&str, &[&str])] = &[
        ("an expression", &["a list", "a string", "a name", "`now`"]),
        ("an operator", &["`in`", "`is`"]),
        (DECLARATION, &["`campaign`", "end of file"]),
    ];
    for (broad, narrow) in covered {
        if words.contains(broad) {
            words.retain(|w| !narrow.contains(w));
        }
    }
    // Inside a rule body, `campaign` and `then` start `campaign:` and `then:` items.
    if words.contains(&"`when:`") {
        for word in words.iter_mut() {
            match *word {
                "`campaign`" => *word = "`campaign:`",
                "`then`" => *word = "`then:`",
                _ => {}
            }
        }
    }
}

const DECLARATION: &str =
    "a declaration (`import`, `enum`, `record`, `keywords`, `const`, `fn`, `campaign`, `rule`, `exempt` or `test`)";

fn closes_string(line: &str) -> bool {
    let mut chars = line.chars().skip(1);
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '"' => return true,
            _ => {}
        }
    }
    false
}

fn parse_help(positives: &[Rule], rest: &str) -> Option<String> {
    if rest.starts_with('=') && !rest.starts_with("==") {
        return Some(String::from("compare with `==`; `=` only appears in declarations"));
    }
    if rest.starts_with("&&") || rest.starts_with("||") || rest.starts_with('!') && !rest.starts_with("!=") {
        return Some(String::from("write `and`, `or` and `not` as words"));
    }
    if positives.contains(&Rule::ident) && first_token(rest).chars().all(|c| c.is_alphanumeric() || c == '_') {
        let token = first_token(rest);
        if [
            "and", "or", "not", "in", "if", "then", "else", "let", "true", "false", "is", "has_any", "matches", "now",
        ]
        .contains(&token)
        {
            return Some(format!("`{token}` is a reserved word and cannot be used as a name"));
        }
    }
    None
}

/// The first token of `rest`, for "found `...`" in messages.
pub(super) fn first_token(rest: &str) -> &str {
    let rest = rest.trim_start();
    let mut end = 0;
    for (i, c) in rest.char_indices() {
        let word = c.is_alphanumeric() || c == '_';
        if i == 0 {
            end = c.len_utf8();
            if !word {
                break;
            }
        } else if word {
            end = i + c.len_utf8();
        } else {
            break;
        }
        if end >= 40 {
            break;
        }
    }
    rest.get(..end).unwrap_or("")
}

fn join_alternatives(words: &[&str]) -> String {
    match words {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// Describes a grammar rule in the words a policy author uses, or `None` for
/// rules that only add noise to "expected ..." lists.
fn describe_rule(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::EOI => "end of file",
        Rule::import_decl
        | Rule::enum_decl
        | Rule::record_decl
        | Rule::keywords_decl
        | Rule::const_decl
        | Rule::fn_decl
        | Rule::campaign_decl
        | Rule::rule_decl
        | Rule::exempt_decl
        | Rule::state_decl
        | Rule::state_kind
        | Rule::kw_counter
        | Rule::kw_distinct
        | Rule::kw_first_seen
        | Rule::test_decl
        | Rule::kw_import
        | Rule::kw_enum
        | Rule::kw_record
        | Rule::kw_keywords
        | Rule::kw_const
        | Rule::kw_fn
        | Rule::kw_rule
        | Rule::kw_exempt
        | Rule::kw_test => DECLARATION,
        Rule::field_decl => "a field (`name: type`)",
        Rule::type_expr | Rule::list_type | Rule::named_type => "a type",
        Rule::string_list => "a list of strings",
        Rule::keywords_file | Rule::kw_file => "`file(\"...\")`",
        Rule::params | Rule::param => "a parameter (`name: Type`)",
        Rule::campaign_title | Rule::kw_title => "`title:`",
        Rule::campaign_active | Rule::kw_active => "`active:`",
        Rule::campaign_max | Rule::kw_max_action => "`max_action:`",
        Rule::rule_campaign => "`campaign:`",
        Rule::kw_campaign => "`campaign`",
        Rule::rule_when | Rule::kw_when => "`when:`",
        Rule::rule_then => "`then:`",
        Rule::rule_reason | Rule::kw_reason => "`reason:`",
        Rule::rule_shadow | Rule::campaign_shadow | Rule::kw_shadow => "`shadow:`",
        Rule::exempt_cancels | Rule::kw_cancels => "`cancels:`",
        Rule::action
        | Rule::action_label
        | Rule::action_suspend
        | Rule::action_kind
        | Rule::action_tag
        | Rule::kw_tag => {
            "an action (`label(\"...\")`, `limit`, `review`, `remove`, `block`, `suspend(7d)`, `ban` or `tag(NAME)`)"
        }
        Rule::state_item | Rule::state_field => {
            "a state item (`key:`, `of:`, `id:`, `time:`, `window:`, `bucket:`, `ttl:` or `when:`)"
        }
        Rule::given_count => "a number of copies",
        Rule::cancel_target | Rule::cancel_campaign => "a rule name or `campaign NAME`",
        Rule::test_now | Rule::kw_now | Rule::now => "`now`",
        Rule::test_given | Rule::kw_given => "`given`",
        Rule::test_expect | Rule::kw_expect => "`expect`",
        Rule::expect_nothing
        | Rule::expect_verdict
        | Rule::expect_not
        | Rule::expect_error
        | Rule::expect_fires
        | Rule::kw_nothing
        | Rule::kw_verdict
        | Rule::kw_error => "rule names, `not`, `error`, `verdict` or `nothing`",
        Rule::verdict | Rule::kw_allow => "a verdict (`allow` or an action)",
        Rule::record_value | Rule::field_value => "a record value (`{ field: value }`)",
        Rule::list_value | Rule::list_expr => "a list",
        Rule::expr
        | Rule::paren
        | Rule::if_expr
        | Rule::let_expr
        | Rule::quantifier
        | Rule::call
        | Rule::op_not
        | Rule::op_neg
        | Rule::bool
        | Rule::int
        | Rule::float
        | Rule::time
        | Rule::duration => "an expression",
        Rule::string => "a string",
        Rule::ident => "a name",
        Rule::op_is_some
        | Rule::op_is_none
        | Rule::op_field
        | Rule::op_or
        | Rule::op_and
        | Rule::op_eq
        | Rule::op_ne
        | Rule::op_le
        | Rule::op_ge
        | Rule::op_lt
        | Rule::op_gt
        | Rule::op_in
        | Rule::op_has_any
        | Rule::op_matches
        | Rule::op_coalesce
        | Rule::op_add
        | Rule::op_sub
        | Rule::op_mul
        | Rule::op_div
        | Rule::op_rem => "an operator",
        Rule::kw_then => "`then`",
        Rule::kw_else => "`else`",
        Rule::kw_in => "`in`",
        Rule::kw_is => "`is`",
        Rule::kw_some | Rule::kw_none => "`some` or `none`",
        _ => return None,
    })
}
