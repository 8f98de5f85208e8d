//! `qlp lsp`: a language server over stdio (lsp-server, lsp-types). This
//! first version checks the whole policy set as you type — the open
//! documents' unsaved text over the files on disk — and publishes every
//! diagnostic of check and lint with its code, help and related spans;
//! formats whole documents; lists each document's declarations; answers
//! hover (types), definition (fields, functions, keyword sets, state) and
//! completion (fields after `.`, functions, keyword sets) from the last
//! version of the set that checked.
//! Positions are UTF-16 code units, as LSP counts them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::str::FromStr;

use lsp_server::{Connection, Message, Notification, Request, Response};
use lsp_types::notification::Notification as _;
use lsp_types::request::Request as _;
use lsp_types::{
    Diagnostic as LspDiagnostic, DiagnosticRelatedInformation, DiagnosticSeverity, DocumentSymbol,
    DocumentSymbolResponse, Location, NumberOrString, Position, PublishDiagnosticsParams, Range, ServerCapabilities,
    SymbolKind, TextDocumentSyncCapability, TextDocumentSyncKind, TextEdit, Uri,
};
use qlp_compiler::load::FileKind;
use qlp_compiler::SourceLoader;
use qlp_grammar::ast::Item;
use qlp_grammar::{Diagnostic, FileId, Severity, SourceMap};

#[derive(clap::Args)]
pub struct LspArgs {}

/// Open documents, by canonical path: their unsaved text.
#[derive(Default)]
struct Documents {
    text: HashMap<PathBuf, String>,
    /// Files that had diagnostics last time, to clear them when fixed.
    published: HashMap<PathBuf, Uri>,
    /// The last policy set that checked, and its root: what hover and
    /// definition answer from.
    program: Option<(qlp_compiler::Program, PathBuf)>,
}

pub fn run(_args: &LspArgs) -> anyhow::Result<ExitCode> {
    let (connection, io_threads) = Connection::stdio();
    let capabilities = ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Kind(TextDocumentSyncKind::FULL)),
        document_formatting_provider: Some(lsp_types::OneOf::Left(true)),
        document_symbol_provider: Some(lsp_types::OneOf::Left(true)),
        hover_provider: Some(lsp_types::HoverProviderCapability::Simple(true)),
        definition_provider: Some(lsp_types::OneOf::Left(true)),
        completion_provider: Some(lsp_types::CompletionOptions {
            trigger_characters: Some(vec![String::from(".")]),
            ..lsp_types::CompletionOptions::default()
        }),
        ..ServerCapabilities::default()
    };
    connection.initialize(serde_json::to_value(capabilities)?)?;
    let mut documents = Documents::default();
    for message in &connection.receiver {
        match message {
            Message::Request(request) => {
                if connection.handle_shutdown(&request)? {
                    break;
                }
                let response = answer(&documents, request);
                connection.sender.send(Message::Response(response))?;
            }
            Message::Notification(notification) => {
                if let Some(path) = update(&mut documents, notification) {
                    for message in publish(&mut documents, &path) {
                        connection.sender.send(message)?;
                    }
                }
            }
            Message::Response(_) => {}
        }
    }
    drop(connection);
    io_threads.join()?;
    Ok(ExitCode::SUCCESS)
}

/// Applies a document notification; the path whose policy set to re-check.
fn update(documents: &mut Documents, notification: Notification) -> Option<PathBuf> {
    use lsp_types::notification::{
        DidChangeTextDocument, DidCloseTextDocument, DidOpenTextDocument, DidSaveTextDocument,
    };
    match notification.method.as_str() {
        DidOpenTextDocument::METHOD => {
            let params: lsp_types::DidOpenTextDocumentParams = serde_json::from_value(notification.params).ok()?;
            let path = path_of(&params.text_document.uri)?;
            documents.text.insert(path.clone(), params.text_document.text);
            Some(path)
        }
        DidChangeTextDocument::METHOD => {
            let params: lsp_types::DidChangeTextDocumentParams = serde_json::from_value(notification.params).ok()?;
            let path = path_of(&params.text_document.uri)?;
            // Full sync: the last change is the whole text.
            let text = params.content_changes.into_iter().last()?.text;
            documents.text.insert(path.clone(), text);
            Some(path)
        }
        DidSaveTextDocument::METHOD => {
            let params: lsp_types::DidSaveTextDocumentParams = serde_json::from_value(notification.params).ok()?;
            path_of(&params.text_document.uri)
        }
        DidCloseTextDocument::METHOD => {
            let params: lsp_types::DidCloseTextDocumentParams = serde_json::from_value(notification.params).ok()?;
            let path = path_of(&params.text_document.uri)?;
            documents.text.remove(&path);
            Some(path)
        }
        _ => None,
    }
}

fn answer(documents: &Documents, request: Request) -> Response {
    use lsp_types::request::{Completion, DocumentSymbolRequest, Formatting, GotoDefinition, HoverRequest};
    let id = request.id.clone();
    let result = match request.method.as_str() {
        Formatting::METHOD => serde_json::from_value::<lsp_types::DocumentFormattingParams>(request.params)
            .ok()
            .and_then(|params| format(documents, &params.text_document.uri))
            .map(|edits| serde_json::to_value(edits).unwrap_or_default()),
        DocumentSymbolRequest::METHOD => serde_json::from_value::<lsp_types::DocumentSymbolParams>(request.params)
            .ok()
            .and_then(|params| symbols(documents, &params.text_document.uri))
            .map(|symbols| serde_json::to_value(DocumentSymbolResponse::Nested(symbols)).unwrap_or_default()),
        HoverRequest::METHOD => serde_json::from_value::<lsp_types::HoverParams>(request.params)
            .ok()
            .and_then(|params| hover(documents, &params.text_document_position_params))
            .map(|hover| serde_json::to_value(hover).unwrap_or_default()),
        Completion::METHOD => serde_json::from_value::<lsp_types::CompletionParams>(request.params)
            .ok()
            .and_then(|params| complete(documents, &params.text_document_position))
            .map(|items| serde_json::to_value(items).unwrap_or_default()),
        GotoDefinition::METHOD => serde_json::from_value::<lsp_types::GotoDefinitionParams>(request.params)
            .ok()
            .and_then(|params| definition(documents, &params.text_document_position_params))
            .map(|location| serde_json::to_value(location).unwrap_or_default()),
        _ => {
            return Response::new_err(
                id,
                lsp_server::ErrorCode::MethodNotFound as i32,
                format!("`{}` is not supported yet", request.method),
            )
        }
    };
    Response::new_ok(id, result.unwrap_or(serde_json::Value::Null))
}

/// The text of a document: open (unsaved) or on disk.
fn text_of(documents: &Documents, uri: &Uri) -> Option<(PathBuf, String)> {
    let path = path_of(uri)?;
    let text = match documents.text.get(&path) {
        Some(text) => text.clone(),
        None => std::fs::read_to_string(&path).ok()?,
    };
    Some((path, text))
}

fn format(documents: &Documents, uri: &Uri) -> Option<Vec<TextEdit>> {
    let (_, text) = text_of(documents, uri)?;
    // A document that does not parse is left as it is.
    let formatted = qlp_grammar::format::format_source(&text, FileId(0)).ok()?;
    if formatted == text {
        return Some(Vec::new());
    }
    let end = position(&text, text.len());
    Some(vec![TextEdit {
        range: Range::new(Position::new(0, 0), end),
        new_text: formatted,
    }])
}

#[allow(deprecated)] // `DocumentSymbol::deprecated` must be given, as `None`.
fn symbols(documents: &Documents, uri: &Uri) -> Option<Vec<DocumentSymbol>> {
    let (_, text) = text_of(documents, uri)?;
    let (file, _) = qlp_grammar::parse::parse_file(&text, FileId(0));
    let symbols = file
        .items
        .iter()
        .filter_map(|item| {
            let name = item.name()?;
            let kind = match item {
                Item::Enum(_) => SymbolKind::ENUM,
                Item::Record(_) => SymbolKind::STRUCT,
                Item::Keywords(_) => SymbolKind::ARRAY,
                Item::Const(_) => SymbolKind::CONSTANT,
                Item::Fn(_) => SymbolKind::FUNCTION,
                Item::Campaign(_) => SymbolKind::NAMESPACE,
                Item::Rule(_) | Item::Exempt(_) => SymbolKind::METHOD,
                Item::State(_) => SymbolKind::VARIABLE,
                _ => return None,
            };
            let span = item.span();
            Some(DocumentSymbol {
                name: name.name.clone(),
                detail: None,
                kind,
                tags: None,
                deprecated: None,
                range: range(&text, span.start as usize, span.end as usize),
                selection_range: range(&text, name.span.start as usize, name.span.end as usize),
                children: None,
            })
        })
        .collect();
    Some(symbols)
}

/// Checks (and lints) the policy set `path` belongs to, with the open
/// documents' text, and publishes diagnostics for every file of it.
fn publish(documents: &mut Documents, path: &Path) -> Vec<Message> {
    let (diagnostics, sources, root, program) = match check(documents, path) {
        Ok(checked) => checked,
        Err(error) => {
            let message = lsp_server::Notification::new(
                lsp_types::notification::ShowMessage::METHOD.to_string(),
                lsp_types::ShowMessageParams {
                    typ: lsp_types::MessageType::ERROR,
                    message: format!("qlp: {error:#}"),
                },
            );
            return vec![Message::Notification(message)];
        }
    };
    let mut by_file: HashMap<PathBuf, (Uri, Vec<LspDiagnostic>)> = HashMap::new();
    for (_, source) in sources.files() {
        let Some(path) = canonical(&root, &source.name) else {
            continue;
        };
        if let Some(uri) = uri_of(&path) {
            by_file.entry(path).or_insert_with(|| (uri, Vec::new()));
        }
    }
    for diagnostic in &diagnostics {
        let Some(source) = sources.get(diagnostic.file) else {
            continue;
        };
        let Some(path) = canonical(&root, &source.name) else {
            continue;
        };
        let Some((_, list)) = by_file.get_mut(&path) else {
            continue;
        };
        list.push(to_lsp(diagnostic, &sources, &root));
    }
    if let Some(program) = program {
        documents.program = Some((program, root.clone()));
    }
    let mut messages = Vec::new();
    // Files that had diagnostics and are no longer in the set (or clean).
    let stale: Vec<(PathBuf, Uri)> = documents
        .published
        .iter()
        .filter(|(path, _)| !by_file.contains_key(*path))
        .map(|(p, u)| (p.clone(), u.clone()))
        .collect();
    for (path, uri) in stale {
        documents.published.remove(&path);
        by_file.insert(path, (uri, Vec::new()));
    }
    for (path, (uri, list)) in by_file {
        if list.is_empty() && !documents.published.contains_key(&path) {
            continue;
        }
        if list.is_empty() {
            documents.published.remove(&path);
        } else {
            documents.published.insert(path, uri.clone());
        }
        let params = PublishDiagnosticsParams::new(uri, list, None);
        messages.push(Message::Notification(lsp_server::Notification::new(
            lsp_types::notification::PublishDiagnostics::METHOD.to_string(),
            params,
        )));
    }
    messages
}

type Checked = (Vec<Diagnostic>, SourceMap, PathBuf, Option<qlp_compiler::Program>);

fn check(documents: &Documents, path: &Path) -> anyhow::Result<Checked> {
    // The whole policy set the file belongs to: every file under its root.
    let root = qlp_runtime::fs::find_root(&[path.to_path_buf()])?;
    let root = root.canonicalize().unwrap_or(root);
    let all = crate::config::Workspace::open(std::slice::from_ref(&root), None)?;
    let overlay = Overlay {
        root: root.clone(),
        documents: &documents.text,
        disk: &all.tree.loader,
    };
    let checked = qlp_compiler::check(&all.tree.files, &overlay);
    let mut diagnostics = checked.diagnostics;
    if let Some(program) = &checked.program {
        // The findings `qlp lint` would print: same levels, suppressions, ignores.
        let levels = crate::cmd::lint::levels(&all.config)?;
        let today = crate::cmd::lint::today(None, &all.config)?;
        let findings = crate::cmd::lint::findings(program, &all.config, &levels, today);
        diagnostics.extend(findings.into_iter().map(|f| f.diagnostic));
    }
    Ok((diagnostics, checked.sources, root, checked.program))
}

/// The files on disk, with the open documents' unsaved text over them.
struct Overlay<'a> {
    root: PathBuf,
    documents: &'a HashMap<PathBuf, String>,
    disk: &'a qlp_runtime::FsLoader,
}

impl SourceLoader for Overlay<'_> {
    fn read(&self, path: &Path, kind: FileKind) -> std::io::Result<Vec<u8>> {
        if let Some(text) = canonical(&self.root, &path.to_string_lossy()).and_then(|p| self.documents.get(&p)) {
            return Ok(text.clone().into_bytes());
        }
        self.disk.read(path, kind)
    }

    fn policy_files_in(&self, dir: &Path) -> Vec<String> {
        self.disk.policy_files_in(dir)
    }
}

fn canonical(root: &Path, name: &str) -> Option<PathBuf> {
    let path = Path::new(name);
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().ok()?.join(path)
    };
    joined
        .canonicalize()
        .ok()
        .or_else(|| root.join(name).canonicalize().ok())
}

fn to_lsp(diagnostic: &Diagnostic, sources: &SourceMap, root: &Path) -> LspDiagnostic {
    let text = sources.get(diagnostic.file).map_or("", |f| f.text.as_str());
    let mut message = diagnostic.message.clone();
    if let Some(help) = &diagnostic.help {
        message.push_str(&format!("\nhelp: {help}"));
    }
    let related: Vec<DiagnosticRelatedInformation> = diagnostic
        .related
        .iter()
        .filter_map(|(span, label)| {
            let source = sources.get(diagnostic.file)?;
            let uri = uri_of(&canonical(root, &source.name)?)?;
            Some(DiagnosticRelatedInformation {
                location: Location::new(uri, range(text, span.start as usize, span.end as usize)),
                message: label.clone(),
            })
        })
        .collect();
    LspDiagnostic {
        range: range(text, diagnostic.span.start as usize, diagnostic.span.end as usize),
        severity: Some(match diagnostic.severity {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
        }),
        code: Some(NumberOrString::String(diagnostic.code.to_string())),
        source: Some(String::from("qlp")),
        message,
        related_information: (!related.is_empty()).then_some(related),
        ..LspDiagnostic::default()
    }
}

/// The innermost typed expression at a position of an open or saved file,
/// with the program it belongs to and the file's text.
fn expression_at<'p>(
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

fn hover(documents: &Documents, at: &lsp_types::TextDocumentPositionParams) -> Option<lsp_types::Hover> {
    let (program, expr, text, _) = expression_at(documents, at)?;
    let source = text.get(expr.span.start as usize..expr.span.end as usize).unwrap_or("");
    let source: String = source.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut value = format!("`{source}`: `{}`", expr.ty.display(program));
    if let qlp_compiler::program::TExprKind::HasAny(_, set) = &expr.kind {
        if let Some(set) = program.keyword_sets.get(set.0 as usize) {
            value.push_str(&format!(
                "\n\nkeyword set `{}`: {} keyword(s)",
                set.name,
                set.entries.len()
            ));
        }
    }
    Some(lsp_types::Hover {
        contents: lsp_types::HoverContents::Markup(lsp_types::MarkupContent {
            kind: lsp_types::MarkupKind::Markdown,
            value,
        }),
        range: Some(range(&text, expr.span.start as usize, expr.span.end as usize)),
    })
}

/// Where the field, function or keyword set at a position is declared.
fn definition(documents: &Documents, at: &lsp_types::TextDocumentPositionParams) -> Option<Location> {
    use qlp_compiler::program::TExprKind;
    let (program, expr, _, _) = expression_at(documents, at)?;
    let (file, span) = match &expr.kind {
        TExprKind::Field(base, index) => {
            let qlp_compiler::Type::Record(record) = base.ty.strip_optional() else {
                return None;
            };
            let def = program.record(*record)?;
            (def.location.file, def.fields.get(*index as usize)?.span)
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
    let (_, root) = documents.program.as_ref()?;
    let source = program.sources.get(file)?;
    let uri = uri_of(&canonical(root, &source.name)?)?;
    Some(Location::new(
        uri,
        range(&source.text, span.start as usize, span.end as usize),
    ))
}

/// Completion: after `name.field.` the fields of that record (the chain is
/// resolved from the enclosing rule's, exemption's or state's parameter,
/// in the last version of the set that checked); elsewhere the built-in
/// functions, the set's functions and keyword sets.
fn complete(
    documents: &Documents,
    at: &lsp_types::TextDocumentPositionParams,
) -> Option<Vec<lsp_types::CompletionItem>> {
    use lsp_types::{CompletionItem, CompletionItemKind};
    let (program, root) = documents.program.as_ref()?;
    let (path, text) = text_of(documents, &at.text_document.uri)?;
    let offset = offset_of(&text, at.position)?;
    let before = text.get(..offset)?;
    // The word being typed, and the chain of names before it.
    let word_start = before
        .char_indices()
        .rev()
        .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let chain_text = before.get(..word_start)?;
    if let Some(chain) = chain_text.strip_suffix('.') {
        let chain_start = chain
            .char_indices()
            .rev()
            .find(|(_, c)| !(c.is_alphanumeric() || *c == '_' || *c == '.'))
            .map_or(0, |(i, c)| i + c.len_utf8());
        let names: Vec<&str> = chain.get(chain_start..)?.split('.').collect();
        let (param, fields) = names.split_first()?;
        let record = enclosing_record(program, root, &path, &text, offset, param)?;
        let mut ty = qlp_compiler::Type::Record(record);
        for field in fields {
            let qlp_compiler::Type::Record(id) = ty.strip_optional() else {
                return Some(Vec::new());
            };
            let def = program.record(*id)?;
            ty = def.fields.get(def.field_index(field)?)?.ty.clone();
        }
        let qlp_compiler::Type::Record(id) = ty.strip_optional() else {
            return Some(Vec::new());
        };
        let def = program.record(*id)?;
        return Some(
            def.fields
                .iter()
                .map(|field| CompletionItem {
                    label: field.name.clone(),
                    kind: Some(CompletionItemKind::FIELD),
                    detail: Some(field.ty.display(program).to_string()),
                    ..CompletionItem::default()
                })
                .collect(),
        );
    }
    let mut items: Vec<CompletionItem> = qlp_compiler::builtins::BUILTINS
        .iter()
        .map(|b| CompletionItem {
            label: b.name.to_string(),
            kind: Some(CompletionItemKind::FUNCTION),
            detail: Some(b.signature.to_string()),
            ..CompletionItem::default()
        })
        .collect();
    items.extend(program.fns.iter().map(|f| CompletionItem {
        label: f.name.clone(),
        kind: Some(CompletionItemKind::FUNCTION),
        ..CompletionItem::default()
    }));
    items.extend(program.keyword_sets.iter().map(|k| CompletionItem {
        label: k.name.clone(),
        kind: Some(CompletionItemKind::CONSTANT),
        detail: Some(format!("{} keyword(s)", k.entries.len())),
        ..CompletionItem::default()
    }));
    Some(items)
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

/// The byte offset of an LSP position (UTF-16 column) in `text`.
fn offset_of(text: &str, position: Position) -> Option<usize> {
    let line_start = if position.line == 0 {
        0
    } else {
        text.match_indices('\n').nth(position.line as usize - 1)?.0 + 1
    };
    let mut units = 0u32;
    for (index, c) in text.get(line_start..)?.char_indices() {
        if units >= position.character || c == '\n' {
            return Some(line_start + index);
        }
        units += c.len_utf16() as u32;
    }
    Some(text.len())
}

/// The LSP position (line, UTF-16 column) of byte `offset` in `text`.
fn position(text: &str, offset: usize) -> Position {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count();
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column: usize = before.get(line_start..).map_or(0, |s| s.encode_utf16().count());
    Position::new(line as u32, column as u32)
}

fn range(text: &str, start: usize, end: usize) -> Range {
    Range::new(position(text, start), position(text, end))
}

/// The path of a `file://` URI.
fn path_of(uri: &Uri) -> Option<PathBuf> {
    let rest = uri.as_str().strip_prefix("file://")?;
    let mut bytes = Vec::with_capacity(rest.len());
    let mut iter = rest.bytes();
    while let Some(b) = iter.next() {
        if b == b'%' {
            let hex: String = [iter.next()?, iter.next()?].iter().map(|b| *b as char).collect();
            bytes.push(u8::from_str_radix(&hex, 16).ok()?);
        } else {
            bytes.push(b);
        }
    }
    let path = PathBuf::from(String::from_utf8(bytes).ok()?);
    Some(path.canonicalize().unwrap_or(path))
}

/// The `file://` URI of a path.
fn uri_of(path: &Path) -> Option<Uri> {
    let mut text = String::from("file://");
    for byte in path.to_string_lossy().bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' | b'~' => text.push(byte as char),
            other => text.push_str(&format!("%{other:02X}")),
        }
    }
    Uri::from_str(&text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_utf16_code_units() {
        let text = "a\n中文x 😀y";
        let x = text.find('x').unwrap_or(0);
        assert_eq!(position(text, x), Position::new(1, 2));
        let y = text.find('y').unwrap_or(0);
        assert_eq!(position(text, y), Position::new(1, 6), "an emoji is two UTF-16 units");
    }

    #[test]
    fn paths_and_uris_round_trip() {
        let path = PathBuf::from("/tmp/a dir/政策.qlp");
        let uri = uri_of(&path).unwrap_or_else(|| panic!("no uri"));
        assert_eq!(uri.as_str(), "file:///tmp/a%20dir/%E6%94%BF%E7%AD%96.qlp");
        assert_eq!(path_of(&uri), Some(path));
    }
}
