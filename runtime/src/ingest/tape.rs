//! The fast path of ingestion: simd-json parses a line into a tape (a flat
//! array of nodes, found with SIMD; its buffers reused from line to line),
//! and the tape is walked into the row.
//!
//! It takes only lines that fit the schema exactly. A line it cannot read,
//! or that holds anything to report — invalid JSON, a value of the wrong
//! type, a field the schema does not declare, one given twice or missing —
//! makes it return `None`, and the `serde_json` path decodes the line again
//! and says what is wrong: messages, field paths and warnings have one
//! source. Both paths make the same bytes of a row (`ingest::tests` holds
//! them to it, every odd value in every field).

use qlp_compiler::layout::write_u64;
use qlp_compiler::program::{Program, RecordId};
use qlp_compiler::Type;
use simd_json::{Node, StaticNode, Tape};

use super::fields::Seen;
use super::values::{float_word, int_word, text_word, uint_word};
use super::{IngestPlan, KEPT_LIST_BYTES};

/// simd-json's buffers, kept from line to line on each thread.
pub(super) struct Scratch {
    /// The line, copied with the padding simd-json reads past its end (it
    /// unescapes strings in place).
    input: Vec<u8>,
    buffers: simd_json::Buffers,
    /// The tape's allocation (empty between lines).
    tape: Tape<'static>,
    /// By record type: the shape its records were last seen in.
    shapes: Vec<Option<Shape>>,
}

impl Scratch {
    pub(super) fn new() -> Scratch {
        Scratch {
            input: Vec::new(),
            buffers: simd_json::Buffers::default(),
            tape: Tape(Vec::new()),
            shapes: Vec::new(),
        }
    }
}

/// The keys records of one type list, in their order, learned on this
/// thread from a record decoded in full. A record with the same keys in
/// the same order (most records of a stream) is read against it: each key
/// checked to be the expected one, and nothing else to do per key — no
/// field to look up, no repeat to watch for, no missing field to look for
/// after (the record it was learned from had every field it must have).
pub(super) struct Shape {
    /// The plan it was learned under (`IngestPlan::number`).
    pub(super) plan: u64,
    /// Field indices, in the records' order.
    pub(super) fields: Vec<u32>,
    /// The stored fields it lacks that have a default (written each time).
    pub(super) defaults: Vec<u32>,
    /// Records that did not follow it, less those that did (at least 0):
    /// at [`RELEARN`], the next record decoded in full replaces it.
    pub(super) misses: u32,
}

/// See [`Shape::misses`].
const RELEARN: u32 = 16;

/// What decoding writes to: a row's arena and the list buffers.
pub(super) struct Out<'a> {
    pub(super) arena: &'a mut Vec<u8>,
    /// Where the arena's first byte lands in the row.
    pub(super) base: usize,
    /// Buffers for the elements of lists, kept from record to record.
    pub(super) lists: &'a mut Vec<Vec<u8>>,
}

/// Decodes `json`, a record of type `record`, into `slot` (the row's fixed
/// part) and `out`; `None` if it takes the reference path.
pub(super) fn decode(
    plan: &IngestPlan,
    program: &Program,
    record: RecordId,
    json: &[u8],
    slot: &mut [u8],
    out: Out<'_>,
    scratch: &mut Scratch,
) -> Option<()> {
    let Scratch {
        input,
        buffers,
        tape,
        shapes,
    } = scratch;
    input.clear();
    input.extend_from_slice(json);
    input.resize(json.len() + simd_json::INPUT_PADDING, 0);
    let mut filled = std::mem::replace(tape, Tape(Vec::new()));
    let decoded = simd_json::fill_tape_padded(input, json.len(), buffers, &mut filled)
        .ok()
        .and_then(|()| {
            let mut walk = Walk {
                plan,
                program,
                nodes: &filled.0,
                at: 0,
                out,
                shapes,
            };
            walk.value(&Type::Record(record), slot, true)?;
            // One value, the whole line.
            (walk.at == filled.0.len()).then_some(())
        });
    *tape = filled.reset();
    // A long line's buffers (simd-json's grow with it) are not kept.
    if json.len() > KEPT_LINE_BYTES {
        *scratch = Scratch::new();
    }
    decoded
}

/// The longest line whose buffers are kept for the next, in bytes.
const KEPT_LINE_BYTES: usize = 1 << 20;

/// A walk over the nodes of a tape.
struct Walk<'a, 't> {
    plan: &'a IngestPlan,
    program: &'a Program,
    nodes: &'t [Node<'t>],
    /// The next node.
    at: usize,
    out: Out<'a>,
    /// The shapes records were seen in, by record type (see [`Shape`]).
    shapes: &'a mut Vec<Option<Shape>>,
}

impl<'t> Walk<'_, 't> {
    fn next(&mut self) -> Option<Node<'t>> {
        let node = *self.nodes.get(self.at)?;
        self.at += 1;
        Some(node)
    }

    /// Decodes the next value, of type `ty`, into `slot` (exactly its size;
    /// empty when the value is only checked, with `store` false). Inlined
    /// into the loops over a record's fields (and into itself once): most
    /// values are leaves, and the call was ~1.5% of `qlp eval`'s
    /// instructions a record.
    #[inline(always)]
    fn value(&mut self, ty: &Type, slot: &mut [u8], store: bool) -> Option<()> {
        let node = *self.nodes.get(self.at)?;
        if let Type::Optional(inner) = ty {
            if node == Node::Static(StaticNode::Null) {
                // An absent optional's presence stays 0.
                self.at += 1;
                return Some(());
            }
            write_u64(slot, 0, 1);
            let rest = slot.get_mut(8..).unwrap_or(&mut []);
            return self.value(inner, rest, store);
        }
        self.at += 1;
        let word = match (ty, node) {
            (Type::Bool, Node::Static(StaticNode::Bool(b))) => u64::from(b),
            // A negative integer zero, `-0`: the only number simd-json reads
            // as a signed 0 (`0` is unsigned, `-0.0` a float), and one
            // `serde_json` (the reference) reads as -0.0. Its path takes it.
            (_, Node::Static(StaticNode::I64(0))) => return None,
            (_, Node::Static(StaticNode::I64(i))) => int_word(ty, i)?.ok()?,
            (_, Node::Static(StaticNode::U64(u))) => uint_word(ty, u)?.ok()?,
            // `serde_json` refuses numbers past `f64`'s range.
            (_, Node::Static(StaticNode::F64(x))) if x.is_finite() => float_word(ty, x)?.ok()?,
            (_, Node::String(text)) => return self.string(ty, text, slot, store),
            (Type::List(element), Node::Array { len, .. }) => return self.list(element, len, slot, store),
            (Type::Record(record), Node::Object { len, .. }) => return self.record(*record, len, slot, store),
            _ => return None,
        };
        write_u64(slot, 0, word);
        Some(())
    }

    fn string(&mut self, ty: &Type, text: &str, slot: &mut [u8], store: bool) -> Option<()> {
        let word = match ty {
            Type::String => {
                write_u64(slot, 8, text.len() as u64);
                if store {
                    super::append(self.out.arena, self.out.base, text.as_bytes())
                } else {
                    0
                }
            }
            _ => text_word(self.program, ty, text)?.ok()?,
        };
        write_u64(slot, 0, word);
        Some(())
    }

    fn list(&mut self, element: &Type, len: usize, slot: &mut [u8], store: bool) -> Option<()> {
        if len == 0 {
            // No elements to decode (`"declared_labels":[]`): the row gets
            // what the general case below gives it, without a buffer.
            let offset = if store {
                super::append(self.out.arena, self.out.base, &[])
            } else {
                0
            };
            write_u64(slot, 0, offset);
            write_u64(slot, 8, 0);
            return Some(());
        }
        let stride = if store {
            self.plan.layout.size_of(element) as usize
        } else {
            0
        };
        // Elements are decoded into their own buffer, whose strings go to the
        // arena first, as on the `serde_json` path.
        let mut elements = self.out.lists.pop().unwrap_or_default();
        elements.clear();
        elements.resize(len * stride, 0);
        let mut decoded = Some(());
        for index in 0..len {
            let element_slot = elements
                .get_mut(index * stride..(index + 1) * stride)
                .unwrap_or(&mut []);
            decoded = self.value(element, element_slot, store);
            if decoded.is_none() {
                break;
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

    fn record(&mut self, record: RecordId, len: usize, slot: &mut [u8], store: bool) -> Option<()> {
        // Taken while the record is read against it (a record of the same
        // type nested in it is read in full).
        let shape = self
            .shapes
            .get_mut(record.index())
            .and_then(Option::take)
            .filter(|shape| shape.plan == self.plan.number);
        let learn = match shape {
            Some(mut shape) => {
                if shape.fields.len() == len {
                    let (at, arena) = (self.at, self.out.arena.len());
                    if self.record_in_shape(record, &shape, slot, store).is_some() {
                        shape.misses = shape.misses.saturating_sub(1);
                        self.keep(record, shape);
                        return Some(());
                    }
                    // Read again in full, from the record's first key.
                    self.at = at;
                    self.out.arena.truncate(arena);
                }
                shape.misses += 1;
                let learn = shape.misses >= RELEARN;
                self.keep(record, shape);
                learn
            }
            None => true,
        };
        let mut order = Vec::with_capacity(if learn { len } else { 0 });
        let plan = self.plan.record(record)?;
        let mut seen = Seen::new(plan.fields.len());
        let mut previous = None;
        for _ in 0..len {
            let Node::String(key) = self.next()? else { return None };
            let index = plan.field(key, previous)?;
            if seen.insert(index) {
                return None;
            }
            previous = Some(index);
            if learn {
                order.push(index as u32);
            }
            let field = plan.fields.get(index)?;
            let store = store && field.used;
            let field_slot = plan.field_slot(slot, index, store);
            self.value(&field.ty, field_slot, store)?;
        }
        let mut defaults = Vec::new();
        for (index, field) in plan.fields.iter().enumerate() {
            if seen.contains(index) {
                continue;
            }
            if let Some(default) = &field.default {
                if learn && field.used {
                    defaults.push(index as u32);
                }
                if store && field.used {
                    let field_slot = plan.field_slot(slot, index, true);
                    self.default(&field.ty, default, field_slot)?;
                }
                continue;
            }
            if !matches!(field.ty, Type::Optional(_)) {
                return None;
            }
        }
        if learn {
            let shape = Shape {
                plan: self.plan.number,
                fields: order,
                defaults,
                misses: 0,
            };
            self.keep(record, shape);
        }
        Some(())
    }

    /// Reads a record whose keys are `shape`'s, in its order; `None` at the
    /// first key that is not (or a value it cannot take).
    fn record_in_shape(&mut self, record: RecordId, shape: &Shape, slot: &mut [u8], store: bool) -> Option<()> {
        let plan = self.plan.record(record)?;
        for &index in &shape.fields {
            let field = plan.fields.get(index as usize)?;
            let Node::String(key) = self.next()? else { return None };
            if !super::same_name(&field.name, key.as_bytes()) {
                return None;
            }
            let store = store && field.used;
            let field_slot = plan.field_slot(slot, index as usize, store);
            self.value(&field.ty, field_slot, store)?;
        }
        if store {
            for &index in &shape.defaults {
                let field = plan.fields.get(index as usize)?;
                let default = field.default.as_deref()?;
                let field_slot = plan.field_slot(slot, index as usize, true);
                self.default(&field.ty, default, field_slot)?;
            }
        }
        Some(())
    }

    /// Puts `shape` back as record type `record`'s.
    fn keep(&mut self, record: RecordId, shape: Shape) {
        let index = record.index();
        if self.shapes.len() <= index {
            self.shapes.resize_with(index + 1, || None);
        }
        if let Some(place) = self.shapes.get_mut(index) {
            *place = Some(shape);
        }
    }

    /// Decodes a field's default (JSON the plan made) into `slot`.
    fn default(&mut self, ty: &Type, json: &str, slot: &mut [u8]) -> Option<()> {
        decode_default(self.plan, self.program, ty, json, slot, &mut self.out)
    }
}

/// Decodes a field's default (JSON the plan made, holding no record) into
/// `slot`.
pub(super) fn decode_default(
    plan: &IngestPlan,
    program: &Program,
    ty: &Type,
    json: &str,
    slot: &mut [u8],
    out: &mut Out<'_>,
) -> Option<()> {
    let mut bytes = json.as_bytes().to_vec();
    let tape = simd_json::to_tape(&mut bytes).ok()?;
    let mut walk = Walk {
        plan,
        program,
        nodes: &tape.0,
        at: 0,
        out: Out {
            arena: out.arena,
            base: out.base,
            lists: out.lists,
        },
        shapes: &mut Vec::new(),
    };
    walk.value(ty, slot, true)
}
