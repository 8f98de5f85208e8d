//! Semantic tokens: every name classified by what it names in the last
//! version of the set that checked (record and enum types, enum variants,
//! fields, functions, rules, campaigns, keyword sets, constants, state),
//! plus keywords, literals and comments, so an editor colours a variant
//! differently from a field of the same spelling.

use lsp_types::{SemanticToken, SemanticTokenModifier, SemanticTokenType, SemanticTokensLegend};

use super::*;

/// The token types, in the order of their indices in the legend.
const TYPES: [SemanticTokenType; 13] = [
    SemanticTokenType::KEYWORD,
    SemanticTokenType::TYPE,
    SemanticTokenType::ENUM,
    SemanticTokenType::ENUM_MEMBER,
    SemanticTokenType::FUNCTION,
    SemanticTokenType::PROPERTY,
    SemanticTokenType::VARIABLE,
    SemanticTokenType::STRING,
    SemanticTokenType::NUMBER,
    SemanticTokenType::COMMENT,
    SemanticTokenType::NAMESPACE,
    SemanticTokenType::METHOD,
    SemanticTokenType::OPERATOR,
];

#[derive(Clone, Copy)]
enum Kind {
    Keyword,
    Type,
    Enum,
    Variant,
    Function,
    Field,
    Variable,
    String,
    Number,
    Comment,
    Campaign,
    Rule,
}

/// Modifier bits: `declaration`, `readonly`, `defaultLibrary`.
const DECLARATION: u32 = 1;
const READONLY: u32 = 2;
const LIBRARY: u32 = 4;

pub(super) fn legend() -> SemanticTokensLegend {
    SemanticTokensLegend {
        token_types: TYPES.to_vec(),
        token_modifiers: vec![
            SemanticTokenModifier::DECLARATION,
            SemanticTokenModifier::READONLY,
            SemanticTokenModifier::DEFAULT_LIBRARY,
        ],
    }
}

/// Items of a state declaration, keywords only there.
const STATE_ITEMS: &[&str] = &["key", "of", "id", "time", "window", "bucket", "ttl"];

const PRIMITIVES: &[&str] = &["bool", "int", "float", "string", "time", "duration"];

pub(super) fn semantic_tokens(documents: &Documents, uri: &Uri) -> Option<Vec<SemanticToken>> {
    let (_, text) = text_of(documents, uri)?;
    let program = documents.program.as_ref().map(|(p, _)| &**p);
    let mut out = Vec::new();
    let mut last = (0u32, 0u32);
    // Where the current line starts, and its number: positions are counted
    // as the text is read, not from the start for each token.
    let mut line = 0u32;
    let mut line_start = 0usize;
    let mut push = |line: u32, line_start: usize, (start, end): (usize, usize), kind: Kind, modifiers: u32| {
        let character = text.get(line_start..start).map_or(0, |t| t.encode_utf16().count()) as u32;
        let length = text.get(start..end).map_or(0, |t| t.encode_utf16().count()) as u32;
        let delta_line = line - last.0;
        let delta_start = if delta_line == 0 { character - last.1 } else { character };
        out.push(SemanticToken {
            delta_line,
            delta_start,
            length,
            token_type: kind as u32,
            token_modifiers_bitset: modifiers,
        });
        last = (line, character);
    };
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    // The declaration word of the top-level item being read.
    let mut declaration = "";
    let mut previous_word = "";
    // The last two significant characters before the current one (a word,
    // number or string counts as one), comments and spaces skipped.
    let mut recent = String::new();
    let note = |recent: &mut String, c: char| {
        recent.push(c);
        if recent.chars().count() > 2 {
            recent.remove(0);
        }
    };
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\n' => {
                line += 1;
                line_start = i + 1;
            }
            '/' if text.get(i..).is_some_and(|r| r.starts_with("//")) => {
                let mut end = i;
                while let Some((j, d)) = chars.next_if(|&(_, d)| d != '\n') {
                    end = j + d.len_utf8();
                }
                push(line, line_start, (i, end.max(i + 2)), Kind::Comment, 0);
            }
            '"' => {
                let mut end = i + 1;
                let mut escaped = false;
                while let Some((j, d)) = chars.next_if(|&(_, d)| d != '\n') {
                    end = j + d.len_utf8();
                    match d {
                        _ if escaped => escaped = false,
                        '\\' => escaped = true,
                        '"' => break,
                        _ => {}
                    }
                }
                push(line, line_start, (i, end), Kind::String, 0);
                note(&mut recent, '"');
            }
            c if c.is_ascii_digit() => {
                let mut end = i + 1;
                while let Some((j, d)) = chars.next_if(|&(_, d)| d.is_alphanumeric() || "_-:.+".contains(d)) {
                    end = j + d.len_utf8();
                }
                push(line, line_start, (i, end), Kind::Number, 0);
                note(&mut recent, '0');
            }
            c if is_word(c) => {
                let mut end = i + c.len_utf8();
                while let Some((j, d)) = chars.next_if(|&(_, d)| is_word(d)) {
                    end = j + d.len_utf8();
                }
                let word = text.get(i..end).unwrap_or("");
                let after = text.get(end..).map_or("", str::trim_start);
                if i == line_start {
                    declaration = word;
                }
                let first_on_line = text.get(line_start..i).is_some_and(|t| t.trim().is_empty());
                let (kind, modifiers) = classify(
                    program,
                    word,
                    (&recent, after),
                    (declaration, previous_word),
                    first_on_line,
                );
                if let Some(kind) = kind {
                    push(line, line_start, (i, end), kind, modifiers);
                }
                previous_word = word;
                note(&mut recent, 'w');
            }
            c if c.is_whitespace() => {}
            c => note(&mut recent, c),
        }
    }
    Some(out)
}

/// What a word is, from what is around it and the names of the set.
fn classify(
    program: Option<&qlp_compiler::Program>,
    word: &str,
    (before, after): (&str, &str),
    (declaration, previous): (&str, &str),
    first_on_line: bool,
) -> (Option<Kind>, u32) {
    let declares = matches!(
        previous,
        "rule"
            | "exempt"
            | "fn"
            | "record"
            | "enum"
            | "campaign"
            | "keywords"
            | "const"
            | "counter"
            | "distinct"
            | "first_seen"
            | "tag"
    ) && !before.ends_with(['(', ':']);
    if before.ends_with('.') && !before.ends_with("..") {
        return (Some(Kind::Field), 0);
    }
    let named = program.and_then(|p| lookup(p, word));
    if let Some(kind) = named {
        let field_position = after.starts_with(':') && !after.starts_with("::") && !declares;
        if !field_position || declaration == "campaign" {
            return (Some(kind), if declares { DECLARATION } else { 0 } | readonly(kind));
        }
    }
    if declares {
        let kind = match previous {
            "record" => Kind::Type,
            "enum" => Kind::Enum,
            "campaign" => Kind::Campaign,
            "rule" | "exempt" => Kind::Rule,
            "keywords" | "const" => Kind::Variable,
            _ => Kind::Function,
        };
        return (Some(kind), DECLARATION | readonly(kind));
    }
    if PRIMITIVES.contains(&word) && (before.ends_with(':') || before.ends_with('[') || before.ends_with("->")) {
        return (Some(Kind::Type), LIBRARY);
    }
    if qlp_compiler::builtins::find(word).is_some() && after.starts_with('(') {
        return (Some(Kind::Function), LIBRARY);
    }
    let state_item = STATE_ITEMS.contains(&word)
        && matches!(declaration, "counter" | "distinct" | "first_seen" | "tag")
        && after.starts_with(':');
    let record_field =
        after.starts_with(':') && (declaration == "record" || before.ends_with('{') || before.ends_with(','));
    if record_field && !state_item && !(first_on_line && declaration != "record") {
        return (Some(Kind::Field), if declaration == "record" { DECLARATION } else { 0 });
    }
    if qlp_grammar::parse::WORDS.contains(&word) || state_item {
        return (Some(Kind::Keyword), 0);
    }
    (Some(Kind::Variable), 0)
}

fn readonly(kind: Kind) -> u32 {
    match kind {
        Kind::Variable => READONLY,
        _ => 0,
    }
}

/// What a name of the set names.
fn lookup(program: &qlp_compiler::Program, word: &str) -> Option<Kind> {
    if program.records.iter().any(|r| r.name == word) {
        Some(Kind::Type)
    } else if program.enums.iter().any(|e| e.name == word) {
        Some(Kind::Enum)
    } else if program.enums.iter().any(|e| e.variants.iter().any(|v| v == word)) {
        Some(Kind::Variant)
    } else if program.rules.iter().any(|r| r.name == word) || program.exemptions.iter().any(|e| e.name == word) {
        Some(Kind::Rule)
    } else if program.campaigns.iter().any(|c| c.name == word) {
        Some(Kind::Campaign)
    } else if program.fns.iter().any(|f| f.name == word) || program.states.iter().any(|s| s.name == word) {
        Some(Kind::Function)
    } else if program.keyword_sets.iter().any(|k| k.name == word) || program.consts.iter().any(|c| c.name == word) {
        Some(Kind::Variable)
    } else {
        None
    }
}
