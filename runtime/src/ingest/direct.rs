//! The fast path of ingestion: a line is decoded straight from its bytes
//! into the row — one pass, no tree, no copy of the line — each key found
//! where the last record had the next field (and compared in place), each
//! value parsed as its field's type, strings borrowed from the line unless
//! they have escapes.
//!
//! It takes a strict subset of what the reference path (`serde_json`,
//! `slot.rs`) takes: a line with anything to report — invalid JSON, a value
//! of the wrong type, a field the schema does not declare, one given twice
//! or missing — or a number it does not read as `serde_json` does (an
//! integer past 64 bits) makes it return `None` before the row is used, and
//! the reference path decodes the line again and says what is wrong:
//! messages, field paths and warnings have one source. Both make the same
//! bytes of a row (`ingest::tests` holds them to it, every odd value in
//! every field).

use std::borrow::Cow;

use qlp_compiler::layout::write_u64;
use qlp_compiler::program::{Program, RecordId};
use qlp_compiler::text::short_eq;
use qlp_compiler::Type;

use super::fields::{Seen, Template};
use super::values::{float_word, int_word, text_word, uint_word};
use super::{FieldPlan, RecordPlan};
use super::{IngestPlan, KEPT_LIST_BYTES};
use crate::decision::json::escape_bits;

/// The deepest nesting of lists and records this path reads, the record
/// itself included: that of `serde_json` (the reference path, whose limit
/// of 128 counts down to its error), which reports a deeper line.
const MAX_DEPTH: u32 = 127;

/// What decoding writes to: a row's arena and the list buffers.
pub(super) struct Out<'a> {
    pub(super) arena: &'a mut Vec<u8>,
    /// Where the arena's first byte lands in the row.
    pub(super) base: usize,
    /// Buffers for the elements of lists, kept from record to record.
    pub(super) lists: &'a mut Vec<Vec<u8>>,
}

/// Decodes `json`, a record of type `record`, into `slot` (the row's fixed
/// part) and `out`; `None` (with the row half written) if it takes the
/// reference path.
pub(super) fn decode(
    plan: &IngestPlan,
    program: &Program,
    record: RecordId,
    json: &[u8],
    slot: &mut [u8],
    out: Out<'_>,
) -> Option<()> {
    // One check of the whole line (with SIMD): its strings need none.
    let text = simdutf8::basic::from_utf8(json).ok()?;
    let mut parser = Parser {
        plan,
        program,
        text,
        bytes: json,
        at: 0,
        depth: 0,
        out,
    };
    parser.blank();
    parser.expect(b'{')?;
    parser.nested(|parser| parser.record(record, slot, true))?;
    parser.end()
}

/// Decodes a field's default (JSON the plan made, holding no record) into
/// `slot`.
fn decode_default(
    plan: &IngestPlan,
    program: &Program,
    ty: &Type,
    json: &str,
    slot: &mut [u8],
    out: &mut Out<'_>,
) -> Option<()> {
    let mut parser = Parser {
        plan,
        program,
        text: json,
        bytes: json.as_bytes(),
        at: 0,
        depth: 0,
        out: Out {
            arena: out.arena,
            base: out.base,
            lists: out.lists,
        },
    };
    parser.value(ty, slot, true)?;
    parser.end()
}

/// A pass over one line.
struct Parser<'a> {
    plan: &'a IngestPlan,
    program: &'a Program,
    text: &'a str,
    bytes: &'a [u8],
    /// The next byte.
    at: usize,
    /// Lists and records open around the next byte: past [`MAX_DEPTH`]
    /// (a record type that holds itself in a list lets a line nest as deep
    /// as it likes) the reference path takes the line and says so.
    depth: u32,
    out: Out<'a>,
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    /// Skips JSON's blanks.
    #[inline]
    fn blank(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    /// Reads a list or record with `read`, one level deeper.
    #[inline]
    fn nested(&mut self, read: impl FnOnce(&mut Self) -> Option<()>) -> Option<()> {
        if self.depth >= MAX_DEPTH {
            return None;
        }
        self.depth += 1;
        let read = read(self);
        self.depth -= 1;
        read
    }

    /// Takes the blanks after the value; whether that is the whole text.
    fn end(&mut self) -> Option<()> {
        self.blank();
        (self.at == self.bytes.len()).then_some(())
    }

    /// Takes byte `byte`, after blanks.
    #[inline]
    fn expect(&mut self, byte: u8) -> Option<()> {
        if self.peek() != Some(byte) {
            self.blank();
            if self.peek() != Some(byte) {
                return None;
            }
        }
        self.at += 1;
        Some(())
    }

    /// Takes the literal `word` (the opening byte already seen).
    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.at + word.len();
        (self.bytes.get(self.at..end)? == word).then(|| self.at = end)
    }

    /// Reads the rest of record `record` (its `{` taken) into `slot`. Keys
    /// are found first by the type's template, while they follow it, then
    /// as `RecordPlan::field` finds them: the field that followed the
    /// previous one in the last record first.
    fn record(&mut self, record: RecordId, slot: &mut [u8], store: bool) -> Option<()> {
        let plan = self.plan.record(record)?;
        let mut seen = Seen::new(plan.fields.len());
        let mut previous = None;
        self.blank();
        if self.peek() == Some(b'}') {
            self.at += 1;
            return self.defaults(plan, &seen, slot, store);
        }
        let template = plan.template.get();
        if let Some(template) = template {
            // Each key compared with its step's `"name":`, colon included.
            let mut done = 0u64;
            for step in &template.steps {
                if !self.token_is(&step.token) {
                    break;
                }
                done |= step.bit;
                previous = Some(step.index);
                self.field(plan, step.index, slot, store)?;
                self.blank();
                match self.peek()? {
                    b',' => self.at += 1,
                    b'}' => {
                        self.at += 1;
                        if done == template.fields {
                            // To its end: only the defaults it leaves out.
                            return template
                                .defaults
                                .iter()
                                .try_for_each(|&index| self.default(plan, index, slot, store));
                        }
                        return self.defaults(plan, &Seen::Small(done), slot, store);
                    }
                    _ => return None,
                }
            }
            seen = Seen::Small(done);
        }
        // The order of this record's keys, for a type with no template yet.
        let mut order = (template.is_none() && plan.fields.len() <= 64).then(Vec::new);
        loop {
            self.expect(b'"')?;
            // Most keys are the one the last record had next: compared
            // in place, without a scan for their end.
            let index = match plan.learned_next(previous) {
                Some((index, name)) if self.key_is(name) => index,
                _ => {
                    let key = self.text()?;
                    plan.field(&key, previous)?
                }
            };
            self.expect(b':')?;
            // A key given twice is the reference path's to report.
            if seen.insert(index) {
                return None;
            }
            previous = Some(index);
            if let Some(order) = &mut order {
                order.push(index);
            }
            self.field(plan, index, slot, store)?;
            self.blank();
            match self.peek()? {
                b',' => self.at += 1,
                b'}' => {
                    self.at += 1;
                    break;
                }
                _ => return None,
            }
        }
        self.defaults(plan, &seen, slot, store)?;
        if let Some(learned) = order.and_then(|order| Template::new(&order, &plan.fields)) {
            let _ = plan.template.set(learned);
        }
        Some(())
    }

    /// Decodes field `index`'s value into its part of `slot`.
    #[inline(always)]
    fn field(&mut self, plan: &RecordPlan, index: usize, slot: &mut [u8], store: bool) -> Option<()> {
        let field = plan.fields.get(index)?;
        let store = store && field.used;
        let field_slot = plan.field_slot(slot, index, store);
        self.value(&field.ty, field_slot, store)
    }

    /// Writes the defaults of the fields of `plan` a record left out
    /// (`seen` are those it gave).
    fn defaults(&mut self, plan: &RecordPlan, seen: &Seen, slot: &mut [u8], store: bool) -> Option<()> {
        for (index, field) in plan.fields.iter().enumerate() {
            if seen.contains(index) {
                continue;
            }
            // A missing field that must be given: the reference path's to report.
            if field.required() {
                return None;
            }
            self.default(plan, index, slot, store)?;
        }
        Some(())
    }

    /// Writes field `index`'s default, if it has one and is stored.
    fn default(&mut self, plan: &RecordPlan, index: usize, slot: &mut [u8], store: bool) -> Option<()> {
        match plan.fields.get(index) {
            Some(
                field @ FieldPlan {
                    default: Some(default), ..
                },
            ) if store && field.used => {
                let field_slot = plan.field_slot(slot, index, true);
                decode_default(self.plan, self.program, &field.ty, default, field_slot, &mut self.out)
            }
            _ => Some(()),
        }
    }

    /// Decodes the next value, of type `ty`, into `slot` (empty when the
    /// value is only checked, with `store` false).
    #[inline(always)]
    fn value(&mut self, ty: &Type, slot: &mut [u8], store: bool) -> Option<()> {
        self.blank();
        let first = self.peek()?;
        if let Type::Optional(inner) = ty {
            if first == b'n' {
                // An absent optional's presence stays 0.
                self.at += 1;
                return self.literal(b"ull");
            }
            write_u64(slot, 0, 1);
            let rest = slot.get_mut(8..).unwrap_or(&mut []);
            return self.value(inner, rest, store);
        }
        self.at += 1;
        let word = match (ty, first) {
            (Type::Bool, b't') => self.literal(b"rue").map(|()| 1)?,
            (Type::Bool, b'f') => self.literal(b"alse").map(|()| 0)?,
            (_, b'"') => return self.string(ty, slot, store),
            (Type::List(element), b'[') => return self.nested(|parser| parser.list(element, slot, store)),
            (Type::Record(record), b'{') => return self.nested(|parser| parser.record(*record, slot, store)),
            (_, b'-' | b'0'..=b'9') => {
                self.at -= 1;
                self.number(ty)?
            }
            _ => return None,
        };
        write_u64(slot, 0, word);
        Some(())
    }

    /// Takes `token` (a template step's `"name":`) if it comes next, after
    /// blanks.
    #[inline]
    fn token_is(&mut self, token: &[u8]) -> bool {
        if self.peek() != Some(b'"') {
            self.blank();
        }
        let end = self.at + token.len();
        let found = self.bytes.get(self.at..end).is_some_and(|t| short_eq(t, token));
        if found {
            self.at = end;
        }
        found
    }

    /// Takes key `name` and its closing `"` if they come next.
    #[inline]
    fn key_is(&mut self, name: &[u8]) -> bool {
        let end = self.at + name.len();
        let found =
            self.bytes.get(self.at..end).is_some_and(|key| short_eq(key, name)) && self.bytes.get(end) == Some(&b'"');
        if found {
            self.at = end + 1;
        }
        found
    }

    /// A string's text (its `"` taken): borrowed from the line, or, when it
    /// has escapes, unescaped into a buffer of its own.
    #[inline]
    fn text(&mut self) -> Option<Cow<'a, str>> {
        let start = self.at;
        let end = start + special(self.bytes.get(start..)?)?;
        if self.bytes.get(end) == Some(&b'"') {
            self.at = end + 1;
            return self.text.get(start..end).map(Cow::Borrowed);
        }
        self.unescape(start, end).map(Cow::Owned)
    }

    /// The rest of a string whose first escape (or control character, which
    /// JSON forbids: `None`) is at `end`.
    #[cold]
    fn unescape(&mut self, start: usize, mut end: usize) -> Option<String> {
        let mut text = String::from(self.text.get(start..end)?);
        loop {
            match *self.bytes.get(end)? {
                b'"' => {
                    self.at = end + 1;
                    return Some(text);
                }
                b'\\' => {
                    end += 2;
                    let unescaped = match *self.bytes.get(end - 1)? {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let first = self.hex4(end)?;
                            end += 4;
                            let code = match first {
                                0xD800..=0xDBFF => {
                                    // A surrogate pair, or (as `serde_json` says) an error.
                                    if self.bytes.get(end..end + 2)? != b"\\u" {
                                        return None;
                                    }
                                    let second = self.hex4(end + 2)?;
                                    end += 6;
                                    if !(0xDC00..=0xDFFF).contains(&second) {
                                        return None;
                                    }
                                    0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
                                }
                                code => code,
                            };
                            char::from_u32(code)?
                        }
                        _ => return None,
                    };
                    text.push(unescaped);
                }
                byte if byte < 0x20 => return None,
                _ => {
                    let from = end;
                    end += special(self.bytes.get(end..)?)?;
                    text.push_str(self.text.get(from..end)?);
                }
            }
        }
    }

    /// The four hex digits of a `\u` escape at `at`.
    fn hex4(&self, at: usize) -> Option<u32> {
        let digits = self.text.get(at..at + 4)?;
        if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u32::from_str_radix(digits, 16).ok()
    }

    fn string(&mut self, ty: &Type, slot: &mut [u8], store: bool) -> Option<()> {
        let text = self.text()?;
        let word = match ty {
            Type::String => {
                let len = text.len() as u64;
                let offset = if store {
                    super::append(self.out.arena, self.out.base, text.as_bytes())
                } else {
                    0
                };
                write_u64(slot, 8, len);
                offset
            }
            _ => text_word(self.program, ty, &text)?.ok()?,
        };
        write_u64(slot, 0, word);
        Some(())
    }

    /// A number, as the word of a slot of type `ty`; JSON's grammar, read
    /// as `serde_json` reads it: an integer without a sign as a `u64`, with
    /// a sign as an `i64` (`-0` as a float), any other as an `f64`.
    fn number(&mut self, ty: &Type) -> Option<u64> {
        let start = self.at;
        let negative = self.peek() == Some(b'-');
        if negative {
            self.at += 1;
        }
        let mut magnitude: u64 = 0;
        match self.peek()? {
            b'0' => self.at += 1,
            b'1'..=b'9' => {
                while let Some(digit @ b'0'..=b'9') = self.peek() {
                    magnitude = magnitude.checked_mul(10)?.checked_add(u64::from(digit - b'0'))?;
                    self.at += 1;
                }
            }
            _ => return None,
        }
        if let Some(b'.' | b'e' | b'E') = self.peek() {
            if self.peek() == Some(b'.') {
                self.at += 1;
                let fraction = self.at;
                self.digits()?;
                if let Some(x) = exact_decimal(self.bytes.get(fraction..self.at)?, magnitude) {
                    if !matches!(self.peek(), Some(b'e' | b'E')) {
                        let x = if negative { -x } else { x };
                        return float_word(ty, x)?.ok();
                    }
                }
            }
            if let Some(b'e' | b'E') = self.peek() {
                self.at += 1;
                if let Some(b'+' | b'-') = self.peek() {
                    self.at += 1;
                }
                self.digits()?;
            }
            let x: f64 = self.text.get(start..self.at)?.parse().ok()?;
            return if x.is_finite() { float_word(ty, x)?.ok() } else { None };
        }
        if !negative {
            return uint_word(ty, magnitude)?.ok();
        }
        // `-0`, which `serde_json` reads as a float.
        if magnitude == 0 {
            return float_word(ty, -0.0)?.ok();
        }
        let value = 0i64.checked_sub_unsigned(magnitude)?;
        int_word(ty, value)?.ok()
    }

    /// One or more digits.
    fn digits(&mut self) -> Option<()> {
        let start = self.at;
        while let Some(b'0'..=b'9') = self.peek() {
            self.at += 1;
        }
        (self.at > start).then_some(())
    }

    /// A list (its `[` taken): elements are decoded into their own buffer,
    /// whose strings go to the arena first, as on the other paths.
    fn list(&mut self, element: &Type, slot: &mut [u8], store: bool) -> Option<()> {
        let stride = if store {
            self.plan.layout.size_of(element) as usize
        } else {
            0
        };
        let mut elements = self.out.lists.pop().unwrap_or_default();
        elements.clear();
        let mut len = 0;
        let mut decoded = Some(());
        self.blank();
        if self.peek() == Some(b']') {
            self.at += 1;
        } else {
            loop {
                elements.resize(elements.len() + stride, 0);
                let at = len * stride;
                let element_slot = elements.get_mut(at..at + stride).unwrap_or(&mut []);
                len += 1;
                decoded = self.value(element, element_slot, store);
                if decoded.is_none() {
                    break;
                }
                self.blank();
                match self.peek() {
                    Some(b',') => self.at += 1,
                    Some(b']') => {
                        self.at += 1;
                        break;
                    }
                    _ => {
                        decoded = None;
                        break;
                    }
                }
            }
        }
        if decoded.is_some() {
            let offset = if store {
                super::append(self.out.arena, self.out.base, &elements)
            } else {
                0
            };
            write_u64(slot, 0, offset);
            write_u64(slot, 8, len as u64);
        }
        if elements.capacity() <= KEPT_LIST_BYTES {
            self.out.lists.push(elements);
        }
        decoded
    }
}

/// Where in `bytes` the first `"`, `\` or control character is, eight
/// bytes at a time (the test `decision::json` escapes strings by).
#[inline]
fn special(bytes: &[u8]) -> Option<usize> {
    let mut at = 0;
    while let Some(chunk) = bytes.get(at..at + 8) {
        let found = escape_bits(u64::from_le_bytes(chunk.try_into().ok()?));
        if found != 0 {
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    let tail = bytes.get(at..)?;
    tail.iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
        .map(|p| at + p)
}

/// `whole.fraction` as an `f64`, when it is exact to compute (Clinger's
/// fast path): all its digits make an integer of at most 2^53, and the
/// fraction has at most 22 digits (10^22 is the largest power of ten an
/// `f64` holds exactly), so one correctly rounded division gives the
/// correctly rounded value, as `str::parse` would. `None` otherwise.
fn exact_decimal(fraction: &[u8], whole: u64) -> Option<f64> {
    const POW10: [f64; 23] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
        1e20, 1e21, 1e22,
    ];
    let scale = *POW10.get(fraction.len())?;
    let mut digits = whole;
    for &digit in fraction {
        digits = digits.checked_mul(10)?.checked_add(u64::from(digit - b'0'))?;
    }
    (digits <= 1 << 53).then(|| digits as f64 / scale)
}
