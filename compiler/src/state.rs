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
//! `b = floor(t / w)`, and its window is buckets `b-n+1 ..= b`. A key keeps
//! only the buckets within a window of the newest bucket written for it;
//! a write older than that is dropped, and a read sums the kept buckets in
//! its window. So late records are counted while they are less than a
//! window behind their key's newest record, and the result depends only on
//! the order records arrive in, never on the store or the wall clock.

use std::collections::HashMap;

use crate::interp::{EvalError, EvalErrorKind, Interpreter};
use crate::outcome::{Conditions, Outcome};
use crate::program::{Program, RecordId, StateDef, StateId, StateKind, TExpr};
use crate::text::stable_hash;
use crate::types::Type;
use crate::value::Value;

/// Distinct values counted exactly, per window, before the count becomes
/// a HyperLogLog estimate.
pub const DISTINCT_EXACT: usize = 1024;
/// HyperLogLog precision: 2^12 registers, a standard error of 1.6%.
const HLL_BITS: u32 = 12;
const HLL_REGISTERS: usize = 1 << HLL_BITS;

/// Where a declaration keeps one key's state.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StateKey {
    /// The declaration.
    pub state: StateId,
    /// The key, as text (`a123`, `42`, an enum variant's name).
    pub key: String,
}

/// What one record brings to one state declaration.
#[derive(Debug, Clone, PartialEq)]
pub struct Touch {
    /// Where it reads and writes.
    pub key: StateKey,
    /// The record's event time (`time:`), in microseconds.
    pub time: i64,
    /// Whether the record counts (`when:` held; always for the other kinds).
    pub counts: bool,
    /// `distinct`: the stable hash of `of:`.
    pub value: u64,
    /// `first_seen`: the record's `id:`.
    pub id: String,
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
}

impl StateValues {
    /// Values for a program whose records read nothing yet (all zero).
    pub fn new(program: &Program) -> StateValues {
        StateValues {
            values: vec![0; program.states.len()],
            errors: vec![None; program.states.len()],
        }
    }
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
    let program = interpreter.program();
    let key = key_text(&eval(&def.key)?, &def.key.ty, program);
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
    let value = match &def.of {
        Some(of) => stable_hash(key_text(&eval(of)?, &of.ty, program).as_bytes()),
        None => 0,
    };
    let id_text = match &def.id {
        Some(expr) => key_text(&eval(expr)?, &expr.ty, program),
        None => String::new(),
    };
    Ok(Touch {
        key: StateKey { state: id, key },
        time,
        counts,
        value,
        id: id_text,
    })
}

fn bad(span: qlp_grammar::Span) -> EvalError {
    EvalError {
        kind: EvalErrorKind::BadRecord,
        span,
    }
}

/// A key value as text: strings as they are, ints in decimal, enum variants
/// by name.
fn key_text(value: &Value, ty: &Type, program: &Program) -> String {
    match (value, ty) {
        (Value::Str(s), _) => s.to_string(),
        (Value::Int(i), _) => i.to_string(),
        (Value::Enum(v), Type::Enum(e)) => program
            .enum_def(*e)
            .and_then(|d| d.variants.get(*v as usize))
            .map_or_else(|| v.to_string(), |name| name.to_string()),
        (other, _) => format!("{other:?}"),
    }
}

/// Every state declaration's value for one record, the record itself
/// included: `cell` gives the stored state of a key.
pub fn read<'c>(
    program: &Program,
    prepared: &Prepared,
    mut cell: impl FnMut(&StateKey) -> Option<&'c Cell>,
) -> StateValues {
    let mut values = StateValues::new(program);
    for (id, touch) in &prepared.touches {
        let (Some(def), Some(value), Some(error)) = (
            program.states.get(id.index()),
            values.values.get_mut(id.index()),
            values.errors.get_mut(id.index()),
        ) else {
            continue;
        };
        match touch {
            Ok(touch) => *value = read_cell(def, cell(&touch.key), touch),
            Err(e) => *error = Some(*e),
        }
    }
    values
}

/// What a read of `def` gives for `touch`, with `cell` stored.
pub fn read_cell(def: &StateDef, cell: Option<&Cell>, touch: &Touch) -> i64 {
    match (def.kind, cell) {
        (StateKind::Counter, Some(Cell::Counter(window))) => {
            window.sum_in(bucket_of(def, touch.time), buckets(def)) + i64::from(touch.counts)
        }
        (StateKind::Counter, _) => i64::from(touch.counts),
        (StateKind::Distinct, cell) => {
            let mut union = Union::default();
            if let Some(Cell::Distinct(window)) = cell {
                for set in window.in_window(bucket_of(def, touch.time), buckets(def)) {
                    union.add_set(set);
                }
            }
            if touch.counts {
                union.add(touch.value);
            }
            union.count()
        }
        (StateKind::FirstSeen, Some(Cell::FirstSeen { time, .. })) if *time <= touch.time => *time,
        (StateKind::FirstSeen, _) => touch.time,
        (StateKind::Tag, Some(Cell::Tag { expires })) => i64::from(*expires > touch.time),
        (StateKind::Tag, _) => 0,
    }
}

/// Applies a record's writes to counters, distinct counts and first-seen
/// records (tags are written by rules: [`write_tags`]).
pub fn write(program: &Program, prepared: &Prepared, cells: &mut impl CellMap) {
    for (id, touch) in &prepared.touches {
        let (Some(def), Ok(touch)) = (program.states.get(id.index()), touch) else {
            continue;
        };
        if def.kind != StateKind::Tag {
            write_cell(def, cells.cell_mut(&touch.key), touch);
        }
    }
}

/// Cells a store changes in place.
pub trait CellMap {
    /// The cell of `key`, created empty when the key has none.
    fn cell_mut(&mut self, key: &StateKey) -> &mut Option<Cell>;
}

impl CellMap for HashMap<StateKey, Option<Cell>> {
    fn cell_mut(&mut self, key: &StateKey) -> &mut Option<Cell> {
        self.entry(key.clone()).or_default()
    }
}

/// Applies one touch to one cell.
pub fn write_cell(def: &StateDef, cell: &mut Option<Cell>, touch: &Touch) {
    match def.kind {
        StateKind::Counter if touch.counts => {
            if !matches!(cell, Some(Cell::Counter(_))) {
                *cell = Some(Cell::Counter(Window::default()));
            }
            if let Some(Cell::Counter(window)) = cell {
                if let Some(count) = window.slot(bucket_of(def, touch.time), buckets(def)) {
                    *count = count.saturating_add(1);
                }
            }
        }
        StateKind::Distinct if touch.counts => {
            if !matches!(cell, Some(Cell::Distinct(_))) {
                *cell = Some(Cell::Distinct(Window::default()));
            }
            if let Some(Cell::Distinct(window)) = cell {
                if let Some(set) = window.slot(bucket_of(def, touch.time), buckets(def)) {
                    set.insert(touch.value);
                }
            }
        }
        StateKind::FirstSeen => {
            let earlier = match cell {
                Some(Cell::FirstSeen { time, .. }) => touch.time < *time,
                _ => true,
            };
            if earlier {
                *cell = Some(Cell::FirstSeen {
                    time: touch.time,
                    id: touch.id.clone(),
                });
            }
        }
        StateKind::Counter | StateKind::Distinct | StateKind::Tag => {}
    }
}

/// Writes the tags of the rules that fired: each lasts its `ttl:` (or the
/// action's own) from the record's event time, and a tag set again lasts
/// until the later of the two ends.
pub fn write_tags(program: &Program, prepared: &Prepared, outcome: &Outcome, cells: &mut impl CellMap) {
    for rule in outcome.fired.iter().filter_map(|id| program.rule(*id)) {
        for action in &rule.actions {
            let Some(tag) = action.tag else { continue };
            let (Some(def), Some(touch)) = (program.states.get(tag.index()), prepared.touch(tag)) else {
                continue;
            };
            let ttl = action.duration.unwrap_or(def.ttl);
            let until = touch.time.saturating_add(ttl);
            let cell = cells.cell_mut(&touch.key);
            let expires = match cell {
                Some(Cell::Tag { expires }) => (*expires).max(until),
                _ => until,
            };
            *cell = Some(Cell::Tag { expires });
        }
    }
}

/// Rules and exemptions that read a value that could not be computed err
/// with that error, whatever the engine made of the placeholder.
pub fn apply_errors(program: &Program, values: &StateValues, conditions: &mut Conditions) {
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

fn bucket_of(def: &StateDef, time: i64) -> i64 {
    time.div_euclid(def.bucket.max(1))
}

fn buckets(def: &StateDef) -> i64 {
    (def.window / def.bucket.max(1)).max(1)
}

/// One key's stored state.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// A counter's buckets.
    Counter(Window<u64>),
    /// A distinct count's buckets.
    Distinct(Window<DistinctSet>),
    /// The earliest record seen: its event time and id.
    FirstSeen {
        /// Event time, microseconds.
        time: i64,
        /// The record's `id:`.
        id: String,
    },
    /// A tag, set until `expires` (event time, exclusive).
    Tag {
        /// Event time the tag ends at.
        expires: i64,
    },
}

impl Cell {
    /// Whether nothing in it can affect a read of a record at `time` or
    /// later (so a store may drop it).
    pub fn expired(&self, def: &StateDef, time: i64) -> bool {
        match self {
            Cell::Counter(w) => w.newest.is_none_or(|n| n <= bucket_of(def, time) - buckets(def)),
            Cell::Distinct(w) => w.newest.is_none_or(|n| n <= bucket_of(def, time) - buckets(def)),
            Cell::FirstSeen { .. } => false,
            Cell::Tag { expires } => *expires <= time,
        }
    }

    /// Bytes it takes in memory, roughly (for store limits and reports).
    pub fn memory(&self) -> usize {
        std::mem::size_of::<Cell>()
            + match self {
                Cell::Counter(w) => w.buckets.capacity() * std::mem::size_of::<(i64, u64)>(),
                Cell::Distinct(w) => w.buckets.iter().map(|(_, s)| 16 + s.memory()).sum(),
                Cell::FirstSeen { id, .. } => id.capacity(),
                Cell::Tag { .. } => 0,
            }
    }
}

/// A key's buckets: only those within a window of the newest bucket
/// written, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Window<T> {
    /// The newest bucket written.
    pub newest: Option<i64>,
    /// Bucket number and content, ascending.
    pub buckets: Vec<(i64, T)>,
}

impl<T> Default for Window<T> {
    fn default() -> Self {
        Window {
            newest: None,
            buckets: Vec::new(),
        }
    }
}

impl<T: Default> Window<T> {
    /// The content of bucket `b` to write into, after moving the window
    /// forward to it; `None` when `b` is a window or more behind the newest
    /// bucket (a write that late is dropped).
    fn slot(&mut self, b: i64, n: i64) -> Option<&mut T> {
        let newest = self.newest.map_or(b, |newest| newest.max(b));
        if b <= newest - n {
            return None;
        }
        self.newest = Some(newest);
        self.buckets.retain(|(bucket, _)| *bucket > newest - n);
        let at = match self.buckets.binary_search_by_key(&b, |(bucket, _)| *bucket) {
            Ok(at) => at,
            Err(at) => {
                self.buckets.insert(at, (b, T::default()));
                at
            }
        };
        self.buckets.get_mut(at).map(|(_, content)| content)
    }
}

impl<T> Window<T> {
    /// The kept buckets of the window ending at bucket `b`.
    fn in_window(&self, b: i64, n: i64) -> impl Iterator<Item = &T> {
        self.buckets
            .iter()
            .filter(move |(bucket, _)| *bucket > b - n && *bucket <= b)
            .map(|(_, content)| content)
    }
}

impl Window<u64> {
    fn sum_in(&self, b: i64, n: i64) -> i64 {
        let sum = self.in_window(b, n).fold(0u64, |sum, c| sum.saturating_add(*c));
        i64::try_from(sum).unwrap_or(i64::MAX)
    }
}

/// The values of one bucket of a distinct count: their hashes, exactly,
/// up to [`DISTINCT_EXACT`], then a HyperLogLog sketch.
#[derive(Debug, Clone, PartialEq)]
pub enum DistinctSet {
    /// Sorted hashes.
    Exact(Vec<u64>),
    /// HyperLogLog registers.
    Sketch(Box<[u8]>),
}

impl Default for DistinctSet {
    fn default() -> Self {
        DistinctSet::Exact(Vec::new())
    }
}

impl DistinctSet {
    /// Adds a value's hash.
    pub fn insert(&mut self, hash: u64) {
        match self {
            DistinctSet::Exact(hashes) => {
                if let Err(at) = hashes.binary_search(&hash) {
                    hashes.insert(at, hash);
                }
                if hashes.len() > DISTINCT_EXACT {
                    let mut registers = vec![0u8; HLL_REGISTERS].into_boxed_slice();
                    for h in hashes.iter() {
                        hll_add(&mut registers, *h);
                    }
                    *self = DistinctSet::Sketch(registers);
                }
            }
            DistinctSet::Sketch(registers) => hll_add(registers, hash),
        }
    }

    fn memory(&self) -> usize {
        match self {
            DistinctSet::Exact(h) => h.capacity() * 8,
            DistinctSet::Sketch(r) => r.len(),
        }
    }
}

/// The union of a window's buckets, counted.
#[derive(Default)]
struct Union {
    exact: Vec<u64>,
    sketch: Option<Box<[u8]>>,
}

impl Union {
    fn add(&mut self, hash: u64) {
        match &mut self.sketch {
            Some(registers) => hll_add(registers, hash),
            None => self.exact.push(hash),
        }
    }

    fn add_set(&mut self, set: &DistinctSet) {
        match set {
            DistinctSet::Exact(hashes) => {
                for h in hashes {
                    self.add(*h);
                }
            }
            DistinctSet::Sketch(registers) => {
                let own = self.sketch();
                for (mine, theirs) in own.iter_mut().zip(registers.iter()) {
                    *mine = (*mine).max(*theirs);
                }
            }
        }
    }

    /// Switches to a sketch, adding the exact values so far.
    fn sketch(&mut self) -> &mut Box<[u8]> {
        let exact = std::mem::take(&mut self.exact);
        self.sketch.get_or_insert_with(|| {
            let mut registers = vec![0u8; HLL_REGISTERS].into_boxed_slice();
            for h in exact {
                hll_add(&mut registers, h);
            }
            registers
        })
    }

    fn count(mut self) -> i64 {
        if self.sketch.is_none() {
            self.exact.sort_unstable();
            self.exact.dedup();
            if self.exact.len() <= DISTINCT_EXACT {
                return self.exact.len() as i64;
            }
        }
        hll_estimate(self.sketch())
    }
}

fn hll_add(registers: &mut [u8], hash: u64) {
    let index = (hash >> (64 - HLL_BITS)) as usize;
    let rest = hash << HLL_BITS;
    let rank = (rest.leading_zeros().min(64 - HLL_BITS) + 1) as u8;
    if let Some(register) = registers.get_mut(index) {
        *register = (*register).max(rank);
    }
}

/// The HyperLogLog estimate, with linear counting for small cardinalities.
fn hll_estimate(registers: &[u8]) -> i64 {
    let m = registers.len() as f64;
    let alpha = 0.7213 / (1.0 + 1.079 / m);
    let sum: f64 = registers.iter().map(|r| 2f64.powi(-i32::from(*r))).sum();
    let zeros = registers.iter().filter(|r| **r == 0).count();
    let raw = alpha * m * m / sum;
    let estimate = if raw <= 2.5 * m && zeros > 0 {
        m * (m / zeros as f64).ln()
    } else {
        raw
    };
    estimate.round() as i64
}

/// State kept in a map in memory: the test runner's store, and the model
/// every other store is tested against.
#[derive(Debug, Default, Clone)]
pub struct StateMap {
    cells: HashMap<StateKey, Option<Cell>>,
}

impl StateMap {
    /// An empty map.
    pub fn new() -> StateMap {
        StateMap::default()
    }

    /// The values a record reads.
    pub fn read(&self, program: &Program, prepared: &Prepared) -> StateValues {
        read(program, prepared, |key| self.cells.get(key).and_then(Option::as_ref))
    }

    /// Applies a record's writes after its outcome is known.
    pub fn write(&mut self, program: &Program, prepared: &Prepared, outcome: &Outcome) {
        write(program, prepared, &mut self.cells);
        write_tags(program, prepared, outcome, &mut self.cells);
    }

    /// The stored cell of a key.
    pub fn cell(&self, key: &StateKey) -> Option<&Cell> {
        self.cells.get(key).and_then(Option::as_ref)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_keep_only_a_window_behind_the_newest_bucket() {
        let mut w: Window<u64> = Window::default();
        *w.slot(10, 3).unwrap() += 1;
        *w.slot(12, 3).unwrap() += 1;
        assert_eq!(w.sum_in(12, 3), 2);
        // Bucket 13 moves the window to 11..=13: bucket 10 is dropped.
        *w.slot(13, 3).unwrap() += 1;
        assert_eq!(w.sum_in(13, 3), 2);
        assert_eq!(w.buckets.len(), 2);
        // A write a window behind the newest is dropped; one inside is kept.
        assert!(w.slot(10, 3).is_none());
        *w.slot(11, 3).unwrap() += 1;
        assert_eq!(w.sum_in(13, 3), 3);
        assert_eq!(w.sum_in(11, 3), 1);
    }

    #[test]
    fn distinct_counts_are_exact_up_to_the_bound_then_close() {
        let mut union = Union::default();
        for i in 0..DISTINCT_EXACT as u64 {
            union.add(stable_hash(&i.to_le_bytes()));
            union.add(stable_hash(&i.to_le_bytes()));
        }
        assert_eq!(union.count(), DISTINCT_EXACT as i64);
        for n in [2_000u64, 10_000, 100_000] {
            let mut set = DistinctSet::default();
            for i in 0..n {
                set.insert(stable_hash(&i.to_le_bytes()));
            }
            let mut union = Union::default();
            union.add_set(&set);
            let estimate = union.count() as f64;
            let error = (estimate - n as f64).abs() / n as f64;
            assert!(error < 0.05, "{n}: estimated {estimate}");
        }
    }
}
