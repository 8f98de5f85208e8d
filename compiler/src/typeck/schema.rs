//! Declaring the schema: enums, records and their fields.

use super::*;
use crate::inline::InlineGraph;
use crate::layout::MAX_INLINE_DEPTH;

impl<'a> Checker<'a> {
    pub(super) fn declare_enums(&mut self) {
        for &(file, index) in self.scope.declarations(DeclKind::Enum) {
            let Some(Item::Enum(decl)) = self.item(file, index) else {
                continue;
            };
            self.file = file;
            let mut variants: Vec<String> = Vec::new();
            let mut names = HashSet::new();
            for variant in &decl.variants {
                if !names.insert(variant.name.as_str()) {
                    self.error(
                        "qlp::duplicate_variant",
                        variant.span,
                        format!("enum `{}` lists `{}` twice", decl.name.name, variant.name),
                    )
                    .label = String::from("listed again here");
                } else {
                    variants.push(variant.name.clone());
                }
            }
            if variants.is_empty() {
                self.error(
                    "qlp::empty_enum",
                    decl.name.span,
                    format!("enum `{}` has no variants", decl.name.name),
                )
                .help = Some(String::from("list its values: `enum Kind { post, comment }`"));
                variants.push(String::from("_"));
            }
            self.program.enums.push(EnumDef {
                name: decl.name.name.clone(),
                variants,
                location: Location { file, span: decl.span },
            });
        }
    }

    pub(super) fn declare_records(&mut self) {
        for &(file, index) in self.scope.declarations(DeclKind::Record) {
            let Some(Item::Record(decl)) = self.item(file, index) else {
                continue;
            };
            self.program.records.push(RecordDef {
                name: decl.name.name.clone(),
                fields: Vec::new(),
                location: Location { file, span: decl.span },
            });
        }
    }

    /// Checks each field's default (`strikes: int = 0`) against its type:
    /// once every record and constant is known, since a default may be a
    /// record value or name a constant.
    pub(super) fn check_field_defaults(&mut self) {
        let declarations = self.scope.declarations(DeclKind::Record).to_vec();
        for (record_index, (file, index)) in declarations.into_iter().enumerate() {
            let Some(Item::Record(decl)) = self.item(file, index).cloned() else {
                continue;
            };
            self.file = file;
            // Each field's index by name, so that many defaults take linear time.
            let index_of: HashMap<String, usize> = self
                .program
                .records
                .get(record_index)
                .map(|r| r.fields.iter().enumerate().map(|(i, f)| (f.name.clone(), i)).collect())
                .unwrap_or_default();
            for field in &decl.fields {
                let Some(default) = &field.default else { continue };
                let Some(&at) = index_of.get(&field.name.name) else {
                    continue;
                };
                let Some(ty) = self
                    .program
                    .records
                    .get(record_index)
                    .and_then(|r| r.fields.get(at))
                    .map(|f| f.ty.clone())
                else {
                    continue;
                };
                let (value, ok) = self.given_value(&ty, default, 0);
                if !ok {
                    continue;
                }
                let slot = self
                    .program
                    .records
                    .get_mut(record_index)
                    .and_then(|r| r.fields.get_mut(at));
                if let Some(slot) = slot {
                    slot.default = Some(value);
                }
            }
        }
    }

    pub(super) fn resolve_record_fields(&mut self) {
        let declarations = self.scope.declarations(DeclKind::Record);
        for (record_index, &(file, index)) in declarations.iter().enumerate() {
            let Some(Item::Record(decl)) = self.item(file, index) else {
                continue;
            };
            self.file = file;
            let mut fields: Vec<FieldDef> = Vec::new();
            let mut names = HashSet::new();
            for field in &decl.fields {
                let ty = self.resolve_type(&field.ty);
                if !names.insert(field.name.name.as_str()) {
                    self.error(
                        "qlp::duplicate_field",
                        field.name.span,
                        format!("record `{}` declares `{}` twice", decl.name.name, field.name.name),
                    )
                    .label = String::from("declared again here");
                    continue;
                }
                fields.push(FieldDef {
                    name: field.name.name.clone(),
                    ty,
                    default: None,
                    span: field.span,
                });
            }
            if let Some(record) = self.program.records.get_mut(record_index) {
                record.fields = fields;
            }
        }
        // A record may not contain itself except through a list: records and
        // optionals are laid out inline in a row, so only a list's elements
        // (in the row's arena) can hold the record again.
        let graph = InlineGraph::new(&self.program);
        let recursive: Vec<_> = (0..self.program.records.len())
            .map(|index| RecordId(index as u32))
            .filter_map(|id| {
                let record = self.program.record(id)?;
                let field = record.fields.get(graph.self_holding_field(&self.program, id)?)?;
                Some((record.location.file, field.span, record.name.clone()))
            })
            .collect();
        for (file, span, name) in &recursive {
            self.file = *file;
            self.error(
                "qlp::recursive_record",
                *span,
                format!("record `{name}` contains itself"),
            )
            .help = Some(String::from(
                "make the field a list (`[T]`): a record, optional or not, is stored inside the record holding it",
            ));
        }
        // Sizes and depths are measured only without cycles (reported above).
        if !recursive.is_empty() {
            return;
        }
        // Records nested in records are bounded: rows are checked, decoded
        // and laid out by walking them. Said of the records one level past
        // the limit (every record holding one is too deep as well, and fixed
        // with it): one error for a chain of any length.
        let depths = inline_depths(&self.program, &graph);
        self.report_records(
            depths.into_iter().map(|d| d as u64),
            |depth| depth == MAX_INLINE_DEPTH as u64 + 1,
            "qlp::record_too_deep",
            |name, depth| {
                format!(
                    "record `{name}` nests records {depth} deep, above the limit of {MAX_INLINE_DEPTH} (as does every record holding it)"
                )
            },
            "records and optionals are stored inside the record holding them; hold deeper parts in a list (`[T]`)",
        );
        // A chain of types each holding two of the next doubles a row at
        // each step: a record's inline size (what a row of it takes besides
        // its strings' and lists' bytes) is bounded.
        self.report_records(
            inline_sizes(&self.program, &graph),
            |size| size > MAX_RECORD_BYTES,
            "qlp::record_too_large",
            |name, size| format!("record `{name}` takes {size} bytes in each row, above the limit of {MAX_RECORD_BYTES}"),
            "records and optionals are stored inside the record holding them; hold large or repeated parts in a list (`[T]`)",
        );
    }

    /// Reports, at its declaration, each record whose measure (by record
    /// index, from `measures`) is `past` a limit.
    fn report_records(
        &mut self,
        measures: impl IntoIterator<Item = u64>,
        past: impl Fn(u64) -> bool,
        code: &'static str,
        message: impl Fn(&str, u64) -> String,
        help: &str,
    ) {
        let found: Vec<_> = self
            .program
            .records
            .iter()
            .zip(measures)
            .filter(|&(_, measure)| past(measure))
            .map(|(record, measure)| {
                (
                    record.location.file,
                    record.location.span,
                    message(&record.name, measure),
                )
            })
            .collect();
        for (file, span, text) in found {
            self.file = file;
            self.error(code, span, text).help = Some(String::from(help));
        }
    }

    pub(super) fn resolve_type(&mut self, ty: &ast::TypeExpr) -> Type {
        match &ty.kind {
            ast::TypeExprKind::List(element) => Type::List(Box::new(self.resolve_type(element))),
            ast::TypeExprKind::Optional(inner) => {
                let inner_ty = self.resolve_type(inner);
                if matches!(inner_ty, Type::Optional(_)) {
                    self.error("qlp::double_optional", ty.span, "a type cannot be optional twice")
                        .help = Some(String::from("write `T?` once"));
                }
                inner_ty.optional()
            }
            ast::TypeExprKind::Named(name) => match name.name.as_str() {
                "bool" => Type::Bool,
                "int" => Type::Int,
                "float" => Type::Float,
                "string" => Type::String,
                "time" => Type::Time,
                "duration" => Type::Duration,
                other => match self.scope.lookup(other, self.file) {
                    Lookup::Found(Decl {
                        kind: DeclKind::Enum,
                        index,
                        ..
                    }) => Type::Enum(EnumId(index)),
                    Lookup::Found(Decl {
                        kind: DeclKind::Record,
                        index,
                        ..
                    }) => Type::Record(RecordId(index)),
                    Lookup::Found(decl) => {
                        self.error(
                            "qlp::not_a_type",
                            name.span,
                            format!("`{other}` is {}, not a type", decl.kind.describe()),
                        )
                        .label = String::from("expected a type");
                        Type::Error
                    }
                    lookup => {
                        self.unresolved(lookup, name, &[DeclKind::Enum, DeclKind::Record], "type");
                        Type::Error
                    }
                },
            },
        }
    }

    /// Reports a name that did not resolve.
    pub(super) fn unresolved(&mut self, lookup: Lookup, name: &ast::Ident, kinds: &[DeclKind], what: &str) {
        self.unresolved_among(lookup, name, kinds, what, &[]);
    }

    /// Reports a name that did not resolve, suggesting `locals` too.
    pub(super) fn unresolved_among(
        &mut self,
        lookup: Lookup,
        name: &ast::Ident,
        kinds: &[DeclKind],
        what: &str,
        locals: &[String],
    ) {
        match lookup {
            Lookup::NotImported(decl) => {
                let declared_in = self.files.sources.name(decl.file).to_string();
                let import = self.relative_import(decl.file);
                self.error(
                    "qlp::not_imported",
                    name.span,
                    format!(
                        "`{}` is declared in `{declared_in}`, which this file does not import",
                        name.name
                    ),
                )
                .set_label("not visible here")
                .help = Some(format!("add `import \"{import}\"` at the top of this file"));
            }
            _ => {
                let mut candidates = self.scope.visible_names(self.file, kinds);
                if kinds.contains(&DeclKind::Enum) {
                    candidates.extend(["bool", "int", "float", "string", "time", "duration"]);
                }
                candidates.extend(locals.iter().map(String::as_str));
                // A capitalized name is a declared type: `Listing` is not a
                // misspelled `string`.
                let capital = |s: &str| s.starts_with(char::is_uppercase);
                let hint = self
                    .suggestions
                    .suggest(&name.name, || candidates)
                    .filter(|hint| capital(hint) == capital(&name.name))
                    .map(str::to_string);
                let diagnostic = self
                    .error(
                        "qlp::unknown_name",
                        name.span,
                        format!("unknown {what} `{}`", name.name),
                    )
                    .set_label(format!("not a known {what}"));
                if let Some(hint) = &hint {
                    diagnostic.set_fix(name.span, hint.clone());
                }
                if let Some(hint) = hint {
                    diagnostic.help = Some(format!("did you mean `{hint}`?"));
                }
            }
        }
    }

    /// The import path from the current file to `target`.
    pub(super) fn relative_import(&self, target: FileId) -> String {
        let from = self.files.path(self.file).and_then(|p| p.parent()).map(clean_path);
        let to = self.files.path(target).map(clean_path).unwrap_or_default();
        let Some(from) = from else {
            return to.display().to_string();
        };
        let from_parts: Vec<_> = from.components().collect();
        let to_parts: Vec<_> = to.components().collect();
        let common = from_parts.iter().zip(&to_parts).take_while(|(a, b)| a == b).count();
        let mut path = std::path::PathBuf::new();
        for _ in common..from_parts.len() {
            path.push("..");
        }
        for part in to_parts.iter().skip(common) {
            path.push(part);
        }
        path.display().to_string()
    }
}

/// The largest inline size of a record, in bytes (the shipped `Content` takes
/// ~400).
const MAX_RECORD_BYTES: u64 = 64 * 1024;

/// Each record type's nesting depth: 1 for a record holding no record
/// inline, one more than the deepest record it holds otherwise.
fn inline_depths(program: &Program, graph: &InlineGraph) -> Vec<usize> {
    let mut depths = vec![0usize; program.records.len()];
    for &record in &graph.order {
        let fields = program.record(record).map_or(&[][..], |r| r.fields.as_slice());
        let deepest = fields
            .iter()
            .filter_map(|f| crate::inline::held_inline(&f.ty))
            .map(|inner| depths.get(inner.index()).copied().unwrap_or(0))
            .max()
            .unwrap_or(0);
        if let Some(depth) = depths.get_mut(record.index()) {
            *depth = deepest.saturating_add(1);
        }
    }
    depths
}

/// Each record type's inline size, as the row layout lays it out (records
/// and optionals inline, strings and lists as two words), saturating; in
/// one pass over the types, each after the records it holds.
fn inline_sizes(program: &Program, graph: &InlineGraph) -> Vec<u64> {
    let mut sizes: Vec<Option<u64>> = vec![None; program.records.len()];
    for &record in &graph.order {
        let fields = program.record(record).map_or(&[][..], |r| r.fields.as_slice());
        let size = fields
            .iter()
            .fold(0u64, |total, f| total.saturating_add(slot_size(&f.ty, &sizes)));
        if let Some(slot) = sizes.get_mut(record.index()) {
            *slot = Some(size);
        }
    }
    sizes.into_iter().map(Option::unwrap_or_default).collect()
}

/// The bytes a slot of type `ty` takes (see `layout::Layout::size_of`).
fn slot_size(ty: &Type, sizes: &[Option<u64>]) -> u64 {
    match ty {
        Type::String | Type::List(_) => 16,
        Type::Record(id) => sizes.get(id.index()).copied().flatten().unwrap_or(0),
        Type::Optional(inner) => 8u64.saturating_add(slot_size(inner, sizes)),
        _ => 8,
    }
}
