//! JSON to rows, driven by the schema: a `serde` `DeserializeSeed` writes
//! each field straight into its slot of the record layout, without building
//! a generic JSON tree first, and skips (after checking presence) the fields
//! no rule reads.
//!
//! A record that does not fit the schema gets an [`IngestError`] naming the
//! field path; nothing panics on any input.

use std::collections::{HashMap, HashSet};
use std::fmt;

use qlp_compiler::layout::{write_u64, Layout, Row};
use qlp_compiler::program::{Program, RecordId, TExpr, TExprKind};
use qlp_compiler::Type;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// Why a record could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestError {
    /// Where in the record: `author.age`, `tags[2]`; empty for the record itself.
    pub path: String,
    /// What is wrong with the value there.
    pub message: String,
}

impl fmt::Display for IngestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "`{}`: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for IngestError {}

/// What ingestion needs to know about a program: the layout, field names
/// and which fields rules read.
#[derive(Debug)]
pub struct IngestPlan {
    layout: Layout,
    /// For each record type: field name → field index.
    field_index: Vec<FieldNames>,
    /// For each record type: its fields sorted by name.
    by_name: Vec<NameOrder>,
    /// For each record type and field: whether some rule, exemption or
    /// function reads it.
    used: Vec<Vec<bool>>,
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
            by_name: program.records.iter().map(NameOrder::new).collect(),
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

    /// The index of field `key` of `record`. Records usually list their
    /// fields in schema order or sorted by name, so the field after the
    /// previous one, in either order, is tried before the table.
    fn field(&self, program: &Program, record: RecordId, key: &str, previous: Option<usize>) -> Option<usize> {
        let fields = &program.record(record)?.fields;
        let is_key = |index: usize| fields.get(index).is_some_and(|f| f.name == key);
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

    /// Decodes one JSON record of type `record` into a row.
    pub fn ingest(&self, program: &Program, record: RecordId, json: &[u8]) -> Result<Row, IngestError> {
        // The arena and the path are per-thread scratch, reused across records.
        SCRATCH.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            let (fixed, arena, path) = &mut *scratch;
            arena.clear();
            path.clear();
            self.ingest_with(program, record, json, fixed, arena, path)
        })
    }

    fn ingest_with(
        &self,
        program: &Program,
        record: RecordId,
        json: &[u8],
        fixed: &mut Vec<u8>,
        arena: &mut Vec<u8>,
        path: &mut Vec<Segment>,
    ) -> Result<Row, IngestError> {
        let size = self.layout.record(record).map_or(0, |r| r.size) as usize;
        fixed.clear();
        fixed.resize(size, 0);
        let mut failure = None;
        let seed = Slot {
            plan: self,
            program,
            ty: &Type::Record(record),
            slot: fixed,
            arena,
            base: size,
            path,
            failure: &mut failure,
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
            return Err(failure.unwrap_or_else(|| IngestError {
                path: String::new(),
                message: json_message(&error),
            }));
        }
        let mut bytes = Vec::with_capacity(size + arena.len());
        bytes.extend_from_slice(fixed);
        bytes.extend_from_slice(arena);
        Ok(Row::from_bytes(bytes))
    }
}

/// Field names to indices. Keys are short and looked up once per field of
/// every record, so they are hashed with FNV-1a rather than SipHash (the
/// names come from the policy, not from records: nothing to flood).
type FieldNames = HashMap<Box<[u8]>, usize, std::hash::BuildHasherDefault<Fnv>>;

#[derive(Default)]
struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut hash = self.0 ^ 0xcbf2_9ce4_8422_2325;
        for &byte in bytes {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        self.0 = hash;
    }
}

/// A record type's fields sorted by name, and each field's place there.
#[derive(Debug)]
struct NameOrder {
    fields: Vec<usize>,
    rank: Vec<usize>,
}

impl NameOrder {
    fn new(record: &qlp_compiler::program::RecordDef) -> NameOrder {
        let mut fields: Vec<usize> = (0..record.fields.len()).collect();
        fields.sort_by(|&a, &b| {
            record
                .fields
                .get(a)
                .map(|f| &f.name)
                .cmp(&record.fields.get(b).map(|f| &f.name))
        });
        let mut rank = vec![0; fields.len()];
        for (place, &field) in fields.iter().enumerate() {
            if let Some(r) = rank.get_mut(field) {
                *r = place;
            }
        }
        NameOrder { fields, rank }
    }
}

/// Which fields of one object were seen: a bit per field, on the stack for
/// the usual sizes.
enum Seen {
    Small(u128),
    Large(Vec<bool>),
}

impl Seen {
    fn new(fields: usize) -> Seen {
        if fields <= 128 {
            Seen::Small(0)
        } else {
            Seen::Large(vec![false; fields])
        }
    }

    /// Marks `index` seen; whether it was already.
    fn insert(&mut self, index: usize) -> bool {
        match self {
            Seen::Small(bits) => {
                let bit = 1u128 << (index % 128);
                let was = *bits & bit != 0;
                *bits |= bit;
                was
            }
            Seen::Large(seen) => seen.get_mut(index).map(|s| std::mem::replace(s, true)).unwrap_or(false),
        }
    }

    fn contains(&self, index: usize) -> bool {
        match self {
            Seen::Small(bits) => *bits & (1u128 << (index % 128)) != 0,
            Seen::Large(seen) => seen.get(index).copied().unwrap_or(true),
        }
    }
}

thread_local! {
    static SCRATCH: std::cell::RefCell<(Vec<u8>, Vec<u8>, Vec<Segment>)> =
        const { std::cell::RefCell::new((Vec::new(), Vec::new(), Vec::new())) };
}

/// serde_json's message, said as a problem with the record.
fn json_message(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match error.classify() {
        serde_json::error::Category::Eof => String::from("invalid JSON: the record ends early"),
        serde_json::error::Category::Syntax => format!("invalid JSON: {text}"),
        _ => text,
    }
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
/// `base` of the finished row.
struct Slot<'a, 'p> {
    plan: &'p IngestPlan,
    program: &'p Program,
    ty: &'p Type,
    slot: &'a mut [u8],
    arena: &'a mut Vec<u8>,
    base: usize,
    path: &'a mut Vec<Segment>,
    failure: &'a mut Option<IngestError>,
}

impl Slot<'_, '_> {
    fn fail<E: de::Error>(&mut self, message: impl Into<String>) -> E {
        let error = IngestError {
            path: render_path(self.program, self.path),
            message: message.into(),
        };
        let text = error.to_string();
        if self.failure.is_none() {
            *self.failure = Some(error);
        }
        E::custom(text)
    }

    fn type_name(&self) -> String {
        self.ty.display(self.program).to_string()
    }

    fn append(&mut self, data: &[u8]) -> u64 {
        let at = self.arena.len().next_multiple_of(8);
        self.arena.resize(at, 0);
        self.arena.extend_from_slice(data);
        (self.base + at) as u64
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
            Type::Bool => {
                write_u64(self.slot, 0, u64::from(v));
                Ok(())
            }
            _ => Err(self.mismatch("a boolean")),
        }
    }

    fn visit_i64<E: de::Error>(mut self, v: i64) -> Result<(), E> {
        match self.ty {
            Type::Int => {
                write_u64(self.slot, 0, v as u64);
                Ok(())
            }
            Type::Float => {
                write_u64(self.slot, 0, (v as f64).to_bits());
                Ok(())
            }
            _ => Err(self.mismatch("a number")),
        }
    }

    fn visit_u64<E: de::Error>(mut self, v: u64) -> Result<(), E> {
        match (self.ty, i64::try_from(v)) {
            (Type::Int, Ok(v)) => self.visit_i64(v),
            (Type::Int, Err(_)) => Err(self.fail(format!("{v} does not fit a 64-bit `int`"))),
            (Type::Float, _) => {
                write_u64(self.slot, 0, (v as f64).to_bits());
                Ok(())
            }
            _ => Err(self.mismatch("a number")),
        }
    }

    fn visit_f64<E: de::Error>(mut self, v: f64) -> Result<(), E> {
        match self.ty {
            Type::Float => {
                write_u64(self.slot, 0, v.to_bits());
                Ok(())
            }
            Type::Int => Err(self.fail(format!("expected an integer, found {v}"))),
            _ => Err(self.mismatch("a number")),
        }
    }

    fn visit_str<E: de::Error>(mut self, v: &str) -> Result<(), E> {
        match self.ty {
            Type::String => {
                let offset = self.append(v.as_bytes());
                write_u64(self.slot, 0, offset);
                write_u64(self.slot, 8, v.len() as u64);
                Ok(())
            }
            Type::Time => match qlp_grammar::time::parse_time(v) {
                Ok(micros) => {
                    write_u64(self.slot, 0, micros as u64);
                    Ok(())
                }
                Err(message) => Err(self.fail(message)),
            },
            Type::Duration => match qlp_grammar::time::parse_duration(v) {
                Ok(micros) => {
                    write_u64(self.slot, 0, micros as u64);
                    Ok(())
                }
                Err(message) => Err(self.fail(message)),
            },
            Type::Enum(id) => match self
                .program
                .enum_def(*id)
                .and_then(|e| e.variants.iter().position(|name| name == v))
                .map(|i| i as u32)
                .as_ref()
            {
                Some(index) => {
                    write_u64(self.slot, 0, u64::from(*index));
                    Ok(())
                }
                None => {
                    let variants = self
                        .program
                        .enum_def(*id)
                        .map(|e| e.variants.join(", "))
                        .unwrap_or_default();
                    let name = self.type_name();
                    Err(self.fail(format!("`{v}` is not a `{name}` (one of: {variants})")))
                }
            },
            _ => Err(self.mismatch("a string")),
        }
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.visit_unit()
    }

    fn visit_unit<E: de::Error>(mut self) -> Result<(), E> {
        match self.ty {
            // Presence stays 0.
            Type::Optional(_) => Ok(()),
            _ => {
                let name = self.type_name();
                Err(self.fail(format!("is null, but `{name}` is not optional")))
            }
        }
    }

    fn visit_some<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        let Type::Optional(inner) = self.ty else {
            return Err(de::Error::custom("unexpected optional"));
        };
        write_u64(self.slot, 0, 1);
        let slot = self.slot.get_mut(8..).unwrap_or(&mut []);
        Slot {
            plan: self.plan,
            program: self.program,
            ty: inner,
            slot,
            arena: self.arena,
            base: self.base,
            path: self.path,
            failure: self.failure,
        }
        .deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        let Type::List(element) = self.ty else {
            return Err(self.mismatch("a list"));
        };
        let stride = self.plan.layout.size_of(element) as usize;
        // Elements are decoded into their own buffer, whose strings go to the
        // shared arena; the buffer is appended once the list is complete.
        let mut elements: Vec<u8> = Vec::new();
        let mut count = 0usize;
        loop {
            elements.resize((count + 1) * stride, 0);
            let slot = elements.get_mut(count * stride..).unwrap_or(&mut []);
            self.path.push(Segment::Index(count));
            let next = seq.next_element_seed(Slot {
                plan: self.plan,
                program: self.program,
                ty: element,
                slot,
                arena: self.arena,
                base: self.base,
                path: self.path,
                failure: self.failure,
            })?;
            self.path.pop();
            if next.is_none() {
                break;
            }
            count += 1;
        }
        elements.truncate(count * stride);
        let offset = self.append(&elements);
        write_u64(self.slot, 0, offset);
        write_u64(self.slot, 8, count as u64);
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        let Type::Record(record) = self.ty else {
            return Err(self.mismatch("an object"));
        };
        let record = *record;
        let Some(def) = self.program.record(record) else {
            return Err(self.fail("unknown record type"));
        };
        let mut seen = Seen::new(def.fields.len());
        let mut previous = None;
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let Some(index) = self.plan.field(self.program, record, key.as_ref(), previous) else {
                // Fields the schema does not declare are ignored.
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            if seen.insert(index) {
                self.path.push(Segment::Field(record, index));
                let error = self.fail("appears twice");
                self.path.pop();
                return Err(error);
            }
            previous = Some(index);
            let Some(field) = def.fields.get(index) else { continue };
            if !self
                .plan
                .used
                .get(record.index())
                .and_then(|u| u.get(index))
                .copied()
                .unwrap_or(false)
            {
                // No rule reads it: check it is there, not what it holds.
                let value: Option<IgnoredAny> = map.next_value()?;
                if value.is_none() && !matches!(field.ty, Type::Optional(_)) {
                    self.path.push(Segment::Field(record, index));
                    let name = field.ty.display(self.program).to_string();
                    let error = self.fail(format!("is null, but `{name}` is not optional"));
                    self.path.pop();
                    return Err(error);
                }
                continue;
            }
            let offset = self.plan.layout.field_offset(record, index as u32) as usize;
            let size = self.plan.layout.size_of(&field.ty) as usize;
            self.path.push(Segment::Field(record, index));
            let slot = self.slot.get_mut(offset..offset + size).unwrap_or(&mut []);
            map.next_value_seed(Slot {
                plan: self.plan,
                program: self.program,
                ty: &field.ty,
                slot,
                arena: self.arena,
                base: self.base,
                path: self.path,
                failure: self.failure,
            })?;
            self.path.pop();
        }
        for (index, field) in def.fields.iter().enumerate() {
            if !seen.contains(index) && !matches!(field.ty, Type::Optional(_)) {
                let name = field.ty.display(self.program).to_string();
                self.path.push(Segment::Field(record, index));
                let error = self.fail(format!("is missing (a required `{name}`)"));
                self.path.pop();
                return Err(error);
            }
        }
        Ok(())
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

impl Slot<'_, '_> {
    fn mismatch<E: de::Error>(&mut self, found: &str) -> E {
        let name = self.type_name();
        self.fail(format!("expected `{name}`, found {found}"))
    }
}
