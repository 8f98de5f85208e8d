//! Name resolution: collects every top-level declaration of every file into
//! one table, reports duplicates, and answers "what does this name mean
//! here?" with import visibility taken into account.

use std::collections::HashMap;

use qlp_grammar::ast::Item;
use qlp_grammar::{Diagnostic, FileId, Span};

use crate::load::LoadedFiles;

/// What a top-level name declares, with the index of its AST item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeclKind {
    /// An enum.
    Enum,
    /// A record type.
    Record,
    /// A keyword set.
    Keywords,
    /// A constant.
    Const,
    /// A function.
    Fn,
    /// A campaign.
    Campaign,
    /// A rule.
    Rule,
    /// An exemption.
    Exempt,
    /// A state declaration (`counter`, `distinct`, `first_seen`, `tag`).
    State,
}

impl DeclKind {
    /// In words: `a rule`, `a keyword set`.
    pub fn describe(self) -> &'static str {
        match self {
            DeclKind::Enum => "an enum",
            DeclKind::Record => "a record type",
            DeclKind::Keywords => "a keyword set",
            DeclKind::Const => "a constant",
            DeclKind::Fn => "a function",
            DeclKind::Campaign => "a campaign",
            DeclKind::Rule => "a rule",
            DeclKind::Exempt => "an exemption",
            DeclKind::State => "a state declaration",
        }
    }
}

/// A declaration: what it is and where.
#[derive(Debug, Clone, Copy)]
pub struct Decl {
    /// What it declares.
    pub kind: DeclKind,
    /// Index among the declarations of the same kind, in program order.
    pub index: u32,
    /// The file it is in.
    pub file: FileId,
    /// Its name's span.
    pub span: Span,
    /// Index of the item within its file.
    pub item: usize,
}

/// Names built into the language, which declarations may not take.
pub const BUILTIN_TYPES: [&str; 6] = ["bool", "int", "float", "string", "time", "duration"];

/// All top-level declarations of a program.
#[derive(Debug, Default)]
pub struct Scope {
    names: HashMap<String, Decl>,
    /// Declarations of each kind in program order: (file, item index).
    pub by_kind: HashMap<KindKey, Vec<(FileId, usize)>>,
    /// For each file, the files whose declarations it sees.
    visible: Vec<Vec<FileId>>,
}

/// A [`DeclKind`] as a small key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KindKey(pub u8);

impl From<DeclKind> for KindKey {
    fn from(kind: DeclKind) -> KindKey {
        KindKey(kind as u8)
    }
}

/// Outcome of looking a name up from one file.
pub enum Lookup {
    /// Declared where the file can see it.
    Found(Decl),
    /// Declared, but in a file this one does not import.
    NotImported(Decl),
    /// Declared nowhere.
    Unknown,
}

impl Scope {
    /// Every top-level name of `files`; duplicates and reserved names are diagnostics.
    pub fn collect(files: &LoadedFiles, diagnostics: &mut Vec<Diagnostic>) -> Scope {
        let mut scope = Scope::default();
        for (file_index, ast) in files.asts.iter().enumerate() {
            let file = FileId(file_index as u32);
            scope.visible.push(files.visible_files(file));
            for (item_index, item) in ast.items.iter().enumerate() {
                let kind = match item {
                    Item::Import(_) | Item::Test(_) | Item::TimeZone(_) => continue,
                    Item::Enum(_) => DeclKind::Enum,
                    Item::Record(_) => DeclKind::Record,
                    Item::Keywords(_) => DeclKind::Keywords,
                    Item::Const(_) => DeclKind::Const,
                    Item::Fn(_) => DeclKind::Fn,
                    Item::Campaign(_) => DeclKind::Campaign,
                    Item::Rule(_) => DeclKind::Rule,
                    Item::Exempt(_) => DeclKind::Exempt,
                    Item::State(_) => DeclKind::State,
                };
                let Some(name) = item.name() else { continue };
                if BUILTIN_TYPES.contains(&name.name.as_str()) {
                    diagnostics.push(
                        Diagnostic::error(
                            "qlp::reserved_name",
                            file,
                            name.span,
                            format!("`{}` is a built-in type and cannot be declared", name.name),
                        )
                        .with_label("reserved name")
                        .with_help("choose another name"),
                    );
                    continue;
                }
                if let Some(previous) = scope.names.get(&name.name) {
                    let mut diagnostic = Diagnostic::error(
                        "qlp::duplicate_declaration",
                        file,
                        name.span,
                        format!("`{}` is declared more than once", name.name),
                    )
                    .with_label(format!("declared again here as {}", kind.describe()));
                    if previous.file == file {
                        diagnostic = diagnostic.with_related(
                            previous.span,
                            format!("first declared here as {}", previous.kind.describe()),
                        );
                    } else {
                        diagnostic = diagnostic.with_help(format!(
                            "first declared as {} at {}; names are shared by all files of a policy set",
                            previous.kind.describe(),
                            files.sources.location(previous.file, previous.span.start)
                        ));
                    }
                    diagnostics.push(diagnostic);
                    continue;
                }
                let list = scope.by_kind.entry(kind.into()).or_default();
                let decl = Decl {
                    kind,
                    index: list.len() as u32,
                    file,
                    span: name.span,
                    item: item_index,
                };
                list.push((file, item_index));
                scope.names.insert(name.name.clone(), decl);
            }
        }
        scope
    }

    /// Every declaration of `kind`: its file and item index.
    pub fn declarations(&self, kind: DeclKind) -> &[(FileId, usize)] {
        self.by_kind.get(&kind.into()).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Looks `name` up as seen from file `from`.
    pub fn lookup(&self, name: &str, from: FileId) -> Lookup {
        match self.names.get(name) {
            None => Lookup::Unknown,
            Some(decl) => {
                let visible = self
                    .visible
                    .get(from.0 as usize)
                    .is_some_and(|files| files.contains(&decl.file));
                if visible {
                    Lookup::Found(*decl)
                } else {
                    Lookup::NotImported(*decl)
                }
            }
        }
    }

    /// Names visible from `from` of the given kinds, for "did you mean" hints.
    pub fn visible_names(&self, from: FileId, kinds: &[DeclKind]) -> Vec<&str> {
        let visible = self.visible.get(from.0 as usize);
        self.names
            .iter()
            .filter(|(_, decl)| kinds.contains(&decl.kind) && visible.is_some_and(|v| v.contains(&decl.file)))
            .map(|(name, _)| name.as_str())
            .collect()
    }
}

/// The candidate closest to `name`, if it is close enough to be a typo.
pub fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = name.chars().count().div_ceil(3);
    candidates
        .into_iter()
        .map(|candidate| (edit_distance(name, candidate), candidate))
        .filter(|(distance, _)| *distance <= limit)
        .min()
        .map(|(_, candidate)| candidate)
}

/// Levenshtein distance, in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous.get(j).copied().unwrap_or(0) + usize::from(ca != *cb);
            let delete = previous.get(j + 1).copied().unwrap_or(0) + 1;
            let insert = current.get(j).copied().unwrap_or(0) + 1;
            current.push(substitute.min(delete).min(insert));
        }
        previous = current;
    }
    previous.last().copied().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_catch_typos_only() {
        assert_eq!(suggest("folowers", ["followers", "age"]), Some("followers"));
        assert_eq!(suggest("xyz", ["followers", "age"]), None);
    }
}
