//! JSON to rows, driven by the schema: each field is written straight into
//! its slot of the record layout, and the fields no rule reads are checked,
//! not stored. A line that fits the schema is read from its bytes in one
//! pass (`direct.rs`); any other, by a `serde` `DeserializeSeed` over
//! `serde_json` (`slot.rs`), the reference, which says what is wrong with it.
//!
//! A record that does not fit the schema gets an [`IngestError`] naming the
//! field path; nothing panics on any input.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

mod direct;
mod fields;
mod slot;
#[cfg(test)]
mod tests;
mod values;

use fields::{FieldNames, NameOrder, Template};
use slot::Slot;
use std::fmt;
use values::json_message;
pub use values::value_json;

use qlp_compiler::layout::{Layout, Row};
use qlp_compiler::program::{Program, RecordId, TExpr, TExprKind};
use qlp_compiler::text::short_eq;
use qlp_compiler::Type;
use serde::de::DeserializeSeed;

/// One thing wrong with a record (or, as a warning, odd about it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where in the record: `author.age`, `tags[2]`; empty for the record itself.
    pub path: String,
    /// What is wrong with the value there.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "`{}`: {}", self.path, self.message)
        }
    }
}

/// Why a record could not be read: every problem found in it, in the
/// order of the record, up to [`MAX_PROBLEMS`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestError {
    /// The problems (never empty).
    pub problems: Vec<Problem>,
    /// Problems found beyond the first [`MAX_PROBLEMS`].
    pub more: usize,
}

/// The most problems of one record reported (and warnings kept).
pub const MAX_PROBLEMS: usize = 16;

impl IngestError {
    /// A record with one problem.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> IngestError {
        IngestError {
            problems: vec![Problem {
                path: path.into(),
                message: message.into(),
            }],
            more: 0,
        }
    }
}

impl fmt::Display for IngestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, problem) in self.problems.iter().enumerate() {
            if index > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{problem}")?;
        }
        if self.more > 0 {
            write!(f, " (and {} more)", self.more)?;
        }
        Ok(())
    }
}

impl std::error::Error for IngestError {}

/// What ingestion found while decoding one record.
struct Findings {
    problems: Vec<Problem>,
    more: usize,
    /// Fields the schema does not declare, as warnings (problems under `strict`).
    warnings: Vec<Problem>,
    strict: bool,
    /// Buffers for the elements of lists, kept from record to record.
    lists: Vec<Vec<u8>>,
}

impl Findings {
    fn problem(&mut self, problem: Problem) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(problem);
        } else {
            self.more += 1;
        }
    }
}

/// What ingestion needs to know about a program: the layout, field names
/// and which fields rules read.
///
/// INVARIANT: every row it builds passes `qlp_compiler::layout::validate`
/// for its layout (each string and list slot points inside the row), so
/// `PolicySet` marks its rows valid for native code without checking them.
#[derive(Debug)]
pub struct IngestPlan {
    layout: Layout,
    /// For each record type, what decoding one needs.
    records: Vec<RecordPlan>,
}

/// What ingestion needs to know about one record type.
#[derive(Debug)]
struct RecordPlan {
    /// The fields, in schema order.
    fields: Vec<FieldPlan>,
    /// Field name → field index.
    index: FieldNames,
    /// The fields sorted by name.
    by_name: NameOrder,
    /// After each field (and first, at 0): the field the last record listed
    /// next. Records of one stream list their keys in one order, whatever
    /// order that is, so this guess is nearly always right; it is checked
    /// against the key, so a wrong one only costs the other ways. Shared by
    /// the threads that ingest (relaxed: a hint).
    learned: Vec<AtomicU32>,
    /// The keys in the order the first record read whole by the table
    /// listed them (types of at most 64 fields).
    template: OnceLock<Template>,
}

/// One field of a record type.
#[derive(Debug)]
struct FieldPlan {
    name: Box<[u8]>,
    ty: Type,
    /// Whether some rule, exemption or function reads it (the others are
    /// checked, not stored).
    used: bool,
    /// Its default as JSON, decoded like a value the record gave when the
    /// record leaves it out.
    default: Option<String>,
    /// Where it is in the record's part of a row, and its size.
    offset: usize,
    size: usize,
}

impl FieldPlan {
    /// Whether a record must give the field: it has no default and is not
    /// optional.
    fn required(&self) -> bool {
        self.default.is_none() && !matches!(self.ty, Type::Optional(_))
    }
}

/// The largest element buffer kept for the next record, in bytes.
const KEPT_LIST_BYTES: usize = 1 << 16;

impl IngestPlan {
    /// The plan for a program's record types, laid out by `layout`.
    pub fn new(program: &Program, layout: Layout) -> IngestPlan {
        let mut used = HashSet::new();
        let mut collect = |expr: &TExpr| collect_fields(expr, &mut used);
        for rule in &program.rules {
            collect(&rule.when);
        }
        for exempt in &program.exemptions {
            collect(&exempt.when);
        }
        for def in &program.fns {
            collect(&def.body);
        }
        // State declarations read their keys, times and filters from records too.
        for def in &program.states {
            def.exprs().for_each(&mut collect);
        }
        // Fields tools read from rows: the record's id, and times that may serve as `now`.
        for (record_index, record) in program.records.iter().enumerate() {
            for (field_index, field) in record.fields.iter().enumerate() {
                let id_like = field.name == "id" && matches!(field.ty, Type::String);
                let time_like = matches!(field.ty.strip_optional(), Type::Time);
                if id_like || time_like {
                    used.insert((RecordId(record_index as u32), field_index as u32));
                }
            }
        }
        let records = program
            .records
            .iter()
            .enumerate()
            .map(|(r, record)| {
                let id = RecordId(r as u32);
                let fields = record
                    .fields
                    .iter()
                    .enumerate()
                    .map(|(f, field)| FieldPlan {
                        name: field.name.as_bytes().into(),
                        ty: field.ty.clone(),
                        used: used.contains(&(id, f as u32)),
                        default: field
                            .default
                            .as_ref()
                            .map(|v| value_json(program, &field.ty, v).to_string()),
                        offset: layout.field_offset(id, f as u32) as usize,
                        size: layout.size_of(&field.ty) as usize,
                    })
                    .collect();
                RecordPlan {
                    fields,
                    index: record
                        .fields
                        .iter()
                        .enumerate()
                        .map(|(i, f)| (f.name.as_bytes().into(), i))
                        .collect(),
                    by_name: NameOrder::new(record),
                    learned: (0..=record.fields.len()).map(|_| AtomicU32::new(u32::MAX)).collect(),
                    template: OnceLock::new(),
                }
            })
            .collect();
        IngestPlan { layout, records }
    }

    /// The plan of record type `record`.
    fn record(&self, record: RecordId) -> Option<&RecordPlan> {
        self.records.get(record.index())
    }

    /// The row layout records are decoded into.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Decodes one JSON record of type `record` into a row. Fields the
    /// schema does not declare are ignored.
    pub fn ingest(&self, program: &Program, record: RecordId, json: &[u8]) -> Result<Row, IngestError> {
        self.ingest_checked(program, record, json, false, &mut Vec::new())
    }

    /// Decodes one JSON record of type `record` into a row, reporting every
    /// problem of the record at once. Each field the schema does not
    /// declare is a warning added to `warnings` (at most [`MAX_PROBLEMS`]),
    /// or, when `strict`, a problem.
    pub fn ingest_checked(
        &self,
        program: &Program,
        record: RecordId,
        json: &[u8],
        strict: bool,
        warnings: &mut Vec<Problem>,
    ) -> Result<Row, IngestError> {
        self.ingest_by(program, record, json, strict, warnings, true)
    }

    /// [`IngestPlan::ingest_checked`], with the fast path tried first or not.
    fn ingest_by(
        &self,
        program: &Program,
        record: RecordId,
        json: &[u8],
        strict: bool,
        warnings: &mut Vec<Problem>,
        try_fast: bool,
    ) -> Result<Row, IngestError> {
        // The arena and the path are per-thread scratch, reused across records.
        SCRATCH.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            let (fixed, arena, path, lists) = &mut *scratch;
            arena.clear();
            path.clear();
            let mut findings = Findings {
                problems: Vec::new(),
                more: 0,
                warnings: std::mem::take(warnings),
                strict,
                lists: std::mem::take(lists),
            };
            let result = self.ingest_with(program, record, json, fixed, arena, path, &mut findings, try_fast);
            *warnings = findings.warnings;
            *lists = findings.lists;
            result
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn ingest_with(
        &self,
        program: &Program,
        record: RecordId,
        json: &[u8],
        fixed: &mut Vec<u8>,
        arena: &mut Vec<u8>,
        path: &mut Vec<Segment>,
        findings: &mut Findings,
        try_fast: bool,
    ) -> Result<Row, IngestError> {
        let size = self.layout.record(record).map_or(0, |r| r.size) as usize;
        fixed.clear();
        fixed.resize(size, 0);
        if try_fast {
            let out = direct::Out {
                arena,
                base: size,
                lists: &mut findings.lists,
            };
            if direct::decode(self, program, record, json, fixed, out).is_some() {
                return Ok(row_of(fixed, arena));
            }
            // Decoded again, from the start, by the path that says why not.
            fixed.fill(0);
            arena.clear();
        }
        let seed = Slot {
            plan: self,
            program,
            ty: &Type::Record(record),
            slot: fixed,
            arena,
            base: size,
            path,
            findings,
            store: true,
        };
        // A line of valid UTF-8 (checked at once, with SIMD: Chinese text
        // is slow to check byte by byte) is parsed as text, whose strings
        // need no check of their own; other lines as bytes, so that the
        // error says where the bad byte is.
        let result = match simdutf8::basic::from_utf8(json) {
            Ok(text) => {
                let mut deserializer = serde_json::Deserializer::from_str(text);
                seed.deserialize(&mut deserializer).and_then(|()| deserializer.end())
            }
            Err(_) => {
                let mut deserializer = serde_json::Deserializer::from_slice(json);
                seed.deserialize(&mut deserializer).and_then(|()| deserializer.end())
            }
        };
        if let Err(error) = result {
            findings.problem(Problem {
                path: String::new(),
                message: json_message(&error, json),
            });
        }
        if !findings.problems.is_empty() {
            return Err(IngestError {
                problems: std::mem::take(&mut findings.problems),
                more: findings.more,
            });
        }
        Ok(row_of(fixed, arena))
    }
}

impl RecordPlan {
    /// The index of field `key`. The field that followed the previous one
    /// in the last record is tried first, then the next in schema order or
    /// by name (the orders records usually follow), then the table.
    #[inline]
    fn field(&self, key: &str, previous: Option<usize>) -> Option<usize> {
        let is_key = |index: usize| {
            self.fields
                .get(index)
                .is_some_and(|field| short_eq(&field.name, key.as_bytes()))
        };
        let learned = self.learned.get(previous.map_or(0, |p| p + 1));
        if let Some(guess) = learned.map(|l| l.load(Ordering::Relaxed) as usize) {
            if is_key(guess) {
                return Some(guess);
            }
        }
        let found = self.find_field(key, previous, is_key);
        if let (Some(learned), Some(index)) = (learned, found) {
            learned.store(index as u32, Ordering::Relaxed);
        }
        found
    }

    /// The field the last record listed after `previous` (or first), and
    /// its name.
    #[inline]
    fn learned_next(&self, previous: Option<usize>) -> Option<(usize, &[u8])> {
        let learned = self.learned.get(previous.map_or(0, |p| p + 1))?;
        let index = learned.load(Ordering::Relaxed) as usize;
        Some((index, &self.fields.get(index)?.name))
    }

    /// [`RecordPlan::field`] without the learned order.
    #[inline(never)]
    fn find_field(&self, key: &str, previous: Option<usize>, is_key: impl Fn(usize) -> bool) -> Option<usize> {
        let next = previous.map_or(0, |p| p + 1);
        if is_key(next) {
            return Some(next);
        }
        let order = &self.by_name;
        let next_by_name = previous.and_then(|p| order.rank.get(p)).map_or(0, |rank| rank + 1);
        if let Some(&index) = order.fields.get(next_by_name).filter(|&&i| is_key(i)) {
            return Some(index);
        }
        self.index.get(key.as_bytes()).copied()
    }

    /// Whether field `index` is stored (some rule reads it).
    fn stores(&self, index: usize) -> bool {
        self.fields.get(index).is_some_and(|f| f.used)
    }

    /// Field `index`'s default as JSON, if it has one.
    fn default(&self, index: usize) -> Option<&str> {
        self.fields.get(index)?.default.as_deref()
    }

    /// The part of `slot` (a record's) that field `index` is written to;
    /// empty for a field not stored.
    fn field_slot<'s>(&self, slot: &'s mut [u8], index: usize, store: bool) -> &'s mut [u8] {
        match self.fields.get(index) {
            Some(field) if store => slot.get_mut(field.offset..field.offset + field.size).unwrap_or(&mut []),
            _ => &mut [],
        }
    }
}

/// A row of its fixed part and its arena.
fn row_of(fixed: &[u8], arena: &[u8]) -> Row {
    let mut bytes = Vec::with_capacity(fixed.len() + arena.len());
    bytes.extend_from_slice(fixed);
    bytes.extend_from_slice(arena);
    Row::from_bytes(bytes)
}

/// Appends `data` to `arena`, 8-aligned; its offset in the row, whose
/// fixed part takes the first `base` bytes.
fn append(arena: &mut Vec<u8>, base: usize, data: &[u8]) -> u64 {
    let at = arena.len().next_multiple_of(8);
    arena.resize(at, 0);
    arena.extend_from_slice(data);
    (base + at) as u64
}

/// Per-thread buffers of ingestion, reused across records: the fixed part
/// of a row, its arena, the field path, and buffers for list elements.
type Scratch = (Vec<u8>, Vec<u8>, Vec<Segment>, Vec<Vec<u8>>);

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> =
        const { std::cell::RefCell::new((Vec::new(), Vec::new(), Vec::new(), Vec::new())) };
}

fn collect_fields(expr: &TExpr, used: &mut HashSet<(RecordId, u32)>) {
    if let TExprKind::Field(base, index) = &expr.kind {
        if let Type::Record(record) = base.ty {
            used.insert((record, *index));
        }
    }
    for child in expr.children() {
        collect_fields(child, used);
    }
}

/// One step of a field path; names are looked up only to render an error.
#[derive(Debug, Clone)]
enum Segment {
    Field(RecordId, usize),
    Index(usize),
}

fn render_path(program: &Program, path: &[Segment]) -> String {
    let mut out = String::new();
    for segment in path {
        match segment {
            Segment::Field(record, index) => {
                if !out.is_empty() {
                    out.push('.');
                }
                let name = program
                    .record(*record)
                    .and_then(|r| r.fields.get(*index))
                    .map_or("?", |f| f.name.as_str());
                out.push_str(name);
            }
            Segment::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}
