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
use crate::time::{parse_duration, parse_time};

#[derive(pest_derive::Parser)]
#[grammar = "qlp.pest"]
struct QlpParser;

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

const TOP_LEVEL_WORDS: [&str; 10] = [
    "import", "enum", "record", "keywords", "const", "fn", "campaign", "rule", "exempt", "test",
];

/// Parses one file. Returns the items that parsed and a diagnostic for each
/// item that did not.
pub fn parse_file(text: &str, file: FileId) -> (File, Vec<Diagnostic>) {
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
    for chunk in split_items(text) {
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
        match QlpParser::parse(Rule::file, chunk_text) {
            Ok(mut pairs) => {
                let file_pair = pairs.next().expect("a file pair");
                for pair in file_pair.into_inner() {
                    if pair.as_rule() != Rule::EOI {
                        if let Some(item) = builder.item(pair) {
                            items.push(item);
                        }
                    }
                }
            }
            Err(error) => builder.diagnostics.push(parse_error(
                &error,
                chunk_text,
                chunk.start,
                file,
                text.get(chunk.end..),
            )),
        }
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

// ---------------------------------------------------------------- splitting

struct Chunk {
    start: usize,
    end: usize,
}

/// Splits a file at lines that start with a declaration: a declaration word
/// followed by a name or a string (`rule r(`, `test "..."`, `import "..."`),
/// outside strings and comments. Each chunk is parsed on its own, which is
/// the parser's error recovery. Brackets do not matter, so a missing `}` or
/// `)` costs only its own declaration.
fn split_items(text: &str) -> Vec<Chunk> {
    let tokens = scan::tokens(text);
    let mut chunks = Vec::new();
    let mut start = 0;
    let mut at_line_start = true;
    for (i, token) in tokens.iter().enumerate() {
        if token.kind == TokenKind::Newline {
            at_line_start = true;
            continue;
        }
        let next = tokens.get(i + 1);
        let declares = token.kind == TokenKind::Word
            && TOP_LEVEL_WORDS.contains(&token.text)
            && next.is_some_and(|n| {
                n.kind == TokenKind::Str || (n.kind == TokenKind::Word && !scan::OPERATOR_WORDS.contains(&n.text))
            });
        if at_line_start && declares && token.start > start {
            chunks.push(Chunk {
                start,
                end: token.start,
            });
            start = token.start;
        }
        at_line_start = false;
    }
    chunks.push(Chunk { start, end: text.len() });
    chunks
}

/// One open bracket (or the whole item) in the nesting pre-scan.
struct Level {
    bracket: char,
    start: usize,
    /// Commas directly inside: list elements so far, minus one.
    commas: u32,
    /// `if` and `let` whose expression is still open at this level.
    open_words: u32,
    /// Prefix operators (`not`, `-`) still waiting for their operand.
    prefix_run: u32,
}

impl Level {
    fn new(bracket: char, start: usize) -> Level {
        Level {
            bracket,
            start,
            commas: 0,
            open_words: 0,
            prefix_run: 0,
        }
    }
}

/// Rejects input nested deeper than the parser and later stages can take,
/// before pest sees it. Nesting is measured, not operators counted: brackets
/// by depth, `if`/`let` by how many are open at once (a bracket or a comma
/// closes them), prefix operators by how many wait for one operand. A date
/// or a subtraction adds nothing.
fn check_nesting(text: &str, offset: usize, file: FileId) -> Option<Diagnostic> {
    let is_keyword_set = text.trim_start().starts_with("keywords");
    let mut levels = vec![Level::new(' ', 0)];
    let mut previous: Option<scan::Token<'_>> = None;
    for token in scan::tokens(text) {
        let at = token.start;
        let len = token.text.len().max(1);
        match token.kind {
            TokenKind::Newline => continue,
            TokenKind::Punct(c @ ('(' | '[' | '{')) => {
                if levels.len() > MAX_BRACKET_DEPTH as usize {
                    return Some(too_deep(file, offset + at, len));
                }
                levels.push(Level::new(c, at));
            }
            TokenKind::Punct(')' | ']' | '}') => {
                if levels.len() > 1 {
                    levels.pop();
                }
                // The bracket was an operand: prefix operators before it are done.
                if let Some(level) = levels.last_mut() {
                    level.prefix_run = 0;
                }
            }
            TokenKind::Punct(',') => {
                if let Some(level) = levels.last_mut() {
                    level.commas += 1;
                    level.open_words = 0;
                    level.prefix_run = 0;
                    if level.bracket == '[' && !is_keyword_set && level.commas >= MAX_LIST_ELEMENTS {
                        return Some(
                            Diagnostic::error(
                                "qlp::too_complex",
                                file,
                                Span::new(offset + level.start, offset + level.start + 1),
                                format!("this list has more than {MAX_LIST_ELEMENTS} elements"),
                            )
                            .with_label("the list starts here")
                            .with_help("keep long lists of words in a keyword set (`keywords NAME = file(\"...\")`)"),
                        );
                    }
                }
            }
            TokenKind::Punct('-') if is_prefix_position(previous.as_ref()) => {
                if let Some(level) = levels.last_mut() {
                    level.prefix_run += 1;
                }
            }
            TokenKind::Word if token.text == "not" => {
                if let Some(level) = levels.last_mut() {
                    level.prefix_run += 1;
                }
            }
            TokenKind::Word if token.text == "if" || token.text == "let" => {
                if let Some(level) = levels.last_mut() {
                    level.open_words += 1;
                }
            }
            TokenKind::Word | TokenKind::Number | TokenKind::Str => {
                if !scan::OPERATOR_WORDS.contains(&token.text) {
                    if let Some(level) = levels.last_mut() {
                        level.prefix_run = 0;
                    }
                }
            }
            TokenKind::Punct(_) => {}
        }
        let nesting: u32 = levels.iter().map(|l| l.open_words + l.prefix_run).sum();
        if nesting as usize > MAX_NESTING_WORDS {
            return Some(too_deep(file, offset + at, len));
        }
        previous = Some(token);
    }
    None
}

/// Whether a `-` after `previous` is a prefix minus: at the start, after an
/// opening bracket, a comma, an operator or an operator word.
fn is_prefix_position(previous: Option<&scan::Token<'_>>) -> bool {
    match previous {
        None => true,
        Some(token) => match token.kind {
            TokenKind::Word => scan::OPERATOR_WORDS.contains(&token.text),
            TokenKind::Number | TokenKind::Str => false,
            TokenKind::Punct(c) => !matches!(c, ')' | ']' | '}'),
            TokenKind::Newline => true,
        },
    }
}

fn too_deep(file: FileId, at: usize, len: usize) -> Diagnostic {
    Diagnostic::error(
        "qlp::too_deep",
        file,
        Span::new(at, at + len),
        "this declaration is nested too deeply",
    )
    .with_label("nesting limit reached here")
    .with_help("split the condition into `fn` helpers or `let` bindings")
}

// ---------------------------------------------------------------- parse errors

/// A parse error in one declaration (`text`, at `offset` in the file); `after`
/// is the rest of the file, where the next declaration starts.
fn parse_error(
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
fn first_token(rest: &str) -> &str {
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
        Rule::exempt_cancels | Rule::kw_cancels => "`cancels:`",
        Rule::action | Rule::action_label | Rule::action_suspend | Rule::action_kind => {
            "an action (`label(\"...\")`, `limit`, `review`, `remove`, `block`, `suspend(7d)` or `ban`)"
        }
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

// ---------------------------------------------------------------- building the AST

static PRATT: LazyLock<PrattParser<Rule>> = LazyLock::new(|| {
    PrattParser::new()
        .op(Op::infix(Rule::op_or, Assoc::Left))
        .op(Op::infix(Rule::op_and, Assoc::Left))
        .op(Op::prefix(Rule::op_not))
        .op(Op::infix(Rule::op_eq, Assoc::Left)
            | Op::infix(Rule::op_ne, Assoc::Left)
            | Op::infix(Rule::op_lt, Assoc::Left)
            | Op::infix(Rule::op_le, Assoc::Left)
            | Op::infix(Rule::op_gt, Assoc::Left)
            | Op::infix(Rule::op_ge, Assoc::Left)
            | Op::infix(Rule::op_in, Assoc::Left)
            | Op::infix(Rule::op_has_any, Assoc::Left)
            | Op::infix(Rule::op_matches, Assoc::Left)
            | Op::postfix(Rule::op_is_some)
            | Op::postfix(Rule::op_is_none))
        .op(Op::infix(Rule::op_coalesce, Assoc::Left))
        .op(Op::infix(Rule::op_add, Assoc::Left) | Op::infix(Rule::op_sub, Assoc::Left))
        .op(Op::infix(Rule::op_mul, Assoc::Left)
            | Op::infix(Rule::op_div, Assoc::Left)
            | Op::infix(Rule::op_rem, Assoc::Left))
        .op(Op::prefix(Rule::op_neg))
        .op(Op::postfix(Rule::op_field))
});

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
                    fields.push(FieldDecl {
                        name,
                        ty,
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
                let ty = self.ident(parts.next().expect("given type"));
                let value = self.record_value(parts.next().expect("given value"))?;
                TestItem::Given { ty, value }
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
        match parse_time(pair.as_str()) {
            Ok(micros) => Some(TimeLit {
                micros,
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
            Ok(micros) => Some(micros),
            Err(message) => {
                self.error("qlp::bad_duration", span, message).help =
                    Some(String::from("durations are at most about 290,000 years"));
                None
            }
        }
    }

    fn expr(&mut self, pair: Pair<'_, Rule>) -> Option<Expr> {
        self.expr_depth(pair).map(|(expr, _)| expr)
    }

    fn expr_depth(&mut self, pair: Pair<'_, Rule>) -> Built {
        let span = self.span(&pair);
        let pairs = pair.into_inner();
        let mut run = 0usize;
        for p in pairs.clone() {
            if matches!(p.as_rule(), Rule::op_not | Rule::op_neg) {
                run += 1;
                if run > MAX_EXPR_DEPTH as usize {
                    self.diagnostics.push(too_deep(self.file, span.start as usize, 1));
                    return None;
                }
            } else {
                run = 0;
            }
        }
        let too_deep = std::cell::Cell::new(false);
        let unknown = std::cell::Cell::new(false);
        let built = self.pratt(pairs, &too_deep, &unknown);
        if unknown.get() {
            self.diagnostics.push(
                Diagnostic::error(
                    "qlp::parse_error",
                    self.file,
                    span,
                    "internal error: an operator the parser does not know",
                )
                .with_label("in this expression")
                .with_help("this is a bug in qlp: please report it with the expression"),
            );
            return None;
        }
        if too_deep.get() {
            self.diagnostics.push(
                Diagnostic::error(
                    "qlp::too_deep",
                    self.file,
                    span,
                    format!("expression is nested more than {MAX_EXPR_DEPTH} levels deep"),
                )
                .with_label("this expression")
                .with_help("split the condition into `fn` helpers or `let` bindings"),
            );
            return None;
        }
        built
    }

    /// Builds an expression with the Pratt parser. A tree deeper than
    /// [`MAX_EXPR_DEPTH`] is abandoned as soon as it gets there (and
    /// `too_deep` set), so that no deep tree is ever built or dropped.
    fn pratt(
        &mut self,
        pairs: Pairs<'_, Rule>,
        too_deep: &std::cell::Cell<bool>,
        unknown: &std::cell::Cell<bool>,
    ) -> Built {
        // The closures below all need `self`; pest's API takes them together,
        // so they share it through a cell.
        let this = std::cell::RefCell::new(self);
        let built = PRATT
            .map_primary(|pair| this.borrow_mut().primary(pair))
            .map_prefix(|op, operand| {
                let (operand, depth) = operand?;
                let b = this.borrow();
                let span = b.span(&op).to(operand.span);
                let op = if op.as_rule() == Rule::op_not {
                    UnaryOp::Not
                } else {
                    UnaryOp::Neg
                };
                Some((
                    Expr {
                        kind: ExprKind::Unary(op, Box::new(operand)),
                        span,
                    },
                    depth + 1,
                ))
                .filter(|(_, depth)| limit(*depth, too_deep))
            })
            .map_postfix(|operand, op| {
                let (operand, depth) = operand?;
                let b = this.borrow();
                let span = operand.span.to(b.span(&op));
                let kind = match op.as_rule() {
                    Rule::op_is_some => ExprKind::IsSome {
                        operand: Box::new(operand),
                        negated: false,
                    },
                    Rule::op_is_none => ExprKind::IsSome {
                        operand: Box::new(operand),
                        negated: true,
                    },
                    _ => {
                        let name = b.ident(op.into_inner().next().expect("field name"));
                        ExprKind::Field(Box::new(operand), name)
                    }
                };
                Some((Expr { kind, span }, depth + 1)).filter(|(_, depth)| limit(*depth, too_deep))
            })
            .map_infix(|lhs, op, rhs| {
                let (lhs, lhs_depth) = lhs?;
                let (rhs, rhs_depth) = rhs?;
                let op = match op.as_rule() {
                    Rule::op_or => BinaryOp::Or,
                    Rule::op_and => BinaryOp::And,
                    Rule::op_eq => BinaryOp::Eq,
                    Rule::op_ne => BinaryOp::Ne,
                    Rule::op_lt => BinaryOp::Lt,
                    Rule::op_le => BinaryOp::Le,
                    Rule::op_gt => BinaryOp::Gt,
                    Rule::op_ge => BinaryOp::Ge,
                    Rule::op_in => BinaryOp::In,
                    Rule::op_has_any => BinaryOp::HasAny,
                    Rule::op_matches => BinaryOp::Matches,
                    Rule::op_coalesce => BinaryOp::Coalesce,
                    Rule::op_add => BinaryOp::Add,
                    Rule::op_sub => BinaryOp::Sub,
                    Rule::op_mul => BinaryOp::Mul,
                    Rule::op_div => BinaryOp::Div,
                    Rule::op_rem => BinaryOp::Rem,
                    // INVARIANT: the grammar's infix rules are the ones above;
                    // anything else abandons the expression with a diagnostic.
                    _ => {
                        unknown.set(true);
                        return None;
                    }
                };
                let span = lhs.span.to(rhs.span);
                Some((
                    Expr {
                        kind: ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)),
                        span,
                    },
                    lhs_depth.max(rhs_depth) + 1,
                ))
                .filter(|(_, depth)| limit(*depth, too_deep))
            })
            .parse(pairs);
        built
    }

    fn primary(&mut self, pair: Pair<'_, Rule>) -> Built {
        let span = self.span(&pair);
        let leaf = |kind| Some((Expr { kind, span }, 1));
        match pair.as_rule() {
            Rule::int => {
                let digits: String = pair.as_str().chars().filter(|c| *c != '_').collect();
                match digits.parse::<i64>() {
                    Ok(value) => leaf(ExprKind::Int(value)),
                    Err(_) => {
                        self.error("qlp::number_out_of_range", span, "integer literal is out of range")
                            .help = Some(String::from("integers are 64-bit: at most 9223372036854775807"));
                        None
                    }
                }
            }
            Rule::float => match pair.as_str().parse::<f64>() {
                Ok(value) if value.is_finite() => leaf(ExprKind::Float(value)),
                _ => {
                    self.error("qlp::number_out_of_range", span, "float literal is out of range")
                        .help = Some(String::from("floats are 64-bit: at most about 1.8e308"));
                    None
                }
            },
            Rule::time => self.time_lit(pair).and_then(|t| leaf(ExprKind::Time(t.micros))),
            Rule::duration => self.duration(&pair).and_then(|d| leaf(ExprKind::Duration(d))),
            Rule::string => self.string(pair).and_then(|s| leaf(ExprKind::Str(s.value))),
            Rule::bool => leaf(ExprKind::Bool(pair.as_str().trim() == "true")),
            Rule::now => leaf(ExprKind::Now),
            Rule::ident => leaf(ExprKind::Name(self.ident(pair))),
            Rule::paren => {
                let (inner, depth) = self.expr_depth(pair.into_inner().next().expect("paren body"))?;
                Some((
                    Expr {
                        kind: ExprKind::Paren(Box::new(inner)),
                        span,
                    },
                    depth + 1,
                ))
            }
            Rule::list_expr => {
                let mut items = Vec::new();
                let mut depth = 0;
                for p in pair.into_inner() {
                    let (item, d) = self.expr_depth(p)?;
                    depth = depth.max(d);
                    items.push(item);
                }
                Some((
                    Expr {
                        kind: ExprKind::List(items),
                        span,
                    },
                    depth + 1,
                ))
            }
            Rule::call => {
                let mut parts = pair.into_inner();
                let name = self.ident(parts.next().expect("callee"));
                let mut args = Vec::new();
                let mut depth = 0;
                for p in parts {
                    let (arg, d) = self.expr_depth(p)?;
                    depth = depth.max(d);
                    args.push(arg);
                }
                Some((
                    Expr {
                        kind: ExprKind::Call(name, args),
                        span,
                    },
                    depth + 1,
                ))
            }
            Rule::if_expr => {
                let mut parts = pair.into_inner().filter(|p| p.as_rule() == Rule::expr);
                let (cond, d1) = self.expr_depth(parts.next().expect("if condition"))?;
                let (then, d2) = self.expr_depth(parts.next().expect("then branch"))?;
                let (otherwise, d3) = self.expr_depth(parts.next().expect("else branch"))?;
                Some((
                    Expr {
                        kind: ExprKind::If(Box::new(cond), Box::new(then), Box::new(otherwise)),
                        span,
                    },
                    d1.max(d2).max(d3) + 1,
                ))
            }
            Rule::let_expr => {
                let mut parts = pair.into_inner();
                skip_keyword(&mut parts);
                let name = self.ident(parts.next().expect("let name"));
                let (value, d1) = self.expr_depth(parts.next().expect("let value"))?;
                let (body, d2) = self.expr_depth(parts.next().expect("let body"))?;
                Some((
                    Expr {
                        kind: ExprKind::Let(name, Box::new(value), Box::new(body)),
                        span,
                    },
                    d1.max(d2) + 1,
                ))
            }
            Rule::quantifier => {
                let mut parts = pair.into_inner();
                let word = parts.next().expect("quantifier kind");
                let kind = match word.as_str().trim() {
                    "any" => QuantifierKind::Any,
                    "all" => QuantifierKind::All,
                    "count" => QuantifierKind::Count,
                    // INVARIANT: the grammar's quantifiers are the three above.
                    other => {
                        let span = self.span(&word);
                        self.error(
                            "qlp::parse_error",
                            span,
                            format!("internal error: unknown quantifier `{other}`"),
                        );
                        return None;
                    }
                };
                let var = self.ident(parts.next().expect("quantifier variable"));
                skip_keyword(&mut parts);
                let (list, d1) = self.expr_depth(parts.next().expect("quantifier list"))?;
                let (predicate, d2) = self.expr_depth(parts.next().expect("quantifier predicate"))?;
                Some((
                    Expr {
                        kind: ExprKind::Quantifier {
                            kind,
                            var,
                            list: Box::new(list),
                            predicate: Box::new(predicate),
                        },
                        span,
                    },
                    d1.max(d2) + 1,
                ))
            }
            _ => self.expr_depth(pair),
        }
    }
}

/// Whether `depth` is within [`MAX_EXPR_DEPTH`]; records it in `too_deep` if not.
fn limit(depth: u32, too_deep: &std::cell::Cell<bool>) -> bool {
    if depth > MAX_EXPR_DEPTH {
        too_deep.set(true);
        false
    } else {
        true
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
