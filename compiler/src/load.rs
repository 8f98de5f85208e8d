//! Loading a program's files: roots, then everything they import, through a
//! [`SourceLoader`] so that the compiler itself does no IO.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use qlp_grammar::ast::{self, Item};
use qlp_grammar::{Diagnostic, FileId, SourceMap, Span};

/// What a file is read for; a loader may bound each kind differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A `.qlp` policy file.
    Policy,
    /// A keyword list named by `keywords NAME = file("...")`.
    Keywords,
}

/// Reads files for the compiler. The runtime provides one over the file
/// system, confined to the policy root; tests use [`MemoryLoader`].
pub trait SourceLoader {
    /// The bytes of `path`, or why they cannot be had. The error's message
    /// is shown to the user, so it must never quote the file.
    fn read(&self, path: &Path, kind: FileKind) -> std::io::Result<Vec<u8>>;

    /// The names of the policy files (`*.qlp`) in directory `dir`, for "did
    /// you mean" when an import names a file that is not there. A loader
    /// that cannot list answers none.
    fn policy_files_in(&self, dir: &Path) -> Vec<String> {
        let _ = dir;
        Vec::new()
    }

    /// The most heap the tree's keyword sets may take together, in bytes
    /// (`qlp::keywords_too_large` past it).
    fn keyword_memory(&self) -> usize {
        crate::MAX_KEYWORD_MEMORY
    }
}

/// Files held in memory, by path.
#[derive(Debug, Default, Clone)]
pub struct MemoryLoader {
    files: HashMap<PathBuf, Vec<u8>>,
    keyword_memory: Option<usize>,
}

impl MemoryLoader {
    /// No files.
    pub fn new() -> MemoryLoader {
        MemoryLoader::default()
    }

    /// Lowers (or raises) the keyword sets' memory limit (see
    /// [`SourceLoader::keyword_memory`]).
    pub fn with_keyword_memory(mut self, bytes: usize) -> MemoryLoader {
        self.keyword_memory = Some(bytes);
        self
    }

    /// Adds a file.
    pub fn with(mut self, path: impl Into<PathBuf>, text: impl Into<Vec<u8>>) -> MemoryLoader {
        self.files.insert(clean_path(&path.into()), text.into());
        self
    }
}

impl SourceLoader for MemoryLoader {
    fn keyword_memory(&self) -> usize {
        self.keyword_memory.unwrap_or(crate::MAX_KEYWORD_MEMORY)
    }

    fn read(&self, path: &Path, _kind: FileKind) -> std::io::Result<Vec<u8>> {
        self.files
            .get(&clean_path(path))
            .cloned()
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"))
    }

    fn policy_files_in(&self, dir: &Path) -> Vec<String> {
        let dir = clean_path(dir);
        self.files
            .keys()
            .filter(|path| path.parent() == Some(dir.as_path()))
            .filter_map(|path| path.file_name()?.to_str().map(str::to_string))
            .filter(|name| name.ends_with(".qlp"))
            .collect()
    }
}

/// The files of a program, parsed, with their import edges.
#[derive(Debug, Default)]
pub struct LoadedFiles {
    /// Every file's text.
    pub sources: SourceMap,
    /// Every file's syntax tree, by `FileId`.
    pub asts: Vec<ast::File>,
    /// Every file's path, by `FileId`.
    pub paths: Vec<PathBuf>,
    /// For each file, the files it imports and where.
    pub imports: Vec<Vec<(FileId, Span)>>,
    /// The entries of each keyword file named by `keywords NAME = file("...")`,
    /// by the declaring file and the start of the path's span. A file that
    /// could not be read has a diagnostic instead.
    pub keyword_files: HashMap<(FileId, u32), Vec<String>>,
    /// The policy files of each directory an import could not find a file
    /// in, listed once, and the budget of those imports' hints.
    listings: HashMap<PathBuf, Vec<String>>,
    suggestions: crate::resolve::Suggester,
    /// Whether files were left unread past [`MAX_POLICY_FILES`] (said once).
    too_many: bool,
}

impl LoadedFiles {
    /// The entries of the keyword file whose path is written at `span` in `file`.
    pub fn keyword_file(&self, file: FileId, span: Span) -> &[String] {
        self.keyword_files.get(&(file, span.start)).map_or(&[], Vec::as_slice)
    }

    /// The path that `written` (an import or a keyword file) names from
    /// `file`: relative to the file's directory, `.` and `..` resolved.
    pub fn named_path(&self, file: FileId, written: &str) -> PathBuf {
        let base = self.path(file).and_then(Path::parent).unwrap_or(Path::new(""));
        clean_path(&base.join(written))
    }

    /// The path of `file`.
    pub fn path(&self, file: FileId) -> Option<&Path> {
        self.paths.get(file.0 as usize).map(PathBuf::as_path)
    }
}

/// Removes `.` and resolves `..` lexically, so one file has one key.
pub fn clean_path(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            // `..` cancels the last normal component only: a leading `..`
            // stays, and `..` at the root stays at the root.
            Component::ParentDir => match out.components().next_back() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => out.push(".."),
            },
            other => out.push(other),
        }
    }
    out
}

/// The help line of a file the loader refused to open.
pub const REFUSED_HELP: &str =
    "policies read only regular files inside the policy root, never through hidden directories (see docs/security.md)";

/// Why a path written in a policy (an import or a keyword file) may not be
/// followed: policy trees are relative, so an absolute path never is.
pub fn path_problem(written: &str) -> Option<&'static str> {
    let path = Path::new(written);
    if path.has_root() || path.components().any(|c| matches!(c, Component::Prefix(_))) {
        Some("paths in policies are relative to the file that names them, and stay inside the policy root")
    } else if written.contains('\0') {
        Some("a path cannot contain a NUL character")
    } else {
        None
    }
}

/// Decodes a file's bytes, or says where it stops being UTF-8.
pub fn decode_utf8(bytes: Vec<u8>) -> Result<String, (usize, String)> {
    String::from_utf8(bytes).map_err(|error| {
        let at = error.utf8_error().valid_up_to();
        let bytes = error.into_bytes();
        let valid = String::from_utf8_lossy(bytes.get(..at).unwrap_or(&[])).into_owned();
        (at, valid)
    })
}

/// Loads and parses the roots and, transitively, their imports.
pub fn load(roots: &[PathBuf], loader: &dyn SourceLoader, diagnostics: &mut Vec<Diagnostic>) -> LoadedFiles {
    load_cached(roots, loader, diagnostics, &crate::CheckCache::new())
}

/// [`load`], with the parses of `cache` reused.
pub fn load_cached(
    roots: &[PathBuf],
    loader: &dyn SourceLoader,
    diagnostics: &mut Vec<Diagnostic>,
    cache: &crate::CheckCache,
) -> LoadedFiles {
    let mut files = LoadedFiles::default();
    let mut by_path: HashMap<PathBuf, FileId> = HashMap::new();
    let mut queue: Vec<FileId> = Vec::new();

    for root in roots {
        let path = clean_path(root);
        if by_path.contains_key(&path) {
            continue;
        }
        if too_many(&mut files, FileId(0), Span::new(0, 0), diagnostics) {
            break;
        }
        let id = add_file(&mut files, &path, (loader, cache), diagnostics, None);
        by_path.insert(path, id);
        queue.push(id);
    }

    while let Some(file) = queue.pop() {
        let Some(ast) = files.asts.get(file.0 as usize) else {
            continue;
        };
        let imports: Vec<(String, Span)> = ast
            .items
            .iter()
            .filter_map(|item| match item {
                Item::Import(import) => Some((import.path.value.clone(), import.path.span)),
                _ => None,
            })
            .collect();
        for (target, span) in imports {
            if let Some(help) = path_problem(&target) {
                diagnostics.push(
                    Diagnostic::error(
                        "qlp::import_not_found",
                        file,
                        span,
                        format!("cannot import `{target}`: the path is absolute"),
                    )
                    .with_label("not followed")
                    .with_help(help),
                );
                continue;
            }
            let path = files.named_path(file, &target);
            let id = match by_path.get(&path) {
                Some(id) => *id,
                None if too_many(&mut files, file, span, diagnostics) => continue,
                None => {
                    let id = add_file(
                        &mut files,
                        &path,
                        (loader, cache),
                        diagnostics,
                        Some((file, span, &target)),
                    );
                    by_path.insert(path, id);
                    queue.push(id);
                    id
                }
            };
            if let Some(edges) = files.imports.get_mut(file.0 as usize) {
                edges.push((id, span));
            }
        }
    }
    report_cycles(&files, diagnostics);
    load_keyword_files(&mut files, loader, diagnostics);
    files
}

/// The most policy files one check loads: which files see which is a bit
/// for each pair (12.5 MB at the limit), and a tree comes from pull
/// requests.
pub const MAX_POLICY_FILES: usize = 10_000;

/// Whether the limit on policy files is reached, said once (by the file
/// and span that would pass it).
fn too_many(files: &mut LoadedFiles, file: FileId, span: Span, diagnostics: &mut Vec<Diagnostic>) -> bool {
    if files.asts.len() < MAX_POLICY_FILES {
        return false;
    }
    if !std::mem::replace(&mut files.too_many, true) {
        diagnostics.push(
            Diagnostic::error(
                "qlp::too_many_files",
                file,
                span,
                format!("the policies are more than {MAX_POLICY_FILES} files: the rest are not read"),
            )
            .with_help("check a smaller tree, or merge small files"),
        );
    }
    true
}

/// Reads every keyword file the loaded policies name: one keyword per line,
/// blank lines and `#` comments skipped, surrounding whitespace trimmed.
fn load_keyword_files(files: &mut LoadedFiles, loader: &dyn SourceLoader, diagnostics: &mut Vec<Diagnostic>) {
    let mut named: Vec<(FileId, Span, String)> = Vec::new();
    for (index, ast) in files.asts.iter().enumerate() {
        for item in &ast.items {
            if let Item::Keywords(ast::KeywordsDecl {
                source: ast::KeywordsSource::File(path),
                ..
            }) = item
            {
                named.push((FileId(index as u32), path.span, path.value.clone()));
            }
        }
    }
    for (file, span, relative) in named {
        if let Some(help) = path_problem(&relative) {
            diagnostics.push(
                Diagnostic::error(
                    "qlp::keywords_file",
                    file,
                    span,
                    format!("cannot read keyword file `{relative}`: the path is absolute"),
                )
                .with_help(help),
            );
            continue;
        }
        let path = files.named_path(file, &relative);
        let bytes = match loader.read(&path, FileKind::Keywords) {
            Ok(bytes) => bytes,
            Err(error) => {
                let help = if error.kind() == std::io::ErrorKind::PermissionDenied {
                    REFUSED_HELP.to_string()
                } else {
                    format!(
                        "the path is relative to this policy file: it resolves to `{}`",
                        path.display()
                    )
                };
                diagnostics.push(
                    Diagnostic::error(
                        "qlp::keywords_file",
                        file,
                        span,
                        format!("cannot read keyword file `{relative}`"),
                    )
                    .with_label(error.to_string())
                    .with_help(help),
                );
                continue;
            }
        };
        match decode_utf8(bytes) {
            Ok(text) => {
                let entries = text
                    .lines()
                    .map(str::trim)
                    .filter(|line| !line.is_empty() && !line.starts_with('#'))
                    .map(str::to_string)
                    .collect();
                files.keyword_files.insert((file, span.start), entries);
            }
            Err((at, _)) => diagnostics.push(
                Diagnostic::error(
                    "qlp::invalid_utf8",
                    file,
                    span,
                    format!("keyword file `{relative}` is not valid UTF-8 (byte {at})"),
                )
                .with_help("save the keyword list as UTF-8"),
            ),
        }
    }
}

fn add_file(
    files: &mut LoadedFiles,
    path: &Path,
    (loader, cache): (&dyn SourceLoader, &crate::CheckCache),
    diagnostics: &mut Vec<Diagnostic>,
    imported_from: Option<(FileId, Span, &str)>,
) -> FileId {
    let name = path.display().to_string();
    let (text, problem) = match loader.read(path, FileKind::Policy) {
        Ok(bytes) => match decode_utf8(bytes) {
            Ok(text) => (text, None),
            Err((at, valid)) => (valid, Some(Err(at))),
        },
        Err(error) => (String::new(), Some(Ok(error))),
    };
    let id = files.sources.add(name.clone(), text.clone());
    files.paths.push(path.to_path_buf());
    files.imports.push(Vec::new());
    match problem {
        None => {
            let (ast, mut parse_diagnostics) = cache.parse(&text, id);
            diagnostics.append(&mut parse_diagnostics);
            files.asts.push(ast);
        }
        Some(Err(at)) => {
            diagnostics.push(
                Diagnostic::error(
                    "qlp::invalid_utf8",
                    id,
                    Span::new(at, at),
                    format!("`{name}` is not valid UTF-8 (byte {at})"),
                )
                .with_label("the text stops being UTF-8 here")
                .with_help("save the policy as UTF-8"),
            );
            files.asts.push(ast::File::default());
        }
        Some(Ok(error)) if error.kind() == std::io::ErrorKind::PermissionDenied => {
            let diagnostic = match imported_from {
                Some((importer, span, target)) => Diagnostic::error(
                    "qlp::file_refused",
                    importer,
                    span,
                    format!("`{target}` may not be read"),
                )
                .with_label(error.to_string()),
                None => Diagnostic::error(
                    "qlp::file_refused",
                    id,
                    Span::new(0, 0),
                    format!("cannot read `{name}`: {error}"),
                ),
            };
            diagnostics.push(diagnostic.with_help(REFUSED_HELP));
            files.asts.push(ast::File::default());
        }
        Some(Ok(error)) => {
            let mut diagnostic = match imported_from {
                Some((importer, span, target)) => Diagnostic::error(
                    "qlp::import_not_found",
                    importer,
                    span,
                    format!("cannot read imported file `{target}`"),
                )
                .with_label(error.to_string())
                .with_help(format!(
                    "the path is relative to the importing file: it resolves to `{name}`"
                )),
                None => Diagnostic::error(
                    "qlp::file_not_found",
                    id,
                    Span::new(0, 0),
                    format!("cannot read `{name}`: {error}"),
                )
                .with_help("check the path"),
            };
            if let Some((_, span, target)) = imported_from {
                if let Some(other) = similar_file(files, loader, path, target) {
                    let quoted = qlp_grammar::print::quote(&other);
                    diagnostic.set_help(format!("did you mean `{other}`? (`import {quoted}`)"));
                    diagnostic.set_fix(span, quoted);
                }
            }
            diagnostics.push(diagnostic);
            files.asts.push(ast::File::default());
        }
    }
    id
}

fn report_cycles(files: &LoadedFiles, diagnostics: &mut Vec<Diagnostic>) {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    let n = files.imports.len();
    let mut marks = vec![Mark::New; n];
    for start in 0..n {
        if marks.get(start) != Some(&Mark::New) {
            continue;
        }
        // Iterative depth-first search: (file, next edge index); `path` is the active chain.
        let mut stack: Vec<(usize, usize)> = vec![(start, 0)];
        if let Some(m) = marks.get_mut(start) {
            *m = Mark::Active;
        }
        while let Some((file, edge)) = stack.last().copied() {
            let edges = files.imports.get(file).map(Vec::as_slice).unwrap_or(&[]);
            match edges.get(edge) {
                None => {
                    if let Some(m) = marks.get_mut(file) {
                        *m = Mark::Done;
                    }
                    stack.pop();
                }
                Some((target, span)) => {
                    if let Some(top) = stack.last_mut() {
                        top.1 += 1;
                    }
                    let target = target.0 as usize;
                    match marks.get(target) {
                        Some(Mark::New) => {
                            if let Some(m) = marks.get_mut(target) {
                                *m = Mark::Active;
                            }
                            stack.push((target, 0));
                        }
                        Some(Mark::Active) => {
                            let chain_start = stack.iter().position(|(f, _)| *f == target).unwrap_or(0);
                            let mut names: Vec<&str> = stack
                                .iter()
                                .skip(chain_start)
                                .map(|(f, _)| files.sources.name(FileId(*f as u32)))
                                .collect();
                            names.push(files.sources.name(FileId(target as u32)));
                            diagnostics.push(
                                Diagnostic::error("qlp::import_cycle", FileId(file as u32), *span, "import cycle")
                                    .with_label("this import closes the cycle")
                                    .with_help(format!(
                                        "{}; move the shared declarations into a file that both import",
                                        names.join(" → ")
                                    )),
                            );
                        }
                        _ => {}
                    }
                }
            }
        }
    }
}

/// The import path of a policy file next to where `target` points whose name
/// is close to the one written (`schema.qpl` → `schema.qlp`).
fn similar_file(files: &mut LoadedFiles, loader: &dyn SourceLoader, path: &Path, target: &str) -> Option<String> {
    let dir = path
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let wanted = path.file_name()?.to_str()?;
    let names = files
        .listings
        .entry(dir.to_path_buf())
        .or_insert_with(|| loader.policy_files_in(dir));
    let found = files.suggestions.suggest(wanted, || names.iter().map(String::as_str))?;
    let prefix = target.rsplit_once('/').map_or("", |(dir, _)| dir);
    Some(if prefix.is_empty() {
        found.to_string()
    } else {
        format!("{prefix}/{found}")
    })
}
