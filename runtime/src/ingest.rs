//! JSON to rows, driven by the schema: a `serde` `DeserializeSeed` writes
//! each field straight into its slot of the record layout, without building
//! a generic JSON tree first, and skips (after checking presence) the fields
//! no rule reads.
//!
//! A record that does not fit the schema gets an [`IngestError`] naming the
//! field path; nothing panics on any input.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU32, Ordering};

mod fields;
mod values;

use fields::{FieldNames, NameOrder, Seen};
use std::fmt;
pub use values::value_json;
use values::{epoch_micros, json_message};

use qlp_compiler::layout::{write_u64, Layout, Row};
use qlp_compiler::program::{Program, RecordId, TExpr, TExprKind};
use qlp_compiler::Type;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

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
#[derive(Debug)]
pub struct IngestPlan {
    layout: Layout,
    /// For each record type: field name → field index.
    field_index: Vec<FieldNames>,
    /// For each record type: its fields sorted by name.
    by_name: Vec<NameOrder>,
    /// For each record type, after each field (and first, at 0): the field
    /// the last record listed next. Records of one stream list their keys
    /// in one order, whatever order that is, so this guess is nearly always
    /// right; it is checked against the key, so a wrong one only costs the
    /// other ways. Shared by the threads that ingest (relaxed: a hint).
    learned: Vec<Vec<AtomicU32>>,
    /// For each record type and field: whether some rule, exemption or
    /// function reads it (the others are checked, not stored).
    used: Vec<Vec<bool>>,
    /// For each record type and field: its default as JSON, decoded like
    /// a value the record gave when the record leaves it out.
    defaults: Vec<Vec<Option<String>>>,
}

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
        IngestPlan {
            layout,
            defaults: program
                .records
                .iter()
                .map(|record| {
                    record
                        .fields
                        .iter()
                        .map(|f| f.default.as_ref().map(|v| value_json(program, &f.ty, v).to_string()))
                        .collect()
                })
                .collect(),
            by_name: program.records.iter().map(NameOrder::new).collect(),
            learned: program
                .records
                .iter()
                .map(|r| (0..=r.fields.len()).map(|_| AtomicU32::new(u32::MAX)).collect())
                .collect(),
            field_index: program
                .records
                .iter()
                .map(|r| {
                    r.fields
                        .iter()
                        .enumerate()
                        .map(|(i, f)| (f.name.as_bytes().into(), i))
                        .collect()
                })
                .collect(),
            used: program
                .records
                .iter()
                .enumerate()
                .map(|(r, record)| {
                    (0..record.fields.len())
                        .map(|f| used.contains(&(RecordId(r as u32), f as u32)))
                        .collect()
                })
                .collect(),
        }
    }

    /// The index of field `key` of `record`. The field that followed the
    /// previous one in the last record is tried first, then the next in
    /// schema order or by name (the orders records usually follow), then
    /// the table.
    fn field(&self, program: &Program, record: RecordId, key: &str, previous: Option<usize>) -> Option<usize> {
        let fields = &program.record(record)?.fields;
        let is_key = |index: usize| fields.get(index).is_some_and(|f| f.name == key);
        let slot = previous.map_or(0, |p| p + 1);
        let learned = self.learned.get(record.index()).and_then(|l| l.get(slot));
        if let Some(guess) = learned.map(|l| l.load(Ordering::Relaxed) as usize) {
            if is_key(guess) {
                return Some(guess);
            }
        }
        let found = self.find_field(record, key, previous, is_key);
        if let (Some(learned), Some(index)) = (learned, found) {
            learned.store(index as u32, Ordering::Relaxed);
        }
        found
    }

    /// [`IngestPlan::field`] without the learned order.
    fn find_field(
        &self,
        record: RecordId,
        key: &str,
        previous: Option<usize>,
        is_key: impl Fn(usize) -> bool,
    ) -> Option<usize> {
        let next = previous.map_or(0, |p| p + 1);
        if is_key(next) {
            return Some(next);
        }
        if let Some(order) = self.by_name.get(record.index()) {
            let next_by_name = previous.and_then(|p| order.rank.get(p)).map_or(0, |rank| rank + 1);
            if let Some(&index) = order.fields.get(next_by_name).filter(|&&i| is_key(i)) {
                return Some(index);
            }
        }
        self.field_index
            .get(record.index())
            .and_then(|m| m.get(key.as_bytes()))
            .copied()
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
        // The arena and the path are per-thread scratch, reused across records.
        SCRATCH.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            let (fixed, arena, path) = &mut *scratch;
            arena.clear();
            path.clear();
            let mut findings = Findings {
                problems: Vec::new(),
                more: 0,
                warnings: std::mem::take(warnings),
                strict,
            };
            let result = self.ingest_with(program, record, json, fixed, arena, path, &mut findings);
            *warnings = findings.warnings;
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
    ) -> Result<Row, IngestError> {
        let size = self.layout.record(record).map_or(0, |r| r.size) as usize;
        fixed.clear();
        fixed.resize(size, 0);
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
        // A line of valid UTF-8 (checked at once, at memory speed) is parsed
        // as text, whose strings need no check of their own; other lines as
        // bytes, so that the error says where the bad byte is.
        let result = match std::str::from_utf8(json) {
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
        let mut bytes = Vec::with_capacity(size + arena.len());
        bytes.extend_from_slice(fixed);
        bytes.extend_from_slice(arena);
        Ok(Row::from_bytes(bytes))
    }
}

thread_local! {
    static SCRATCH: std::cell::RefCell<(Vec<u8>, Vec<u8>, Vec<Segment>)> =
        const { std::cell::RefCell::new((Vec::new(), Vec::new(), Vec::new())) };
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

/// Decodes one value of type `ty` into `slot` (exactly its size), appending
/// strings and list elements to `arena`, whose first byte is at offset
/// `base` of the finished row. With `store` false the value is checked
/// against its type and nothing is written (a field no rule reads).
///
/// A value of the wrong type is a problem added to `findings`, and decoding
/// goes on with the next value, so that a record's every problem is
/// reported at once; only invalid JSON stops it.
struct Slot<'a, 'p> {
    plan: &'p IngestPlan,
    program: &'p Program,
    ty: &'p Type,
    slot: &'a mut [u8],
    arena: &'a mut Vec<u8>,
    base: usize,
    path: &'a mut Vec<Segment>,
    findings: &'a mut Findings,
    store: bool,
}

impl<'a, 'p> Slot<'a, 'p> {
    /// The slot for a value inside this one: of type `ty`, written to `slot`.
    fn child<'b>(&'b mut self, ty: &'p Type, slot: &'b mut [u8], store: bool) -> Slot<'b, 'p> {
        Slot {
            plan: self.plan,
            program: self.program,
            ty,
            slot,
            arena: self.arena,
            base: self.base,
            path: self.path,
            findings: self.findings,
            store,
        }
    }

    /// Notes a problem with the value here; decoding goes on.
    fn problem(&mut self, message: impl Into<String>) {
        let problem = Problem {
            path: render_path(self.program, self.path),
            message: message.into(),
        };
        self.findings.problem(problem);
    }

    /// Notes a problem with field `index` of `record`.
    fn field_problem(&mut self, record: RecordId, index: usize, message: String) {
        self.path.push(Segment::Field(record, index));
        self.problem(message);
        self.path.pop();
    }

    fn mismatch(&mut self, found: &str) {
        let name = self.type_name();
        self.problem(format!("expected `{name}`, found {found}"));
    }

    fn type_name(&self) -> String {
        self.ty.display(self.program).to_string()
    }

    fn write(&mut self, at: usize, word: u64) {
        write_u64(self.slot, at, word);
    }

    fn append(&mut self, data: &[u8]) -> u64 {
        if !self.store {
            return 0;
        }
        let at = self.arena.len().next_multiple_of(8);
        self.arena.resize(at, 0);
        self.arena.extend_from_slice(data);
        (self.base + at) as u64
    }

    /// Whether field `index` of `record` is stored (some rule reads it).
    fn used(&self, record: RecordId, index: usize) -> bool {
        self.plan
            .used
            .get(record.index())
            .and_then(|u| u.get(index))
            .copied()
            .unwrap_or(false)
    }

    /// A key the schema does not declare: a warning, or under `strict` a problem.
    fn unknown_field(&mut self, def: &qlp_compiler::program::RecordDef, key: &str) {
        // Keys come from records: bounded before they are compared or shown.
        let shown: String = key.chars().take(64).collect();
        let ellipsis = if shown.len() < key.len() { "…" } else { "" };
        let mut path = render_path(self.program, self.path);
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(&shown);
        path.push_str(ellipsis);
        let hint = qlp_compiler::resolve::suggest(&shown, def.fields.iter().map(|f| f.name.as_str()))
            .map(|name| format!(" (did you mean `{name}`?)"))
            .unwrap_or_default();
        let problem = Problem {
            path,
            message: format!("is not a field of `{}`{hint}", def.name),
        };
        if self.findings.strict {
            self.findings.problem(problem);
        } else if self.findings.warnings.len() < MAX_PROBLEMS {
            self.findings.warnings.push(problem);
        }
    }
}

impl<'de> DeserializeSeed<'de> for Slot<'_, '_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        // `deserialize_any` lets the visitor see whatever the JSON holds, so a
        // wrong kind of value is reported with its field path.
        match self.ty {
            Type::Optional(_) => deserializer.deserialize_option(self),
            _ => deserializer.deserialize_any(self),
        }
    }
}

impl<'de> Visitor<'de> for Slot<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a `{}`", self.ty.display(self.program))
    }

    fn visit_bool<E: de::Error>(mut self, v: bool) -> Result<(), E> {
        match self.ty {
            Type::Bool => self.write(0, u64::from(v)),
            _ => self.mismatch("a boolean"),
        }
        Ok(())
    }

    fn visit_i64<E: de::Error>(mut self, v: i64) -> Result<(), E> {
        match self.ty {
            Type::Int => self.write(0, v as u64),
            Type::Float => self.write(0, (v as f64).to_bits()),
            Type::Time => self.visit_f64(v as f64)?,
            _ => self.mismatch("a number"),
        }
        Ok(())
    }

    fn visit_u64<E: de::Error>(mut self, v: u64) -> Result<(), E> {
        match (self.ty, i64::try_from(v)) {
            (Type::Int | Type::Time, Ok(v)) => return self.visit_i64(v),
            (Type::Int, Err(_)) => self.problem(format!("{v} does not fit a 64-bit `int`")),
            (Type::Float | Type::Time, _) => return self.visit_f64(v as f64),
            _ => self.mismatch("a number"),
        }
        Ok(())
    }

    fn visit_f64<E: de::Error>(mut self, v: f64) -> Result<(), E> {
        match self.ty {
            Type::Float => self.write(0, v.to_bits()),
            Type::Int => self.problem(format!("expected an integer, found {v}")),
            Type::Time => match epoch_micros(v) {
                Ok(micros) => self.write(0, micros as u64),
                Err(message) => self.problem(message),
            },
            _ => self.mismatch("a number"),
        }
        Ok(())
    }

    fn visit_str<E: de::Error>(mut self, v: &str) -> Result<(), E> {
        match self.ty {
            Type::String => {
                let offset = self.append(v.as_bytes());
                self.write(0, offset);
                self.write(8, v.len() as u64);
            }
            Type::Time => match qlp_grammar::time::parse_time_in(v, &self.program.zone) {
                Ok(micros) => self.write(0, micros as u64),
                Err(message) => self.problem(message),
            },
            Type::Duration => match qlp_grammar::time::parse_duration(v) {
                Ok(micros) => self.write(0, micros as u64),
                Err(message) => self.problem(message),
            },
            Type::Enum(id) => {
                let def = self.program.enum_def(*id);
                match def.and_then(|e| e.variants.iter().position(|name| name == v)) {
                    Some(index) => self.write(0, index as u64),
                    None => {
                        let variants = def.map(|e| e.variants.join(", ")).unwrap_or_default();
                        let name = self.type_name();
                        let shown: String = v.chars().take(64).collect();
                        self.problem(format!("`{shown}` is not a `{name}` (one of: {variants})"));
                    }
                }
            }
            _ => self.mismatch("a string"),
        }
        Ok(())
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.visit_unit()
    }

    fn visit_unit<E: de::Error>(mut self) -> Result<(), E> {
        // An optional's presence stays 0.
        if !matches!(self.ty, Type::Optional(_)) {
            let name = self.type_name();
            self.problem(format!("is null, but `{name}` is not optional"));
        }
        Ok(())
    }

    fn visit_some<D: de::Deserializer<'de>>(mut self, deserializer: D) -> Result<(), D::Error> {
        let Type::Optional(inner) = self.ty else {
            return Err(de::Error::custom("unexpected optional"));
        };
        self.write(0, 1);
        let store = self.store;
        let slot = std::mem::take(&mut self.slot);
        let slot = slot.get_mut(8..).unwrap_or(&mut []);
        self.child(inner, slot, store).deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        let Type::List(element) = self.ty else {
            self.mismatch("a list");
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            return Ok(());
        };
        let store = self.store;
        let stride = if store {
            self.plan.layout.size_of(element) as usize
        } else {
            0
        };
        // Elements are decoded into their own buffer, whose strings go to the
        // shared arena; the buffer is appended once the list is complete.
        let mut elements: Vec<u8> = Vec::new();
        let mut count = 0usize;
        loop {
            elements.resize((count + 1) * stride, 0);
            let slot = elements.get_mut(count * stride..).unwrap_or(&mut []);
            self.path.push(Segment::Index(count));
            let next = seq.next_element_seed(self.child(element, slot, store))?;
            self.path.pop();
            if next.is_none() {
                break;
            }
            count += 1;
        }
        elements.truncate(count * stride);
        let offset = self.append(&elements);
        self.write(0, offset);
        self.write(8, count as u64);
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        let Type::Record(record) = self.ty else {
            self.mismatch("an object");
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            return Ok(());
        };
        let record = *record;
        let Some(def) = self.program.record(record) else {
            return Err(de::Error::custom("unknown record type"));
        };
        let mut seen = Seen::new(def.fields.len());
        let mut previous = None;
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let Some(index) = self.plan.field(self.program, record, key.as_ref(), previous) else {
                self.unknown_field(def, key.as_ref());
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            if seen.insert(index) {
                self.field_problem(record, index, String::from("appears twice"));
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            previous = Some(index);
            let Some(field) = def.fields.get(index) else { continue };
            // A field no rule reads is checked against its type, not stored.
            let store = self.store && self.used(record, index);
            let (offset, size) = if store {
                let offset = self.plan.layout.field_offset(record, index as u32) as usize;
                (offset, self.plan.layout.size_of(&field.ty) as usize)
            } else {
                (0, 0)
            };
            self.path.push(Segment::Field(record, index));
            let slot = std::mem::take(&mut self.slot);
            let field_slot = slot.get_mut(offset..offset + size).unwrap_or(&mut []);
            map.next_value_seed(self.child(&field.ty, field_slot, store))?;
            self.slot = slot;
            self.path.pop();
        }
        for (index, field) in def.fields.iter().enumerate() {
            if seen.contains(index) {
                continue;
            }
            if let Some(Some(json)) = self.plan.defaults.get(record.index()).and_then(|d| d.get(index)) {
                self.decode_default(record, index, field, json);
                continue;
            }
            if !matches!(field.ty, Type::Optional(_)) {
                let name = field.ty.display(self.program).to_string();
                self.field_problem(record, index, format!("is missing (a required `{name}`)"));
            }
        }
        Ok(())
    }
}

impl Slot<'_, '_> {
    /// Writes field `index`'s default (checked with the policies, so it fits).
    fn decode_default(&mut self, record: RecordId, index: usize, field: &qlp_compiler::program::FieldDef, json: &str) {
        if !(self.store && self.used(record, index)) {
            return;
        }
        let offset = self.plan.layout.field_offset(record, index as u32) as usize;
        let size = self.plan.layout.size_of(&field.ty) as usize;
        self.path.push(Segment::Field(record, index));
        let slot = std::mem::take(&mut self.slot);
        let field_slot = slot.get_mut(offset..offset + size).unwrap_or(&mut []);
        let mut deserializer = serde_json::Deserializer::from_str(json);
        let plan = self.plan;
        let program = self.program;
        let child = Slot {
            plan,
            program,
            ty: &field.ty,
            slot: field_slot,
            arena: self.arena,
            base: self.base,
            path: self.path,
            findings: self.findings,
            store: true,
        };
        if let Err(error) = child.deserialize(&mut deserializer) {
            self.problem(format!("its default does not decode: {error}"));
        }
        self.slot = slot;
        self.path.pop();
    }
}

/// A field name, borrowed from the input when it has no escapes (serde's
/// own `Cow<str>` always copies).
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = std::borrow::Cow<'de, str>;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = std::borrow::Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(std::borrow::Cow::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(std::borrow::Cow::Owned(v.to_string()))
    }
}
