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
    /// The names of each kind, in program order (hints list one kind's
    /// names, not every name's).
    names_by_kind: HashMap<KindKey, Vec<String>>,
    /// Declarations of each kind in program order: (file, item index).
    pub by_kind: HashMap<KindKey, Vec<(FileId, usize)>>,
    /// Which files' declarations each file sees.
    visible: Visibility,
}

/// Which files each file sees: itself and every file it imports, directly
/// or not. Worked out once for the import graph, a bitset per group of
/// files that import each other (a walk per file, with a list of files
/// seen, made a chain of 5,000 imports take minutes to check).
#[derive(Debug, Default)]
struct Visibility {
    /// Each file's component of the import graph.
    component: Vec<usize>,
    /// Each component's visible files, a bit each.
    sees: Vec<Vec<u64>>,
}

impl Visibility {
    fn new(files: &LoadedFiles) -> Visibility {
        let count = files.asts.len();
        let imports = |file: usize| files.imports.get(file).map_or(&[][..], Vec::as_slice);
        let next = |file: usize, from: usize| imports(file).get(from).map(|(to, _)| (from, to.0 as usize));
        let components = crate::graph::components(count, next);
        let mut members: Vec<Vec<usize>> = vec![Vec::new(); components.count];
        for (file, &component) in components.component.iter().enumerate() {
            if let Some(list) = members.get_mut(component) {
                list.push(file);
            }
        }
        // A component is numbered after every component it reaches, so
        // theirs are known when its own is made.
        let words = count.div_ceil(64);
        let mut sees: Vec<Vec<u64>> = Vec::with_capacity(components.count);
        for (number, files) in members.iter().enumerate() {
            let mut bits = vec![0u64; words];
            for &file in files {
                if let Some(word) = bits.get_mut(file / 64) {
                    *word |= 1 << (file % 64);
                }
                for (to, _) in imports(file) {
                    let reached = components.component.get(to.0 as usize).copied().unwrap_or(number);
                    if reached == number {
                        continue;
                    }
                    for (word, theirs) in bits.iter_mut().zip(sees.get(reached).into_iter().flatten()) {
                        *word |= theirs;
                    }
                }
            }
            sees.push(bits);
        }
        Visibility {
            component: components.component,
            sees,
        }
    }

    /// Whether `from` sees the declarations of `file`.
    fn sees(&self, from: FileId, file: FileId) -> bool {
        let file = file.0 as usize;
        self.component
            .get(from.0 as usize)
            .and_then(|&c| self.sees.get(c))
            .and_then(|bits| bits.get(file / 64))
            .is_some_and(|word| word >> (file % 64) & 1 == 1)
    }
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
        let mut scope = Scope {
            visible: Visibility::new(files),
            ..Scope::default()
        };
        for (file_index, ast) in files.asts.iter().enumerate() {
            let file = FileId(file_index as u32);
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
                scope
                    .names_by_kind
                    .entry(kind.into())
                    .or_default()
                    .push(name.name.clone());
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
                if self.visible.sees(from, decl.file) {
                    Lookup::Found(*decl)
                } else {
                    Lookup::NotImported(*decl)
                }
            }
        }
    }

    /// Names visible from `from` of the given kinds, for "did you mean" hints.
    pub fn visible_names(&self, from: FileId, kinds: &[DeclKind]) -> Vec<&str> {
        kinds
            .iter()
            .flat_map(|kind| self.names_by_kind.get(&(*kind).into()).into_iter().flatten())
            .filter(|name| {
                self.names
                    .get(*name)
                    .is_some_and(|decl| self.visible.sees(from, decl.file))
            })
            .map(String::as_str)
            .collect()
    }
}

/// The candidate closest to `name`, if it is close enough to be a typo:
/// within a third of its length in edits, the nearest (then the first in
/// order) of those.
pub fn suggest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut unbounded = u64::MAX;
    closest(name, candidates, &mut unbounded)
}

/// The work one check's "did you mean" hints may do, in edit-distance
/// cells: a hostile tree of 10,000 calls to unknown functions among 10,000
/// functions took a minute to check (a megabyte of policy; four would take
/// a quarter of an hour), each error comparing its name with every one.
/// Real trees use a small part of it; past it, errors have no hint.
pub const SUGGESTION_CELLS: u64 = 20_000_000;

/// [`suggest`] within a budget shared by every hint of one check.
#[derive(Debug)]
pub struct Suggester {
    left: std::cell::Cell<u64>,
}

impl Default for Suggester {
    fn default() -> Suggester {
        Suggester {
            left: std::cell::Cell::new(SUGGESTION_CELLS),
        }
    }
}

impl Suggester {
    /// [`suggest`], the candidates listed only while the budget lasts.
    pub fn suggest<'a, I: IntoIterator<Item = &'a str>>(
        &self,
        name: &str,
        candidates: impl FnOnce() -> I,
    ) -> Option<&'a str> {
        let mut left = self.left.get();
        if left == 0 {
            return None;
        }
        let found = closest(name, candidates(), &mut left);
        self.left.set(left);
        found
    }
}

/// The closest candidate within a third of `name`'s length, spending at
/// most `left` cells (and counting them off).
fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>, left: &mut u64) -> Option<&'a str> {
    let name: Vec<char> = name.chars().collect();
    let limit = name.len().div_ceil(3);
    let mut rows = Rows::default();
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates {
        if *left == 0 {
            break;
        }
        if let Some(distance) = rows.distance_within(&name, candidate, limit, left) {
            if best.is_none_or(|b| (distance, candidate) < b) {
                best = Some((distance, candidate));
            }
        }
    }
    best.map(|(_, candidate)| candidate)
}

/// Buffers for edit distances, reused from one candidate to the next.
#[derive(Default)]
struct Rows {
    other: Vec<char>,
    previous: Vec<usize>,
    current: Vec<usize>,
}

impl Rows {
    /// The Levenshtein distance (in characters) of `a` and `b` when it is
    /// at most `limit`: a row's smallest entry never decreases further
    /// down, so a row past the limit ends the count.
    fn distance_within(&mut self, a: &[char], b: &str, limit: usize, left: &mut u64) -> Option<usize> {
        self.other.clear();
        self.other.extend(b.chars());
        *left = left.saturating_sub(1);
        if a.len().abs_diff(self.other.len()) > limit {
            return None;
        }
        self.previous.clear();
        self.previous.extend(0..=self.other.len());
        for (i, ca) in a.iter().enumerate() {
            self.current.clear();
            self.current.push(i + 1);
            let mut smallest = i + 1;
            for (j, cb) in self.other.iter().enumerate() {
                let substitute = self.previous.get(j).copied().unwrap_or(0) + usize::from(ca != cb);
                let delete = self.previous.get(j + 1).copied().unwrap_or(0) + 1;
                let insert = self.current.get(j).copied().unwrap_or(0) + 1;
                let cell = substitute.min(delete).min(insert);
                smallest = smallest.min(cell);
                self.current.push(cell);
            }
            *left = left.saturating_sub(self.other.len() as u64 + 1);
            if smallest > limit {
                return None;
            }
            std::mem::swap(&mut self.previous, &mut self.current);
        }
        self.previous.last().copied().filter(|&d| d <= limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_catch_typos_only() {
        assert_eq!(suggest("folowers", ["followers", "age"]), Some("followers"));
        assert_eq!(suggest("xyz", ["followers", "age"]), None);
        // The nearest, then the first in order; lengths far apart are
        // never compared cell by cell.
        assert_eq!(suggest("stirkes", ["strikes", "stroke", "sticks"]), Some("sticks"));
        assert_eq!(suggest("abc", ["abd", "abe"]), Some("abd"));
        assert_eq!(suggest("名字", ["名子", "a".repeat(10_000).as_str()]), Some("名子"));
    }

    #[test]
    fn a_check_s_hints_share_one_budget() {
        let names: Vec<String> = (0..1_000).map(|i| format!("name{i}")).collect();
        let suggester = Suggester::default();
        let mut hinted = 0;
        let mut listed = 0;
        for i in 0..10_000 {
            let hint = suggester.suggest(&format!("nmae{i}"), || {
                listed += 1;
                names.iter().map(String::as_str)
            });
            hinted += usize::from(hint.is_some());
        }
        // The first get their hints; once the budget is spent, the
        // candidates are not even listed.
        assert!(hinted > 100 && hinted < 10_000, "{hinted}");
        assert!(
            listed < 10_000 && hinted + 1 >= listed,
            "{listed} listed, {hinted} hinted"
        );
        assert_eq!(suggester.suggest("name1", || -> Vec<&str> { panic!("listed") }), None);
    }
}
