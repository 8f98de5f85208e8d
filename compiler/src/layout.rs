//! The flat row layout of records, shared by the JIT (which reads rows),
//! the runtime's ingestion (which writes them) and the interpreter path
//! (which decodes them into `Value`s).
//!
//! A row is one byte buffer: the record's fixed region first, then an arena
//! for string bytes and list elements. Every slot is a multiple of 8 bytes,
//! little-endian:
//!
//! | type | slot |
//! |---|---|
//! | `bool`, enum | `u64` (0/1, variant index) |
//! | `int`, `time`, `duration` | `i64` |
//! | `float` | `f64` |
//! | `string` | `u64` offset of the UTF-8 bytes from the row start, `u64` length in bytes |
//! | `[T]` | `u64` offset of the first element, `u64` element count; elements are `size_of(T)` apart |
//! | record | its fields' slots, inline, in declaration order |
//! | `T?` | `u64` presence (0/1), then `T`'s slot |
//!
//! Offsets are relative to the row start, so a row can be moved or reused.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::program::{Program, RecordId};
use crate::types::Type;
use crate::value::Value;

/// Byte offsets of every record type's fields.
#[derive(Debug, Clone, Default)]
pub struct Layout {
    /// For each record type: its size and the offset of each field.
    pub records: Vec<RecordLayout>,
    /// For each record type: the slots [`validate`] checks, flattened.
    checks: Vec<Vec<SlotCheck>>,
}

/// A slot holding an offset that must stay inside the row, at a fixed
/// position relative to the start of the value being checked.
#[derive(Debug, Clone)]
enum SlotCheck {
    String(usize),
    List {
        at: usize,
        stride: u64,
        element: ElementChecks,
    },
    /// A record held inline at `at`: its type's own checks, not a copy of
    /// them, so that the checks of every type together stay linear in the
    /// fields (copies made 20,000 types holding one of 4,000 strings take
    /// 3.3 GB to load).
    Record {
        record: RecordId,
        at: usize,
    },
}

/// The most checks of a held record copied into the checks of the record
/// holding it (more are referenced).
const MAX_COPIED_CHECKS: usize = 16;

impl SlotCheck {
    /// This check for a value `by` bytes further into the row.
    fn moved(&self, by: usize) -> SlotCheck {
        match self {
            SlotCheck::String(at) => SlotCheck::String(at + by),
            SlotCheck::List { at, stride, element } => SlotCheck::List {
                at: at + by,
                stride: *stride,
                element: element.clone(),
            },
            SlotCheck::Record { record, at } => SlotCheck::Record {
                record: *record,
                at: at + by,
            },
        }
    }
}

/// The checks of each element of a list.
#[derive(Debug, Clone)]
enum ElementChecks {
    /// Relative to the element's start.
    Inline(Vec<SlotCheck>),
    /// The element holds a record of type `record` at `at` (8 when it is
    /// optional): its type's own checks, not a copy of them, so that a
    /// record type holding itself in lists (one or several) is checked in
    /// time linear in its fields, and a row in time linear in its bytes.
    Record { record: RecordId, at: usize },
}

/// The deepest nesting of records in records the checker accepts, the
/// record included (the shipped `Content` nests 2: `Content`, then
/// `Account` and `Scores`).
pub const MAX_INLINE_DEPTH: usize = 32;

/// The deepest nesting of records and lists a row is checked to: a line
/// ingestion reads nests at most 127 deep, and absent optional records
/// (checked all the same) at most `MAX_INLINE_DEPTH` more.
const MAX_CHECKED_DEPTH: usize = 128 + MAX_INLINE_DEPTH;

/// Where a record type's fields are in a row.
#[derive(Debug, Clone, Default)]
pub struct RecordLayout {
    /// Its size in bytes, nested records inline (the bytes of strings and
    /// lists are in the row's arena).
    pub size: u32,
    /// Each field's offset, in declaration order.
    pub field_offsets: Vec<u32>,
}

impl Layout {
    /// The layout of every record type of `program`.
    pub fn new(program: &Program) -> Layout {
        let mut layout = Layout {
            records: vec![RecordLayout::default(); program.records.len()],
            checks: Vec::new(),
        };
        // Each record laid out, and its checks collected, after the records
        // it holds inline (the checker rejects cycles; a record of one is
        // laid out once, with the sizes known by then, so the layout stays
        // bounded).
        layout.checks = vec![Vec::new(); program.records.len()];
        for record in crate::inline::InlineGraph::new(program).order {
            let fields = program.record(record).map_or(&[][..], |r| r.fields.as_slice());
            let mut offset = 0u32;
            let mut offsets = Vec::with_capacity(fields.len());
            for field in fields {
                offsets.push(offset);
                offset = offset.saturating_add(layout.size_of(&field.ty));
            }
            let mut checks = Vec::new();
            for (field, &at) in fields.iter().zip(&offsets) {
                layout.collect_checks(&field.ty, at as usize, &mut checks);
            }
            if let Some(slot) = layout.records.get_mut(record.index()) {
                *slot = RecordLayout {
                    size: offset,
                    field_offsets: offsets,
                };
            }
            if let Some(slot) = layout.checks.get_mut(record.index()) {
                *slot = checks;
            }
        }
        layout
    }

    /// The checks for a value of type `ty` at `at`: its own slots, with
    /// the records it holds referenced (the recursion follows the type's
    /// own nesting of lists and optionals only, which the parser bounds).
    fn collect_checks(&self, ty: &Type, at: usize, out: &mut Vec<SlotCheck>) {
        match ty {
            Type::String => out.push(SlotCheck::String(at)),
            Type::List(element) => {
                let element_checks = match (&**element, element.strip_optional()) {
                    (Type::Optional(_), Type::Record(record)) => ElementChecks::Record { record: *record, at: 8 },
                    (_, Type::Record(record)) => ElementChecks::Record { record: *record, at: 0 },
                    _ => {
                        let mut checks = Vec::new();
                        self.collect_checks(element, 0, &mut checks);
                        ElementChecks::Inline(checks)
                    }
                };
                out.push(SlotCheck::List {
                    at,
                    stride: u64::from(self.size_of(element)),
                    element: element_checks,
                });
            }
            Type::Optional(inner) => self.collect_checks(inner, at + 8, out),
            // A small record's checks are copied (a row is checked in one
            // loop), a larger one's referenced: together the checks stay
            // linear in the fields.
            Type::Record(record) => match self.checks.get(record.index()) {
                Some(held) if held.len() <= MAX_COPIED_CHECKS => out.extend(held.iter().map(|c| c.moved(at))),
                _ => out.push(SlotCheck::Record { record: *record, at }),
            },
            _ => {}
        }
    }

    /// The checks of a row of record type `record`.
    fn checks_of(&self, record: RecordId) -> &[SlotCheck] {
        self.checks.get(record.index()).map_or(&[][..], Vec::as_slice)
    }

    /// Size in bytes of a slot of type `ty`.
    pub fn size_of(&self, ty: &Type) -> u32 {
        match ty {
            Type::Bool | Type::Int | Type::Float | Type::Time | Type::Duration | Type::Enum(_) | Type::Error => 8,
            Type::String | Type::List(_) => 16,
            Type::Record(id) => self.records.get(id.index()).map_or(0, |r| r.size),
            Type::Optional(inner) => 8u32.saturating_add(self.size_of(inner)),
        }
    }

    /// The layout of record type `id`.
    pub fn record(&self, id: RecordId) -> Option<&RecordLayout> {
        self.records.get(id.index())
    }

    /// The offset of field `field` of record type `record`.
    pub fn field_offset(&self, record: RecordId, field: u32) -> u32 {
        self.record(record)
            .and_then(|r| r.field_offsets.get(field as usize))
            .copied()
            .unwrap_or(0)
    }
}

/// A record in row form.
#[derive(Debug, Default)]
pub struct Row {
    bytes: Vec<u8>,
    /// Which layout and record type the row was last found valid for (a
    /// [`CheckedFor`] token; 0 for none), so that one record's state
    /// touches and evaluation check it once. The bytes never change after
    /// construction, so the answer cannot go stale.
    checked: AtomicU64,
}

impl Clone for Row {
    fn clone(&self) -> Row {
        Row {
            bytes: self.bytes.clone(),
            checked: AtomicU64::new(self.checked.load(Ordering::Relaxed)),
        }
    }
}

impl PartialEq for Row {
    fn eq(&self, other: &Row) -> bool {
        self.bytes == other.bytes
    }
}

impl Eq for Row {}

/// A token naming one layout that cannot change (the JIT's own, numbered
/// when compiled) and one record type: what a [`Row`] remembers having
/// been [`validate`]d for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CheckedFor(u64);

impl CheckedFor {
    /// The token of layout number `layout` (not 0) and `record`; `None`
    /// when they do not fit one token (then nothing is remembered).
    pub(crate) fn new(layout: u64, record: RecordId) -> Option<CheckedFor> {
        let record = u64::try_from(record.index()).ok().filter(|&r| r < 1 << 24)?;
        (layout != 0 && layout < 1 << 40).then_some(CheckedFor(layout << 24 | record))
    }
}

impl Row {
    /// A row from bytes laid out as this module describes. Engines check a
    /// row with [`validate`] before reading it.
    pub fn from_bytes(bytes: Vec<u8>) -> Row {
        Row {
            bytes,
            checked: AtomicU64::new(0),
        }
    }

    /// [`validate`], remembered: a row found valid for `token` (its layout
    /// and record type) is not checked again for it.
    pub(crate) fn validate_once(
        &self,
        program: &Program,
        layout: &Layout,
        record: RecordId,
        token: Option<CheckedFor>,
    ) -> bool {
        if token.is_some_and(|t| self.checked.load(Ordering::Relaxed) == t.0) {
            return true;
        }
        let valid = validate(program, layout, record, self);
        if let (true, Some(token)) = (valid, token) {
            self.checked.store(token.0, Ordering::Relaxed);
        }
        valid
    }

    /// Remembers the row as valid for `token` without checking it (see
    /// `CompiledPolicySet::assume_valid`, the one caller, whose contract
    /// says why it may).
    pub(crate) fn mark_checked(&self, token: CheckedFor) {
        self.checked.store(token.0, Ordering::Relaxed);
    }

    /// The row's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The row's bytes, owned.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// Lays out a `Value` of record type `record` (tests, the interpreter's
    /// `given` records, and the differential test use this).
    pub fn encode(program: &Program, layout: &Layout, record: RecordId, value: &Value) -> Row {
        let size = layout.record(record).map_or(0, |r| r.size) as usize;
        let mut bytes = vec![0u8; size];
        write_value(program, layout, &Type::Record(record), value, &mut bytes, 0);
        Row::from_bytes(bytes)
    }

    /// Reads the row back as a `Value`.
    pub fn decode(&self, program: &Program, layout: &Layout, record: RecordId) -> Option<Value> {
        read_value(program, layout, &Type::Record(record), &self.bytes, 0)
    }

    /// Reads the top-level fields of the row `wanted` marks; the others are
    /// `Value::Absent` (for evaluations known to read only those).
    pub fn decode_fields(
        &self,
        program: &Program,
        layout: &Layout,
        record: RecordId,
        wanted: &[bool],
    ) -> Option<Value> {
        let def = program.record(record)?;
        let mut fields = Vec::with_capacity(def.fields.len());
        for (index, field) in def.fields.iter().enumerate() {
            if wanted.get(index).copied().unwrap_or(true) {
                let offset = layout.field_offset(record, index as u32) as usize;
                fields.push(read_value(program, layout, &field.ty, &self.bytes, offset)?);
            } else {
                fields.push(Value::Absent);
            }
        }
        Some(Value::Record(fields.into()))
    }
}

/// Reads one slot of type `ty` at byte `offset` of a row.
pub fn decode_slot(program: &Program, layout: &Layout, ty: &Type, row: &Row, offset: usize) -> Option<Value> {
    read_value(program, layout, ty, &row.bytes, offset)
}

/// Lays out one value of any type at offset 0 of a fresh buffer (with its
/// arena after it): how the JIT stores constants.
pub fn encode_standalone(program: &Program, layout: &Layout, ty: &Type, value: &Value) -> Vec<u8> {
    let mut bytes = vec![0u8; layout.size_of(ty) as usize];
    write_value(program, layout, ty, value, &mut bytes, 0);
    bytes
}

/// Whether every string and list slot of `row` points inside it, so that
/// compiled code reading it stays in bounds.
pub fn validate(program: &Program, layout: &Layout, record: RecordId, row: &Row) -> bool {
    let _ = program;
    let size = layout.record(record).map_or(0, |r| r.size) as usize;
    row.bytes.len() >= size
        && layout
            .checks
            .get(record.index())
            .is_some_and(|checks| checks_hold(layout, checks, &row.bytes, 0, 0))
}

fn checks_hold(layout: &Layout, checks: &[SlotCheck], bytes: &[u8], base: usize, depth: usize) -> bool {
    if depth > MAX_CHECKED_DEPTH {
        return false;
    }
    let extent_ok = |offset: u64, len: u64| offset.checked_add(len).is_some_and(|end| end <= bytes.len() as u64);
    // A plain loop: strings, the common check, stay inline in it.
    for check in checks {
        let holds = match check {
            SlotCheck::String(at) => match (read_u64(bytes, base + at), read_u64(bytes, base + at + 8)) {
                (Some(offset), Some(len)) => extent_ok(offset, len),
                _ => false,
            },
            SlotCheck::List { at, stride, element } => list_holds(layout, bytes, base + at, *stride, element, depth),
            SlotCheck::Record { record, at } => {
                checks_hold(layout, layout.checks_of(*record), bytes, base + at, depth + 1)
            }
        };
        if !holds {
            return false;
        }
    }
    true
}

/// Whether the list whose slot is at `at` lies inside the row, and so do
/// its elements' slots.
#[inline(never)]
fn list_holds(layout: &Layout, bytes: &[u8], at: usize, stride: u64, element: &ElementChecks, depth: usize) -> bool {
    let (Some(offset), Some(count)) = (read_u64(bytes, at), read_u64(bytes, at + 8)) else {
        return false;
    };
    let Some(total) = count.checked_mul(stride) else {
        return false;
    };
    let (checks, at) = match element {
        ElementChecks::Inline(checks) => (checks.as_slice(), 0),
        ElementChecks::Record { record, at } => (layout.checks_of(*record), *at),
    };
    offset.checked_add(total).is_some_and(|end| end <= bytes.len() as u64)
        && (checks.is_empty()
            || (0..count).all(|i| checks_hold(layout, checks, bytes, (offset + i * stride) as usize + at, depth + 1)))
}

/// Writes `value` little-endian at `at`, if it fits.
pub fn write_u64(bytes: &mut [u8], at: usize, value: u64) {
    if let Some(slot) = bytes.get_mut(at..at + 8) {
        slot.copy_from_slice(&value.to_le_bytes());
    }
}

/// The string whose slot is at `at` of `row`, borrowed from it (a string
/// field read without decoding the record).
pub fn str_slot(row: &Row, at: usize) -> Option<&str> {
    read_str(&row.bytes, at)
}

fn read_str(bytes: &[u8], at: usize) -> Option<&str> {
    let offset = usize::try_from(read_u64(bytes, at)?).ok()?;
    let len = usize::try_from(read_u64(bytes, at + 8)?).ok()?;
    std::str::from_utf8(bytes.get(offset..offset.checked_add(len)?)?).ok()
}

/// Reads a little-endian word at `at`, if it is there.
pub fn read_u64(bytes: &[u8], at: usize) -> Option<u64> {
    let slot = bytes.get(at..at + 8)?;
    let mut word = [0u8; 8];
    word.copy_from_slice(slot);
    Some(u64::from_le_bytes(word))
}

/// Appends `data` to the arena, 8-byte aligned; returns its offset.
pub fn append_aligned(bytes: &mut Vec<u8>, data: &[u8]) -> usize {
    let at = bytes.len().next_multiple_of(8);
    bytes.resize(at, 0);
    bytes.extend_from_slice(data);
    at
}

fn write_value(program: &Program, layout: &Layout, ty: &Type, value: &Value, bytes: &mut Vec<u8>, at: usize) {
    match (ty, value) {
        (Type::Optional(inner), Value::Absent) => {
            write_u64(bytes, at, 0);
            let _ = inner;
        }
        (Type::Optional(inner), value) => {
            write_u64(bytes, at, 1);
            write_value(program, layout, inner, value, bytes, at + 8);
        }
        (_, Value::Bool(b)) => write_u64(bytes, at, u64::from(*b)),
        (_, Value::Int(v) | Value::Time(v) | Value::Duration(v)) => write_u64(bytes, at, *v as u64),
        (_, Value::Float(v)) => write_u64(bytes, at, v.to_bits()),
        (_, Value::Enum(v)) => write_u64(bytes, at, u64::from(*v)),
        (_, Value::Str(s)) => {
            let offset = append_aligned(bytes, s.as_bytes());
            write_u64(bytes, at, offset as u64);
            write_u64(bytes, at + 8, s.len() as u64);
        }
        (Type::List(element), Value::List(items)) => {
            let stride = layout.size_of(element) as usize;
            let offset = append_aligned(bytes, &vec![0u8; stride * items.len()]);
            write_u64(bytes, at, offset as u64);
            write_u64(bytes, at + 8, items.len() as u64);
            for (i, item) in items.iter().enumerate() {
                write_value(program, layout, element, item, bytes, offset + i * stride);
            }
        }
        (Type::Record(id), Value::Record(fields)) => {
            let Some(record) = program.record(*id) else { return };
            for (index, (field, value)) in record.fields.iter().zip(fields.iter()).enumerate() {
                let offset = layout.field_offset(*id, index as u32) as usize;
                write_value(program, layout, &field.ty, value, bytes, at + offset);
            }
        }
        _ => {}
    }
}

fn read_value(program: &Program, layout: &Layout, ty: &Type, bytes: &[u8], at: usize) -> Option<Value> {
    Some(match ty {
        Type::Optional(inner) => {
            if read_u64(bytes, at)? == 0 {
                Value::Absent
            } else {
                read_value(program, layout, inner, bytes, at + 8)?
            }
        }
        Type::Bool => Value::Bool(read_u64(bytes, at)? != 0),
        Type::Int => Value::Int(read_u64(bytes, at)? as i64),
        Type::Time => Value::Time(read_u64(bytes, at)? as i64),
        Type::Duration => Value::Duration(read_u64(bytes, at)? as i64),
        Type::Float => Value::Float(f64::from_bits(read_u64(bytes, at)?)),
        Type::Enum(_) => Value::Enum(u32::try_from(read_u64(bytes, at)?).ok()?),
        Type::String => Value::Str(Arc::from(read_str(bytes, at)?)),
        Type::List(element) => {
            let offset = usize::try_from(read_u64(bytes, at)?).ok()?;
            let count = usize::try_from(read_u64(bytes, at + 8)?).ok()?;
            let stride = layout.size_of(element) as usize;
            let mut items = Vec::with_capacity(count.min(bytes.len()));
            for i in 0..count {
                items.push(read_value(program, layout, element, bytes, offset + i * stride)?);
            }
            Value::List(items.into())
        }
        Type::Record(id) => {
            let record = program.record(*id)?;
            let mut fields = Vec::with_capacity(record.fields.len());
            for (index, field) in record.fields.iter().enumerate() {
                let offset = layout.field_offset(*id, index as u32) as usize;
                fields.push(read_value(program, layout, &field.ty, bytes, at + offset)?);
            }
            Value::Record(fields.into())
        }
        Type::Error => Value::Absent,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::test_program as program;

    /// Records nested as deep as the checker allows, the innermost holding
    /// a string.
    fn chain() -> String {
        let mut source: String = (1..MAX_INLINE_DEPTH)
            .map(|i| format!("record R{i} {{\n  pad: int\n  next: R{}\n}}\n", i + 1))
            .collect();
        source.push_str(&format!("record R{MAX_INLINE_DEPTH} {{\n  s: string\n}}\n"));
        source
    }

    #[test]
    fn a_string_in_the_deepest_record_is_checked() {
        let program = program(&chain());
        let layout = Layout::new(&program);
        let outer = RecordId(0);
        let size = layout.record(outer).expect("laid out").size as usize;
        // The string slot is the row's last 16 bytes, after a pad per level.
        let at = size - 16;
        assert_eq!(at, 8 * (MAX_INLINE_DEPTH - 1));
        let row = |offset: u64, len: u64| {
            let mut bytes = vec![0u8; size + 8];
            write_u64(&mut bytes, at, offset);
            write_u64(&mut bytes, at + 8, len);
            Row::from_bytes(bytes)
        };
        assert!(validate(&program, &layout, outer, &row(size as u64, 8)));
        assert!(!validate(&program, &layout, outer, &row(size as u64, 9)));
        assert!(!validate(&program, &layout, outer, &row(u64::MAX, 2)));
    }

    #[test]
    fn checks_reference_large_held_records_and_copy_small_ones() {
        // Every type holding the same record of many strings: copied, the
        // checks would be types × strings.
        let strings: String = (0..100).map(|i| format!("  s{i}: string\n")).collect();
        let holders: String = (0..100)
            .map(|i| format!("record H{i} {{\n  b: B\n  c: B?\n}}\n"))
            .collect();
        let wide = program(&format!("record B {{\n{strings}}}\n{holders}"));
        let layout = Layout::new(&wide);
        let checks: usize = layout.checks.iter().map(Vec::len).sum();
        assert_eq!(checks, 100 + 2 * 100);
        // A small record's checks are copied.
        let small = program("record S { a: string  b: string }\nrecord H { s: S  t: S? }");
        let layout = Layout::new(&small);
        let copied = layout.checks.get(1).expect("checked");
        assert!(copied.iter().all(|c| matches!(c, SlotCheck::String(_))), "{copied:?}");
        assert_eq!(copied.len(), 4);
    }
}
