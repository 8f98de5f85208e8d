//! Hover and go to definition, from the last version of the set that checked.

use qlp_compiler::program::TExprKind;

use super::*;

/// The innermost typed expression at a position of an open or saved file,
/// with the program it belongs to and the file's text.
pub(super) fn expression_at<'p>(
    documents: &'p Documents,
    at: &lsp_types::TextDocumentPositionParams,
) -> Option<(
    &'p qlp_compiler::Program,
    &'p qlp_compiler::program::TExpr,
    String,
    PathBuf,
)> {
    let (program, root) = documents.program.as_ref()?;
    let path = path_of(&at.text_document.uri)?;
    let (file, source) = program
        .sources
        .files()
        .find(|(_, f)| canonical(root, &f.name).as_deref() == Some(path.as_path()))?;
    let offset = offset_of(&source.text, at.position)?;
    let mut roots: Vec<&qlp_compiler::program::TExpr> = Vec::new();
    roots.extend(
        program
            .rules
            .iter()
            .filter(|r| r.location.file == file)
            .map(|r| &r.when),
    );
    roots.extend(
        program
            .exemptions
            .iter()
            .filter(|e| e.location.file == file)
            .map(|e| &e.when),
    );
    roots.extend(program.fns.iter().filter(|f| f.location.file == file).map(|f| &f.body));
    for state in program.states.iter().filter(|s| s.location.file == file) {
        roots.extend(state.exprs());
    }
    let mut best: Option<&qlp_compiler::program::TExpr> = None;
    let mut stack = roots;
    while let Some(expr) = stack.pop() {
        let (start, end) = (expr.span.start as usize, expr.span.end as usize);
        if start <= offset && offset <= end {
            if best.is_none_or(|b| (b.span.end - b.span.start) >= (expr.span.end - expr.span.start)) {
                best = Some(expr);
            }
            stack.extend(expr.children());
        }
    }
    Some((program, best?, source.text.clone(), path))
}

pub(super) fn hover(documents: &Documents, at: &lsp_types::TextDocumentPositionParams) -> Option<lsp_types::Hover> {
    let (value, text, span) = match expression_at(documents, at) {
        Some((program, expr, text, _)) => {
            let (_, root) = documents.program.as_ref()?;
            let source = text.get(expr.span.start as usize..expr.span.end as usize).unwrap_or("");
            let source: String = source.split_whitespace().collect::<Vec<_>>().join(" ");
            let mut value = format!("`{source}`: `{}`", expr.ty.display(program));
            let about = match &expr.kind {
                TExprKind::HasAny(_, set) => program
                    .keyword_sets
                    .get(set.0 as usize)
                    .map(|set| keyword_set(program, root, set)),
                TExprKind::Field(base, index) => match base.ty.strip_optional() {
                    qlp_compiler::Type::Record(record) => program.record(*record).and_then(|def| {
                        let field = def.fields.get(*index as usize)?;
                        let comment = doc_comment(program, def.location.file, field.span);
                        Some(format!("field of `{}`{}", def.name, comment))
                    }),
                    _ => None,
                },
                TExprKind::Call(id, _) => program
                    .fns
                    .get(id.0 as usize)
                    .map(|f| declaration(program, &f.location)),
                TExprKind::Builtin(..) => word_at(&text, offset_of(&text, at.position)?)
                    .and_then(|word| qlp_compiler::builtins::find(&word))
                    .map(|b| format!("built-in: {}", b.signature)),
                _ => None,
            };
            if let Some(about) = about {
                value.push_str("\n\n");
                value.push_str(&about);
            }
            (value, text, (expr.span.start as usize, expr.span.end as usize))
        }
        None => declaration_hover(documents, at)?,
    };
    Some(lsp_types::Hover {
        contents: lsp_types::HoverContents::Markup(lsp_types::MarkupContent {
            kind: lsp_types::MarkupKind::Markdown,
            value,
        }),
        range: Some(range(&text, span.0, span.1)),
    })
}

/// Hover on a name outside expressions: a declaration's own name, a campaign
/// after `campaign:`, a rule after `cancels:` or `expect`, a type.
fn declaration_hover(
    documents: &Documents,
    at: &lsp_types::TextDocumentPositionParams,
) -> Option<(String, String, (usize, usize))> {
    let (program, root) = documents.program.as_ref()?;
    let (_, text) = text_of(documents, &at.text_document.uri)?;
    let offset = offset_of(&text, at.position)?;
    let (start, end) = word_bounds(&text, offset)?;
    let word = text.get(start..end)?;
    let value = if let Some(c) = program.campaigns.iter().find(|c| c.name == word) {
        let mut value = format!("campaign `{}`", c.name);
        if let Some(title) = &c.title {
            value.push_str(&format!(": {title}"));
        }
        // The period as written (dates are read in the set's time zone).
        let written = written(program, &c.location)
            .lines()
            .find_map(|l| l.trim().strip_prefix("active:"))
            .map(|period| period.split("//").next().unwrap_or("").trim().to_string());
        if let Some(period) = written {
            value.push_str(&format!("\n\nactive {period}"));
        }
        if let Some(max) = c.max_action {
            value.push_str(&format!(", at most `{}`", max.as_str()));
        }
        value.push_str(&doc_comment(program, c.location.file, c.location.span));
        value
    } else if let Some(r) = program.rules.iter().find(|r| r.name == word) {
        declaration(program, &r.location)
    } else if let Some(k) = program.keyword_sets.iter().find(|k| k.name == word) {
        keyword_set(program, root, k)
    } else if let Some(f) = program.fns.iter().find(|f| f.name == word) {
        declaration(program, &f.location)
    } else if let Some(r) = program.records.iter().find(|r| r.name == word) {
        let fields: Vec<String> = r
            .fields
            .iter()
            .map(|f| format!("  {}: {}", f.name, f.ty.display(program)))
            .collect();
        format!(
            "```qlp\nrecord {} {{\n{}\n}}\n```{}",
            r.name,
            fields.join("\n"),
            doc_comment(program, r.location.file, r.location.span)
        )
    } else if let Some(e) = program.enums.iter().find(|e| e.name == word) {
        format!("```qlp\nenum {} {{ {} }}\n```", e.name, e.variants.join(", "))
    } else if let Some(s) = program.states.iter().find(|s| s.name == word) {
        declaration(program, &s.location)
    } else if let Some(b) = qlp_compiler::builtins::find(word) {
        format!("built-in: {}", b.signature)
    } else {
        return None;
    };
    Some((value, text.clone(), (start, end)))
}

/// A keyword set: its size and where its words come from.
fn keyword_set(program: &qlp_compiler::Program, root: &Path, set: &qlp_compiler::program::KeywordSet) -> String {
    let file = program
        .sources
        .get(set.location.file)
        .and_then(|f| canonical(root, &f.name))
        .map(|p| {
            p.strip_prefix(root)
                .map(Path::to_path_buf)
                .unwrap_or(p)
                .display()
                .to_string()
        })
        .unwrap_or_default();
    let declared = written(program, &set.location).lines().next().unwrap_or("");
    let declared: String = declared.chars().take(120).collect();
    format!(
        "keyword set `{}`: {} keyword(s), declared in `{file}`\n\n```qlp\n{declared}\n```",
        set.name,
        set.entries.len()
    )
}

/// A declaration as written.
fn written<'p>(program: &'p qlp_compiler::Program, location: &qlp_compiler::program::Location) -> &'p str {
    program
        .sources
        .get(location.file)
        .and_then(|f| f.text.get(location.span.start as usize..location.span.end as usize))
        .unwrap_or("")
}

/// The first line of a declaration, as written, with the comment above it.
fn declaration(program: &qlp_compiler::Program, location: &qlp_compiler::program::Location) -> String {
    let header = written(program, location)
        .lines()
        .next()
        .unwrap_or("")
        .trim_end_matches('{')
        .trim_end();
    format!(
        "```qlp\n{header}\n```{}",
        doc_comment(program, location.file, location.span)
    )
}

/// The `//` lines right above `span`, as a paragraph ("" if none).
fn doc_comment(program: &qlp_compiler::Program, file: qlp_grammar::FileId, span: qlp_grammar::Span) -> String {
    let Some(text) = program
        .sources
        .get(file)
        .and_then(|f| f.text.get(..span.start as usize))
    else {
        return String::new();
    };
    let mut lines: Vec<&str> = Vec::new();
    // The text before the declaration on its own line is indentation only.
    let mut rest = text.get(..text.rfind('\n').map_or(0, |i| i + 1)).unwrap_or("");
    while let Some(line) = rest.strip_suffix('\n').map(|r| (r, r.rfind('\n').map_or(0, |i| i + 1))) {
        let (before, line_start) = line;
        let Some(comment) = before.get(line_start..).and_then(|l| l.trim().strip_prefix("//")) else {
            break;
        };
        lines.push(comment.trim());
        rest = before.get(..line_start).unwrap_or("");
    }
    if lines.is_empty() {
        return String::new();
    }
    lines.reverse();
    format!("\n\n{}", lines.join(" "))
}

/// The bounds of the identifier at `offset`.
fn word_bounds(text: &str, offset: usize) -> Option<(usize, usize)> {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let start = text
        .get(..offset)?
        .char_indices()
        .rev()
        .find(|(_, c)| !is_word(*c))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let end = text
        .get(offset..)?
        .char_indices()
        .find(|(_, c)| !is_word(*c))
        .map_or(text.len(), |(i, _)| offset + i);
    (start < end).then_some((start, end))
}

pub(super) fn word_at(text: &str, offset: usize) -> Option<String> {
    let (start, end) = word_bounds(text, offset)?;
    text.get(start..end).map(str::to_string)
}

/// Where the field, function or keyword set at a position is declared.
fn expression_definition(documents: &Documents, at: &lsp_types::TextDocumentPositionParams) -> Option<Location> {
    let (program, expr, _, _) = expression_at(documents, at)?;
    let (file, span) = match &expr.kind {
        TExprKind::Field(base, index) => {
            let qlp_compiler::Type::Record(record) = base.ty.strip_optional() else {
                return None;
            };
            let def = program.record(*record)?;
            let field = def.fields.get(*index as usize)?;
            // The field's name (its declaration's span runs on to the next line).
            let name = qlp_grammar::Span::new(field.span.start as usize, field.span.start as usize + field.name.len());
            (def.location.file, name)
        }
        TExprKind::Call(id, _) => {
            let def = program.fns.get(id.0 as usize)?;
            (def.location.file, def.location.span)
        }
        TExprKind::HasAny(_, set) => {
            let def = program.keyword_sets.get(set.0 as usize)?;
            (def.location.file, def.location.span)
        }
        TExprKind::State(id) => {
            let def = program.states.get(id.index())?;
            (def.location.file, def.location.span)
        }
        _ => return None,
    };
    location_of(documents, program, file, span)
}

/// Go to definition: from an expression (fields, functions, keyword sets,
/// state), else from the name under the cursor (rules, campaigns, types,
/// enum variants, constants).
pub(super) fn definition(documents: &Documents, at: &lsp_types::TextDocumentPositionParams) -> Option<Location> {
    if let Some(location) = expression_definition(documents, at) {
        return Some(location);
    }
    let (program, _) = documents.program.as_ref()?;
    let (_, text) = text_of(documents, &at.text_document.uri)?;
    let word = word_at(&text, offset_of(&text, at.position)?)?;
    let declared = declared_at(program, &word)?;
    location_of(documents, program, declared.file, declared.span)
}

fn location_of(
    documents: &Documents,
    program: &qlp_compiler::Program,
    file: qlp_grammar::FileId,
    span: qlp_grammar::Span,
) -> Option<Location> {
    let (_, root) = documents.program.as_ref()?;
    let source = program.sources.get(file)?;
    let uri = uri_of(&canonical(root, &source.name)?)?;
    Some(Location::new(
        uri,
        range(&source.text, span.start as usize, span.end as usize),
    ))
}
