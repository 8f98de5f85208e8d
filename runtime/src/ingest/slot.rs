//! Decoding one value of the schema into its slot of a row.

use std::fmt;

use qlp_compiler::layout::write_u64;
use qlp_compiler::program::{Program, RecordId};
use qlp_compiler::Type;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::fields::Seen;
use super::values::{float_word, int_word, text_word, uint_word, Word};
use super::{render_path, Findings, IngestPlan, Problem, Segment, KEPT_LIST_BYTES, MAX_PROBLEMS};

/// Decodes one value of type `ty` into `slot` (exactly its size), appending
/// strings and list elements to `arena`, whose first byte is at offset
/// `base` of the finished row. With `store` false the value is checked
/// against its type and nothing is written (a field no rule reads).
///
/// A value of the wrong type is a problem added to `findings`, and decoding
/// goes on with the next value, so that a record's every problem is
/// reported at once; only invalid JSON stops it.
pub(super) struct Slot<'a, 'p> {
    pub(super) plan: &'p IngestPlan,
    pub(super) program: &'p Program,
    pub(super) ty: &'p Type,
    pub(super) slot: &'a mut [u8],
    pub(super) arena: &'a mut Vec<u8>,
    pub(super) base: usize,
    pub(super) path: &'a mut Vec<Segment>,
    pub(super) findings: &'a mut Findings,
    pub(super) store: bool,
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

    /// Writes a value's word, or notes why it does not fit (`found`: what
    /// the value was, when the type takes nothing of its kind).
    fn store_word(&mut self, word: Word, found: &str) {
        match word {
            Some(Ok(word)) => self.write(0, word),
            Some(Err(message)) => self.problem(message),
            None => self.mismatch(found),
        }
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
        super::append(self.arena, self.base, data)
    }

    /// A key the schema does not declare: a warning, or under `strict` a problem.
    fn unknown_field(&mut self, def: &qlp_compiler::program::RecordDef, key: &str) {
        // Past what is kept, only counted: a record of a million unknown
        // keys is not a million hints.
        let findings = &mut *self.findings;
        let kept = match findings.strict {
            true => findings.problems.len(),
            false => findings.warnings.len(),
        };
        if kept >= MAX_PROBLEMS {
            findings.more += usize::from(findings.strict);
            return;
        }
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
        self.store_word(int_word(self.ty, v), "a number");
        Ok(())
    }

    fn visit_u64<E: de::Error>(mut self, v: u64) -> Result<(), E> {
        self.store_word(uint_word(self.ty, v), "a number");
        Ok(())
    }

    fn visit_f64<E: de::Error>(mut self, v: f64) -> Result<(), E> {
        self.store_word(float_word(self.ty, v), "a number");
        Ok(())
    }

    fn visit_str<E: de::Error>(mut self, v: &str) -> Result<(), E> {
        if let Type::String = self.ty {
            let offset = self.append(v.as_bytes());
            self.write(0, offset);
            self.write(8, v.len() as u64);
        } else {
            self.store_word(text_word(self.program, self.ty, v), "a string");
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
        let mut elements = self.findings.lists.pop().unwrap_or_default();
        elements.clear();
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
        if elements.capacity() <= KEPT_LIST_BYTES {
            self.findings.lists.push(elements);
        }
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
        let Some(plan) = self.plan.record(record) else {
            return Err(de::Error::custom("unknown record type"));
        };
        let mut seen = Seen::new(def.fields.len());
        let mut previous = None;
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let Some(index) = plan.field(key.as_ref(), previous) else {
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
            let store = self.store && plan.stores(index);
            self.path.push(Segment::Field(record, index));
            let slot = std::mem::take(&mut self.slot);
            let field_slot = plan.field_slot(slot, index, store);
            map.next_value_seed(self.child(&field.ty, field_slot, store))?;
            self.slot = slot;
            self.path.pop();
        }
        for (index, field) in def.fields.iter().enumerate() {
            if seen.contains(index) {
                continue;
            }
            if let Some(json) = plan.default(index) {
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
        let Some(plan) = self.plan.record(record).filter(|plan| self.store && plan.stores(index)) else {
            return;
        };
        self.path.push(Segment::Field(record, index));
        let slot = std::mem::take(&mut self.slot);
        let field_slot = plan.field_slot(slot, index, true);
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
