//! Completion.

use lsp_types::{CompletionItem, CompletionItemKind};

use super::*;

/// Completion, by what the cursor follows: after `name.field.` the fields of
/// that record (resolved from the enclosing rule's, exemption's or state's
/// parameter); after `==`, `!=` or `in [` on an enum, its variants; after
/// `has_any`, keyword sets; after `campaign:`, campaigns; after `cancels:`
/// and `expect`, rules; at the start of a line, declaration snippets;
/// elsewhere built-in functions, the set's functions, constants and keyword
/// sets. Names come from the last version of the set that checked.
pub(super) fn complete(
    documents: &Documents,
    at: &lsp_types::TextDocumentPositionParams,
) -> Option<Vec<CompletionItem>> {
    let (program, root) = documents.program.as_ref()?;
    let (path, text) = text_of(documents, &at.text_document.uri)?;
    let offset = offset_of(&text, at.position)?;
    let before = text.get(..offset)?;
    // The word being typed, and what is before it on its line.
    let word_start = before
        .char_indices()
        .rev()
        .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let chain_text = before.get(..word_start)?;
    let line = chain_text.get(chain_text.rfind('\n').map_or(0, |i| i + 1)..)?;
    let context = Context {
        program,
        root,
        path: &path,
        text: &text,
        offset,
    };
    if let Some(chain) = chain_text.strip_suffix('.') {
        let ty = context.chain_type(last_chain(chain))?;
        let qlp_compiler::Type::Record(id) = ty.strip_optional() else {
            return Some(Vec::new());
        };
        let def = program.record(*id)?;
        return Some(
            def.fields
                .iter()
                .map(|field| {
                    item(
                        &field.name,
                        CompletionItemKind::FIELD,
                        Some(field.ty.display(program).to_string()),
                    )
                })
                .collect(),
        );
    }
    let trimmed = line.trim();
    if trimmed.ends_with("campaign:") {
        return Some(names(
            program.campaigns.iter().map(|c| c.name.as_str()),
            CompletionItemKind::MODULE,
        ));
    }
    if trimmed.starts_with("cancels:") {
        let mut items = names(
            program.rules.iter().map(|r| r.name.as_str()),
            CompletionItemKind::METHOD,
        );
        items.extend(
            program
                .campaigns
                .iter()
                .map(|c| item(&format!("campaign {}", c.name), CompletionItemKind::MODULE, None)),
        );
        return Some(items);
    }
    if trimmed.starts_with("expect") {
        let mut items = names(
            program.rules.iter().map(|r| r.name.as_str()),
            CompletionItemKind::METHOD,
        );
        items.extend(["not", "error", "nothing", "verdict:"].map(|w| item(w, CompletionItemKind::KEYWORD, None)));
        return Some(items);
    }
    if trimmed.ends_with("has_any") {
        return Some(keyword_sets(program));
    }
    if let Some(operand) = enum_operand(trimmed) {
        if let Some(qlp_compiler::Type::Enum(id)) = context.chain_type(operand).as_ref().map(|t| t.strip_optional()) {
            let def = program.enum_def(*id)?;
            return Some(
                def.variants
                    .iter()
                    .map(|v| item(v, CompletionItemKind::ENUM_MEMBER, Some(def.name.clone())))
                    .collect(),
            );
        }
    }
    if line.trim_start().is_empty() && !line.starts_with([' ', '\t']) {
        return Some(snippets());
    }
    let mut items: Vec<CompletionItem> = qlp_compiler::builtins::BUILTINS
        .iter()
        .map(|b| item(b.name, CompletionItemKind::FUNCTION, Some(b.signature.to_string())))
        .collect();
    items.extend(
        program
            .fns
            .iter()
            .map(|f| item(&f.name, CompletionItemKind::FUNCTION, None)),
    );
    items.extend(
        program
            .consts
            .iter()
            .map(|c| item(&c.name, CompletionItemKind::CONSTANT, None)),
    );
    items.extend(keyword_sets(program));
    Some(items)
}

fn item(label: &str, kind: CompletionItemKind, detail: Option<String>) -> CompletionItem {
    CompletionItem {
        label: label.to_string(),
        kind: Some(kind),
        detail,
        ..CompletionItem::default()
    }
}

fn names<'a>(names: impl Iterator<Item = &'a str>, kind: CompletionItemKind) -> Vec<CompletionItem> {
    names.map(|name| item(name, kind, None)).collect()
}

fn keyword_sets(program: &qlp_compiler::Program) -> Vec<CompletionItem> {
    program
        .keyword_sets
        .iter()
        .map(|k| {
            item(
                &k.name,
                CompletionItemKind::CONSTANT,
                Some(format!("{} keyword(s)", k.entries.len())),
            )
        })
        .collect()
}

/// The `a.b.c` chain that ends `text`.
fn last_chain(text: &str) -> &str {
    let start = text
        .char_indices()
        .rev()
        .find(|(_, c)| !(c.is_alphanumeric() || *c == '_' || *c == '.'))
        .map_or(0, |(i, c)| i + c.len_utf8());
    text.get(start..).unwrap_or("")
}

/// The operand of `x.kind == `, `x.kind != ` or `x.kind in [a, ` that ends a line.
fn enum_operand(line: &str) -> Option<&str> {
    let line = line.trim_end();
    if let Some(rest) = line.strip_suffix("==").or_else(|| line.strip_suffix("!=")) {
        return Some(last_chain(rest.trim_end())).filter(|c| !c.is_empty());
    }
    let open = line.rfind('[')?;
    let list = line.get(open + 1..)?;
    if list.contains(']') {
        return None;
    }
    let operand = line.get(..open)?.trim_end().strip_suffix("in")?;
    Some(last_chain(operand.trim_end())).filter(|c| !c.is_empty())
}

/// Declarations to start from, as snippets.
fn snippets() -> Vec<CompletionItem> {
    let snippet = |label: &str, body: &str, detail: &str| CompletionItem {
        label: label.to_string(),
        kind: Some(CompletionItemKind::SNIPPET),
        detail: Some(detail.to_string()),
        insert_text: Some(body.to_string()),
        insert_text_format: Some(lsp_types::InsertTextFormat::SNIPPET),
        ..CompletionItem::default()
    };
    vec![
        snippet(
            "rule",
            "rule ${1:name}(${2:c}: ${3:Content}) {\n  campaign: ${4:campaign}\n  when: ${5:true}\n  then: ${6:review}\n  reason: \"${7:why}\"\n}",
            "a rule",
        ),
        snippet(
            "test",
            "test \"${1:what it shows}\" {\n  given ${2:Content} { $3 }\n  expect ${4:rule}\n}",
            "a test",
        ),
        snippet(
            "campaign",
            "campaign ${1:name} {\n  title: \"${2:title}\"\n  active: ${3:2022-01-01} .. ${4:2022-12-31}\n}",
            "a campaign",
        ),
        snippet(
            "exempt",
            "exempt ${1:name}(${2:c}: ${3:Content}) {\n  when: ${4:true}\n  cancels: ${5:rule}\n  reason: \"${6:why}\"\n}",
            "an exemption",
        ),
    ]
}

/// Where the cursor is, for resolving names in the last set that checked.
struct Context<'a> {
    program: &'a qlp_compiler::Program,
    root: &'a Path,
    path: &'a Path,
    text: &'a str,
    offset: usize,
}

impl Context<'_> {
    /// The type of `param.field.field` in the declaration around the cursor.
    fn chain_type(&self, chain: &str) -> Option<qlp_compiler::Type> {
        let names: Vec<&str> = chain.split('.').collect();
        let (param, fields) = names.split_first()?;
        let record = enclosing_record(self.program, self.root, self.path, self.text, self.offset, param)?;
        let mut ty = qlp_compiler::Type::Record(record);
        for field in fields {
            let qlp_compiler::Type::Record(id) = ty.strip_optional() else {
                return None;
            };
            let def = self.program.record(*id)?;
            ty = def.fields.get(def.field_index(field)?)?.ty.clone();
        }
        Some(ty)
    }
}

/// The record type of `param` in the rule, exemption or state declaration
/// around `offset`: found by the declaration's span in the last set that
/// checked, and its parameter's name in the current text.
fn enclosing_record(
    program: &qlp_compiler::Program,
    root: &Path,
    path: &Path,
    text: &str,
    offset: usize,
    param: &str,
) -> Option<qlp_compiler::program::RecordId> {
    let (file, _) = program
        .sources
        .files()
        .find(|(_, f)| canonical(root, &f.name).as_deref() == Some(path))?;
    let declarations = program
        .rules
        .iter()
        .map(|r| (r.location, r.record))
        .chain(program.exemptions.iter().map(|e| (e.location, e.record)))
        .chain(program.states.iter().map(|s| (s.location, s.record)));
    let mut candidates: Vec<_> = declarations
        .filter(|(location, _)| location.file == file && (location.span.start as usize) <= offset)
        .collect();
    // The nearest declaration that starts before the cursor (edits since
    // the last check may have moved its end).
    candidates.sort_by_key(|(location, _)| std::cmp::Reverse(location.span.start));
    let (location, record) = candidates.into_iter().next()?;
    // Its parameter, as written: `rule name(param: Type)`.
    let header = text.get(location.span.start as usize..)?;
    let open = header.find('(')?;
    let colon = header.get(open..)?.find(':')? + open;
    (header.get(open + 1..colon)?.trim() == param).then_some(record)
}
