//! State across records: what a read of a `counter`, `distinct`,
//! `first_seen` or `tag` gives, and what a record writes. Every store (the
//! test runner's map here, the runtime's memory, embedded and Redis stores)
//! keeps the same [`Cell`]s and changes them only through this module, so
//! all of them give the same values for the same sequence of records.
//!
//! Evaluation stays a function of (record, now, state values): for each
//! record the caller [`prepare`]s its touches (keys, event time, whether it
//! counts), reads a value per declaration with [`read`], evaluates, then
//! applies the record's writes with [`write`] and [`write_tags`] — read,
//! then write, so a count includes the current record exactly once.
//!
//! Windows are defined by fixed buckets: with bucket width `w` and `n`
//! buckets per window, a record at event time `t` falls in bucket
//! `b = floor(t / w)`, and its window is buckets `b-n+1 ..= b`. Each
//! declaration has a watermark, the newest event time of the records it has
//! seen; a record reads the buckets of its window that are also within a
//! window of the watermark's bucket. A record a whole window (a tag's `ttl`)
//! or more behind the watermark is late: it reads only itself and writes
//! nothing. So in-order streams count exactly, out-of-order records are
//! counted while less than a window late, and the result depends only on the
//! order records arrive in, never on the store or the wall clock. State no
//! read can see again (buckets behind the watermark's window, expired tags)
//! may be dropped by any store at any time without changing a value.

use std::collections::HashMap;

use compact_str::CompactString;

use crate::interp::{EvalError, EvalErrorKind, Interpreter};
use crate::outcome::{Conditions, Outcome};
use crate::program::{Program, RecordId, StateDef, StateId, StateKind, TExpr, TExprKind};
use crate::text::stable_hash;
use crate::types::Type;
use crate::value::Value;

mod access;
mod cell;

use access::floor;
pub use access::{is_late, read, read_and_count, read_cell, read_into, write, write_tags, CellMap};
pub use cell::{namespace, Cell, DistinctSet, Window, DISTINCT_EXACT};

/// Where a declaration keeps one key's state.
#[derive(Debug, Clone, PartialOrd, Ord)]
pub struct StateKey {
    /// The declaration.
    pub state: StateId,
    /// The key.
    pub key: KeyText,
    /// A hash of both, computed once ([`StateKey::new`]): maps of keys
    /// ([`KeyMap`]) use it as it is instead of hashing the key again.
    hash: u64,
}

/// How keys are hashed in memory: with a seed chosen at random when the
/// process starts, so that records cannot be made to collide in a map (an
/// unseeded hash lets a hostile stream of keys turn every lookup into a
/// scan). Never stored: stores keep keys by their text.
static KEY_HASHER: std::sync::LazyLock<foldhash::fast::RandomState> = std::sync::LazyLock::new(Default::default);

impl StateKey {
    /// The key `key` of declaration `state`.
    pub fn new(state: StateId, key: KeyText) -> StateKey {
        use std::hash::{BuildHasher, Hasher};
        let mut hasher = KEY_HASHER.build_hasher();
        hasher.write_u32(state.0);
        match &key {
            KeyText::Int(i) => hasher.write_i64(*i),
            KeyText::Text(text) => hasher.write(text.as_bytes()),
        }
        let hash = hasher.finish();
        StateKey { state, key, hash }
    }
}

/// The same fields as the derived `Ord` compares; the hash first (a
/// mismatch answers at once).
impl PartialEq for StateKey {
    fn eq(&self, other: &StateKey) -> bool {
        self.hash == other.hash && self.state == other.state && self.key == other.key
    }
}

impl Eq for StateKey {}

impl std::hash::Hash for StateKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

/// A key as stores keep it, by its text: `a123`, an enum variant's name,
/// `42`. An int key (a fingerprint, most keys) stays an int in memory and
/// is written as text only where a store or a report needs it. One
/// declaration's keys are all of one kind (its `key:` has one type).
#[derive(Debug, Clone, PartialOrd, Ord)]
pub enum KeyText {
    /// An int's key, written in decimal.
    Int(i64),
    /// Text, kept inline, with no allocation, up to 24 bytes, as most are.
    Text(CompactString),
}

impl KeyText {
    /// Appends the key's text to `out`.
    pub fn append_to(&self, out: &mut Vec<u8>) {
        match self {
            KeyText::Int(i) => out.extend_from_slice(itoa::Buffer::new().format(*i).as_bytes()),
            KeyText::Text(text) => out.extend_from_slice(text.as_bytes()),
        }
    }

    /// The key's text.
    pub fn into_text(self) -> CompactString {
        match self {
            KeyText::Int(i) => CompactString::from(itoa::Buffer::new().format(i)),
            KeyText::Text(text) => text,
        }
    }

    /// Bytes it holds on the heap (none for an int or a short text).
    pub fn heap_bytes(&self) -> usize {
        match self {
            KeyText::Text(text) if text.is_heap_allocated() => text.capacity(),
            _ => 0,
        }
    }
}

/// Compared in place (every hit in a map compares keys, and a call to
/// `memcmp` was most of a lookup).
impl PartialEq for KeyText {
    fn eq(&self, other: &KeyText) -> bool {
        match (self, other) {
            (KeyText::Int(a), KeyText::Int(b)) => a == b,
            (KeyText::Text(a), KeyText::Text(b)) => crate::text::short_eq(a.as_bytes(), b.as_bytes()),
            _ => false,
        }
    }
}

impl Eq for KeyText {}

impl std::fmt::Display for KeyText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyText::Int(i) => write!(f, "{i}"),
            KeyText::Text(text) => f.write_str(text),
        }
    }
}

/// A map by [`StateKey`] that hashes nothing: the key carries its hash.
pub type KeyMap<V> = HashMap<StateKey, V, std::hash::BuildHasherDefault<KeyHasher>>;

/// The hasher of [`KeyMap`]: passes a key's precomputed hash through.
#[derive(Default)]
pub struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used by `StateKey`; anything else is hashed.
        self.0 ^= stable_hash(bytes);
    }

    fn write_u64(&mut self, hash: u64) {
        self.0 = hash;
    }
}

/// What one record brings to one state declaration.
#[derive(Debug, Clone, PartialEq)]
pub struct Touch {
    /// Where it reads and writes.
    pub key: StateKey,
    /// The record's event time (`time:`), in microseconds.
    pub time: i64,
    /// The bucket of `time` (counters and distinct counts).
    pub bucket: i64,
    /// Whether the record counts (`when:` held; always for the other kinds).
    pub counts: bool,
    /// `distinct`: the stable hash of `of:`.
    pub value: u64,
    /// `first_seen`: the record's `id:`.
    pub id: CompactString,
}

/// The touches of one record, one per state declaration of its type (or
/// the run-time error computing it).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Prepared {
    /// By declaration, in program order.
    pub touches: Vec<(StateId, Result<Touch, EvalError>)>,
}

impl Prepared {
    /// The touch of declaration `state`, if it was computed.
    pub fn touch(&self, state: StateId) -> Option<&Touch> {
        self.touches
            .iter()
            .find(|(id, _)| *id == state)
            .and_then(|(_, t)| t.as_ref().ok())
    }
}

/// What the engines read: one value per state declaration of the program.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StateValues {
    /// By `StateId`: counts, `first_seen` times, tags as 0/1.
    pub values: Vec<i64>,
    /// By `StateId`: why the value could not be computed.
    pub errors: Vec<Option<EvalError>>,
    /// By `StateId`, for `first_seen`: the id of the earliest record (empty
    /// when the program keeps no first-seen records).
    pub first_ids: Vec<Option<CompactString>>,
}

impl StateValues {
    /// Values for a program whose records read nothing yet (all zero).
    pub fn new(program: &Program) -> StateValues {
        StateValues {
            values: vec![0; program.states.len()],
            errors: vec![None; program.states.len()],
            first_ids: if program.states.iter().any(|s| s.kind == StateKind::FirstSeen) {
                vec![None; program.states.len()]
            } else {
                Vec::new()
            },
        }
    }
}

/// The values a rule's condition (reading `reads`) read for a record: each
/// declaration, the record's touch of it (its key) and the value.
pub fn values_read<'a>(
    program: &'a Program,
    reads: &'a [StateId],
    prepared: &'a Prepared,
    values: &'a StateValues,
) -> impl Iterator<Item = (StateId, &'a StateDef, &'a Touch, Value)> {
    reads.iter().filter_map(move |id| {
        let def = program.states.get(id.index())?;
        let touch = prepared.touch(*id)?;
        let raw = *values.values.get(id.index())?;
        Some((*id, def, touch, read_value(def.kind, raw)))
    })
}

/// The typed value a read gives, from its raw word.
pub fn read_value(kind: StateKind, raw: i64) -> Value {
    match kind {
        StateKind::Counter | StateKind::Distinct => Value::Int(raw),
        StateKind::FirstSeen => Value::Time(raw),
        StateKind::Tag => Value::Bool(raw != 0),
    }
}

/// The state declarations of `record_type`.
pub fn states_of(program: &Program, record_type: RecordId) -> impl Iterator<Item = (StateId, &StateDef)> {
    program
        .states
        .iter()
        .enumerate()
        .filter(move |(_, s)| s.record == record_type)
        .map(|(i, s)| (StateId(i as u32), s))
}

/// Which top-level fields of `record_type` the state declarations of the
/// type read (`None`: the record is used whole, e.g. bound to a name),
/// so that a record can be decoded for [`prepare`] without the rest.
pub fn fields_read(program: &Program, record_type: RecordId) -> Option<Vec<bool>> {
    let n = program.record(record_type)?.fields.len();
    let mut fields = vec![false; n];
    for (_, def) in states_of(program, record_type) {
        for expr in def.exprs() {
            if !mark_fields(program, expr, 0, &mut fields, 0) {
                return None;
            }
        }
    }
    Some(fields)
}

/// Marks in `fields` the top-level fields of the record in local `record`
/// that `expr` reads, following it into the functions it is passed to;
/// false when the record is used otherwise (bound to a name, compared,
/// passed through more calls than a policy nests), and so needed whole.
pub fn mark_fields(program: &Program, expr: &TExpr, record: u32, fields: &mut [bool], depth: u32) -> bool {
    const DEPTH: u32 = 32;
    match &expr.kind {
        TExprKind::Field(base, index) if matches!(base.kind, TExprKind::Local(l) if l == record) => {
            if let Some(field) = fields.get_mut(*index as usize) {
                *field = true;
            }
            true
        }
        TExprKind::Local(l) => *l != record,
        TExprKind::Call(id, args) => args.iter().enumerate().all(|(param, arg)| match arg.kind {
            // INVARIANT: a function's parameters are its first locals.
            TExprKind::Local(l) if l == record => {
                depth < DEPTH
                    && program
                        .fns
                        .get(id.index())
                        .is_some_and(|f| mark_fields(program, &f.body, param as u32, fields, depth + 1))
            }
            _ => mark_fields(program, arg, record, fields, depth),
        }),
        _ => expr
            .children()
            .into_iter()
            .all(|child| mark_fields(program, child, record, fields, depth)),
    }
}

/// Computes a record's touches with the interpreter: keys, times, `when:`,
/// `of:` and `id:` of every state declaration of its type.
pub fn prepare(program: &Program, record_type: RecordId, record: &Value) -> Prepared {
    let interpreter = Interpreter::new(program);
    let touches = states_of(program, record_type)
        .map(|(id, def)| (id, touch(&interpreter, id, def, record)))
        .collect();
    Prepared { touches }
}

fn touch(interpreter: &Interpreter<'_>, id: StateId, def: &StateDef, record: &Value) -> Result<Touch, EvalError> {
    let mut frame = Vec::with_capacity(def.n_locals as usize);
    let mut eval = |expr: &TExpr| -> Result<Value, EvalError> {
        frame.clear();
        frame.push(record.clone());
        frame.resize(def.n_locals.max(1) as usize, Value::Absent);
        interpreter.eval_expr(expr, &mut frame, 0)
    };
    let key = eval(&def.key)?;
    let Value::Time(time) = eval(&def.time)? else {
        return Err(bad(def.time.span));
    };
    let counts = match &def.when {
        Some(when) => match eval(when)? {
            Value::Bool(b) => b,
            _ => return Err(bad(when.span)),
        },
        None => true,
    };
    let of = def.of.as_ref().map(&mut eval).transpose()?;
    let id_value = def.id.as_ref().map(&mut eval).transpose()?;
    let parts = TouchParts {
        key: part(&key, &def.key)?,
        time,
        counts,
        of: match (&of, &def.of) {
            (Some(value), Some(expr)) => Some(part(value, expr)?),
            _ => None,
        },
        id: match (&id_value, &def.id) {
            (Some(value), Some(expr)) => Some(part(value, expr)?),
            _ => None,
        },
    };
    Ok(touch_of(interpreter.program(), id, def, &parts))
}

/// A key, `of:` or `id:` value as the interpreter computed it (the checker
/// allows only these types).
fn part<'v>(value: &'v Value, expr: &TExpr) -> Result<KeyPart<'v>, EvalError> {
    match value {
        Value::Str(s) => Ok(KeyPart::Str(s)),
        Value::Int(i) => Ok(KeyPart::Int(*i)),
        Value::Enum(v) => Ok(KeyPart::Enum(*v)),
        _ => Err(bad(expr.span)),
    }
}

/// A key, `of:` or `id:` value as an engine computed it.
#[derive(Debug, Clone, Copy)]
pub enum KeyPart<'a> {
    /// A string (a key is bounded, see [`MAX_KEY_BYTES`]).
    Str(&'a str),
    /// An int.
    Int(i64),
    /// An enum variant's index.
    Enum(u32),
}

/// What either engine computes of one record for one state declaration.
#[derive(Debug, Clone, Copy)]
pub struct TouchParts<'a> {
    /// `key:`.
    pub key: KeyPart<'a>,
    /// `time:`.
    pub time: i64,
    /// `when:` (true without one).
    pub counts: bool,
    /// `of:`, for distinct counts.
    pub of: Option<KeyPart<'a>>,
    /// `id:`, for first-seen records.
    pub id: Option<KeyPart<'a>>,
}

/// The touch both engines build from the parts they computed.
pub fn touch_of(program: &Program, id: StateId, def: &StateDef, parts: &TouchParts<'_>) -> Touch {
    let key = |part: KeyPart<'_>, expr: Option<&TExpr>| -> KeyText {
        match part {
            KeyPart::Str(s) => KeyText::Text(bounded_key(s)),
            KeyPart::Int(i) => KeyText::Int(i),
            KeyPart::Enum(v) => match expr.map(|e| &e.ty) {
                Some(Type::Enum(e)) => program
                    .enum_def(*e)
                    .and_then(|d| d.variants.get(v as usize))
                    .map_or(KeyText::Int(i64::from(v)), |name| KeyText::Text(name.into())),
                _ => KeyText::Int(i64::from(v)),
            },
        }
    };
    let text = |part: KeyPart<'_>, expr: Option<&TExpr>| key(part, expr).into_text();
    Touch {
        key: StateKey::new(id, key(parts.key, Some(&def.key))),
        time: parts.time,
        bucket: bucket_of(def, parts.time),
        counts: parts.counts,
        value: parts.of.map_or(0, |of| match of {
            // The hash of the text the key would be, without making it.
            KeyPart::Str(s) if s.len() <= MAX_KEY_BYTES => stable_hash(s.as_bytes()),
            _ => stable_hash(text(of, def.of.as_ref()).as_bytes()),
        }),
        id: parts
            .id
            .map_or_else(CompactString::default, |i| text(i, def.id.as_ref())),
    }
}

fn bad(span: qlp_grammar::Span) -> EvalError {
    EvalError {
        kind: EvalErrorKind::BadRecord,
        span,
    }
}

/// Longest key (or `id:`) kept as it is, in bytes.
pub const MAX_KEY_BYTES: usize = 256;

/// A text key, bounded: a longer text is kept as its first 64 bytes (whole
/// characters), `…#`, and the stable hash of the whole text, so that a
/// hostile record cannot make a store keep megabytes per key.
fn bounded_key(text: &str) -> CompactString {
    if text.len() <= MAX_KEY_BYTES {
        return CompactString::from(text);
    }
    let cut = text
        .char_indices()
        .map(|(i, _)| i)
        .take_while(|i| *i <= 64)
        .last()
        .unwrap_or(0);
    compact_str::format_compact!(
        "{}…#{:016x}",
        text.get(..cut).unwrap_or(""),
        stable_hash(text.as_bytes())
    )
}

/// Each declaration's watermark: the newest event time it has seen, and
/// the newest bucket no read can see any more (kept, not recomputed, since
/// every read and write needs it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Watermarks {
    marks: Vec<Option<Mark>>,
}

/// One declaration's watermark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    /// The newest event time seen.
    pub time: i64,
    /// Buckets at or before this one are behind every window a read sees.
    pub floor: i64,
}

impl Watermarks {
    /// Watermarks at the times `marks` (by `StateId`), as a store keeps them.
    pub fn new(program: &Program, marks: Vec<Option<i64>>) -> Watermarks {
        let marks = marks
            .into_iter()
            .enumerate()
            .map(|(index, time)| {
                let def = program.states.get(index)?;
                time.map(|time| Mark {
                    time,
                    floor: floor(def, time),
                })
            })
            .collect();
        Watermarks { marks }
    }

    /// The times, by `StateId`, as a store keeps them.
    pub fn times(&self) -> impl Iterator<Item = Option<i64>> + '_ {
        self.marks.iter().map(|m| m.map(|m| m.time))
    }

    /// The watermark of `state`.
    pub fn get(&self, state: StateId) -> Option<Mark> {
        self.marks.get(state.index()).copied().flatten()
    }

    /// Moves the watermark of `state` forward to the touch's time.
    fn advance(&mut self, state: StateId, def: &StateDef, touch: &Touch) {
        if self.marks.len() <= state.index() {
            self.marks.resize(state.index() + 1, None);
        }
        if let Some(mark) = self.marks.get_mut(state.index()) {
            // Buckets grow with time: the floor of the later time is the later floor.
            let own_floor = touch.bucket.saturating_sub(buckets(def));
            *mark = Some(match mark {
                Some(m) => Mark {
                    time: m.time.max(touch.time),
                    floor: m.floor.max(own_floor),
                },
                None => Mark {
                    time: touch.time,
                    floor: own_floor,
                },
            });
        }
    }
}

/// Rules and exemptions that read a value that could not be computed err
/// with that error, whatever the engine made of the placeholder.
pub fn apply_errors(program: &Program, values: &StateValues, conditions: &mut Conditions) {
    if values.errors.iter().all(Option::is_none) {
        return;
    }
    let error_of = |reads: &[StateId]| {
        reads
            .iter()
            .find_map(|id| values.errors.get(id.index()).copied().flatten())
    };
    for (id, result) in &mut conditions.rules {
        if let Some(error) = program.rule(*id).and_then(|r| error_of(&r.reads)) {
            *result = Err(error);
        }
    }
    for (id, result) in &mut conditions.exempts {
        if let Some(error) = program.exemptions.get(id.index()).and_then(|e| error_of(&e.reads)) {
            *result = Err(error);
        }
    }
}

/// Conditions evaluated without state: every rule and exemption that reads
/// state errs with [`EvalErrorKind::NoState`].
pub fn without_state(program: &Program) -> StateValues {
    let mut values = StateValues::new(program);
    for (index, def) in program.states.iter().enumerate() {
        if let Some(error) = values.errors.get_mut(index) {
            *error = Some(EvalError {
                kind: EvalErrorKind::NoState,
                span: def.location.span,
            });
        }
    }
    values
}

pub(super) fn bucket_of(def: &StateDef, time: i64) -> i64 {
    time.div_euclid(def.bucket.max(1))
}

pub(super) fn buckets(def: &StateDef) -> i64 {
    def.buckets.max(1)
}

/// State kept in a map in memory: the test runner's store, and the model
/// every other store is tested against.
#[derive(Debug, Default, Clone)]
pub struct StateMap {
    cells: KeyMap<Option<Cell>>,
    marks: Watermarks,
}

impl StateMap {
    /// An empty map.
    pub fn new() -> StateMap {
        StateMap::default()
    }

    /// The values a record reads.
    pub fn read(&self, program: &Program, prepared: &Prepared) -> StateValues {
        read(program, prepared, &self.marks, |key| {
            self.cells.get(key).and_then(Option::as_ref)
        })
    }

    /// Applies a record's writes after its outcome is known.
    pub fn write(&mut self, program: &Program, prepared: &Prepared, outcome: &Outcome) {
        write(program, prepared, outcome, &mut self.marks, &mut self.cells);
    }

    /// The values a record reads, its counts written ([`read_and_count`]):
    /// follow with [`StateMap::write_tags`].
    pub fn read_and_count(&mut self, program: &Program, prepared: &Prepared) -> StateValues {
        let mut values = StateValues::new(program);
        read_and_count(program, prepared, &self.marks, &mut self.cells, &mut values);
        values
    }

    /// Applies the writes that wait for the outcome ([`write_tags`]).
    pub fn write_tags(&mut self, program: &Program, prepared: &Prepared, outcome: &Outcome) {
        write_tags(program, prepared, outcome, &mut self.marks, &mut self.cells);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_text_keys_are_bounded_and_stay_distinct() {
        assert_eq!(bounded_key("a123"), "a123");
        let long = "转发".repeat(200);
        let other = format!("{long}!");
        let (a, b) = (bounded_key(&long), bounded_key(&other));
        assert!(a.len() < 100 && b.len() < 100, "{a}");
        assert_ne!(a, b);
        assert!(a.starts_with("转发"), "{a}");
    }

    #[test]
    fn int_keys_are_stored_as_their_decimal_text() {
        // Stores keep keys by text: an int key must give the text an int
        // key always gave, or a store written before would not be found.
        for (key, text) in [
            (0, "0"),
            (-42, "-42"),
            (i64::MIN, "-9223372036854775808"),
            (i64::MAX, "9223372036854775807"),
        ] {
            let mut out = b"ns\0".to_vec();
            KeyText::Int(key).append_to(&mut out);
            assert_eq!(out, [b"ns\0".as_slice(), text.as_bytes()].concat());
            assert_eq!(KeyText::Int(key).to_string(), text);
        }
        let mut out = Vec::new();
        KeyText::Text("a123".into()).append_to(&mut out);
        assert_eq!(out, b"a123");
        // Keys are compared by kind and value, and hashed alike when equal.
        let (state, other) = (StateId(0), StateId(1));
        assert_eq!(
            StateKey::new(state, KeyText::Int(7)),
            StateKey::new(state, KeyText::Int(7))
        );
        assert_ne!(
            StateKey::new(state, KeyText::Int(7)),
            StateKey::new(state, KeyText::Int(8))
        );
        assert_ne!(
            StateKey::new(state, KeyText::Int(7)),
            StateKey::new(other, KeyText::Int(7))
        );
        assert_eq!(
            StateKey::new(state, KeyText::Text("a1".into())),
            StateKey::new(state, KeyText::Text("a1".into()))
        );
    }
}
