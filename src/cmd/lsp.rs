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
    CodeActionOrCommand, Diagnostic as LspDiagnostic, DiagnosticRelatedInformation, DiagnosticSeverity, DocumentSymbol,
    DocumentSymbolResponse, Location, NumberOrString, Position, PublishDiagnosticsParams, Range, ServerCapabilities,
    SymbolKind, TextDocumentSyncCapability, TextDocumentSyncKind, TextEdit, Uri,
};
use qlp_compiler::load::FileKind;
use qlp_compiler::SourceLoader;
use qlp_grammar::ast::Item;
use qlp_grammar::{Diagnostic, FileId, Severity, SourceMap};

mod actions;
mod complete;
mod lens;
mod navigate;
mod positions;
mod references;
mod tokens;

use actions::{code_actions, fix_of, Fixes};
use complete::complete;
use lens::{code_lenses, run_test, TestResults, RUN_TEST};
use navigate::{definition, expression_at, hover, word_at};
use positions::{canonical, offset_of, path_of, position, range, uri_of};
use references::{declared_at, references};
use tokens::{legend, semantic_tokens};

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
    program: Option<(std::sync::Arc<qlp_compiler::Program>, PathBuf)>,
    /// What the last `qlp.runTest` said of each test.
    test_results: TestResults,
    /// Parses and keyword automata reused from the check before.
    cache: qlp_compiler::CheckCache,
    /// The quick fixes of the diagnostics last published, by file.
    fixes: HashMap<PathBuf, Fixes>,
}

pub fn run(_args: &LspArgs) -> anyhow::Result<ExitCode> {
    let (connection, io_threads) = Connection::stdio();
    let capabilities = ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Kind(TextDocumentSyncKind::FULL)),
        document_formatting_provider: Some(lsp_types::OneOf::Left(true)),
        document_symbol_provider: Some(lsp_types::OneOf::Left(true)),
        hover_provider: Some(lsp_types::HoverProviderCapability::Simple(true)),
        definition_provider: Some(lsp_types::OneOf::Left(true)),
        references_provider: Some(lsp_types::OneOf::Left(true)),
        code_lens_provider: Some(lsp_types::CodeLensOptions {
            resolve_provider: Some(false),
        }),
        execute_command_provider: Some(lsp_types::ExecuteCommandOptions {
            commands: vec![RUN_TEST.to_string()],
            ..lsp_types::ExecuteCommandOptions::default()
        }),
        semantic_tokens_provider: Some(lsp_types::SemanticTokensServerCapabilities::SemanticTokensOptions(
            lsp_types::SemanticTokensOptions {
                legend: legend(),
                full: Some(lsp_types::SemanticTokensFullOptions::Bool(true)),
                ..lsp_types::SemanticTokensOptions::default()
            },
        )),
        code_action_provider: Some(lsp_types::CodeActionProviderCapability::Simple(true)),
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
                if request.method == lsp_types::request::ExecuteCommand::METHOD {
                    let params: Option<lsp_types::ExecuteCommandParams> =
                        serde_json::from_value(request.params.clone()).ok();
                    let Some(params) = params.filter(|p| p.command == RUN_TEST) else {
                        let error = Response::new_err(
                            request.id,
                            lsp_server::ErrorCode::InvalidParams as i32,
                            format!("the commands are `{RUN_TEST}`"),
                        );
                        connection.sender.send(Message::Response(error))?;
                        continue;
                    };
                    let (result, message) = run_test(&mut documents, &params);
                    connection.sender.send(message)?;
                    connection
                        .sender
                        .send(Message::Response(Response::new_ok(request.id, result)))?;
                    continue;
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
    use lsp_types::request::{
        CodeActionRequest, CodeLensRequest, Completion, DocumentSymbolRequest, Formatting, GotoDefinition,
        HoverRequest, References, SemanticTokensFullRequest,
    };
    let id = request.id.clone();
    let params = request.params;
    let result = match request.method.as_str() {
        Formatting::METHOD => reply(params, |p: lsp_types::DocumentFormattingParams| {
            format(documents, &p.text_document.uri)
        }),
        DocumentSymbolRequest::METHOD => reply(params, |p: lsp_types::DocumentSymbolParams| {
            symbols(documents, &p.text_document.uri).map(DocumentSymbolResponse::Nested)
        }),
        HoverRequest::METHOD => reply(params, |p: lsp_types::HoverParams| {
            hover(documents, &p.text_document_position_params)
        }),
        Completion::METHOD => reply(params, |p: lsp_types::CompletionParams| {
            complete(documents, &p.text_document_position)
        }),
        GotoDefinition::METHOD => reply(params, |p: lsp_types::GotoDefinitionParams| {
            definition(documents, &p.text_document_position_params)
        }),
        References::METHOD => reply(params, |p: lsp_types::ReferenceParams| {
            references(documents, &p.text_document_position)
        }),
        CodeLensRequest::METHOD => reply(params, |p: lsp_types::CodeLensParams| {
            code_lenses(documents, &p.text_document.uri)
        }),
        SemanticTokensFullRequest::METHOD => reply(params, |p: lsp_types::SemanticTokensParams| {
            semantic_tokens(documents, &p.text_document.uri)
                .map(|data| lsp_types::SemanticTokens { result_id: None, data })
        }),
        CodeActionRequest::METHOD => reply(params, |p: lsp_types::CodeActionParams| code_actions(documents, &p)),
        method => Err((
            lsp_server::ErrorCode::MethodNotFound,
            format!("`{method}` is not supported yet"),
        )),
    };
    match result {
        Ok(value) => Response::new_ok(id, value),
        Err((code, message)) => Response::new_err(id, code as i32, message),
    }
}

/// The answer to a request whose parameters are `P`: `null` when there is
/// nothing to say (no document, no expression under the cursor), an
/// `InvalidParams` error naming what is wrong when they do not decode.
fn reply<P: serde::de::DeserializeOwned, R: serde::Serialize>(
    params: serde_json::Value,
    answer: impl FnOnce(P) -> Option<R>,
) -> Result<serde_json::Value, (lsp_server::ErrorCode, String)> {
    let params: P = serde_json::from_value(params).map_err(|error| {
        (
            lsp_server::ErrorCode::InvalidParams,
            format!("invalid parameters: {error}"),
        )
    })?;
    Ok(answer(params).map_or(serde_json::Value::Null, |r| serde_json::to_value(r).unwrap_or_default()))
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
    let mut fixes: HashMap<PathBuf, Fixes> = HashMap::new();
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
        let lsp = to_lsp(diagnostic, &sources, &root);
        if let Some(edit) = fix_of(diagnostic, &source.text) {
            fixes.entry(path).or_default().push((lsp.clone(), edit));
        }
        list.push(lsp);
    }
    documents.fixes = fixes;
    if let Some(program) = program {
        documents.program = Some((std::sync::Arc::new(program), root.clone()));
        documents.test_results.clear();
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
    // The policy set the file belongs to, under its root.
    let root = qlp_runtime::fs::find_root(&[path.to_path_buf()])?;
    let root = root.canonicalize().unwrap_or(root);
    let all = crate::config::Workspace::open(&[set_directory(&root, path)], None)?;
    let overlay = Overlay {
        root: root.clone(),
        documents: &documents.text,
        disk: &all.tree.loader,
    };
    let checked = qlp_compiler::check_cached(&all.tree.files, &overlay, &documents.cache);
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

/// The directory of the policy set `path` belongs to: the top-level
/// directory under the root that holds it (`policies/` for
/// `policies/2022/01_livestream.qlp`), or the root for a file directly in
/// it; imports from elsewhere are read as `qlp check DIR` reads them. A
/// repository that keeps test fixtures or other policy sets next to its
/// policies (this one does) checks each apart, and only that directory is
/// listed on each change.
fn set_directory(root: &Path, path: &Path) -> PathBuf {
    let Ok(inside) = path.strip_prefix(root) else {
        return root.to_path_buf();
    };
    let mut components = inside.components();
    match (components.next(), components.next()) {
        (Some(top), Some(_)) => root.join(top),
        _ => root.to_path_buf(),
    }
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
