//! Reading and writing state: what a record reads of each declaration,
//! and what it writes once its outcome is known. Every store goes through
//! these functions, so every store gives the same values.

use super::cell::Union;
use super::{bucket_of, buckets, Cell, KeyMap, Mark, Prepared, StateKey, StateValues, Touch, Watermarks, Window};
use crate::interp::EvalError;
use crate::outcome::Outcome;
use crate::program::{Program, StateDef, StateId, StateKind};

/// Every state declaration's value for one record, the record itself
/// included: `cell` gives the stored state of a key.
pub fn read<'c>(
    program: &Program,
    prepared: &Prepared,
    marks: &Watermarks,
    cell: impl FnMut(&StateKey) -> Option<&'c Cell>,
) -> StateValues {
    let mut values = StateValues::new(program);
    read_into(program, prepared, marks, cell, &mut values);
    values
}

/// [`read`] into `values`, reusing its buffers (for callers that read
/// record after record).
pub fn read_into<'c>(
    program: &Program,
    prepared: &Prepared,
    marks: &Watermarks,
    mut cell: impl FnMut(&StateKey) -> Option<&'c Cell>,
    values: &mut StateValues,
) {
    reset(program, values);
    for (id, touch) in &prepared.touches {
        let Some(def) = program.states.get(id.index()) else {
            continue;
        };
        match touch {
            Ok(touch) => read_touch(values, *id, def, cell(&touch.key), touch, marks.get(*id)),
            Err(e) => set_error(values, *id, *e),
        }
    }
}

/// [`read_into`], then the writes of [`write`] that do not wait for the
/// record's outcome (counts, distinct values, first-seen records), with
/// one lookup for a key read and written: the same values and cells as
/// `read_into` then `write`, once [`write_tags`] follows the evaluation.
/// A record touches each declaration once, under its own key, so that
/// writing one declaration's cell before reading the next changes nothing.
pub fn read_and_count(
    program: &Program,
    prepared: &Prepared,
    marks: &Watermarks,
    cells: &mut impl CellMap,
    values: &mut StateValues,
) {
    reset(program, values);
    for (id, touch) in &prepared.touches {
        let Some(def) = program.states.get(id.index()) else {
            continue;
        };
        let touch = match touch {
            Ok(touch) => touch,
            Err(e) => {
                set_error(values, *id, *e);
                continue;
            }
        };
        let mark = marks.get(*id);
        if counts_now(def, touch, mark) {
            let cell = cells.cell_mut(&touch.key);
            read_touch(values, *id, def, cell.as_ref(), touch, mark);
            write_cell(def, cell, touch, mark);
        } else {
            read_touch(values, *id, def, cells.cell(&touch.key), touch, mark);
        }
    }
}

/// `values` for a record not read yet: zeros, no errors, no ids.
fn reset(program: &Program, values: &mut StateValues) {
    let n = program.states.len();
    values.values.clear();
    values.values.resize(n, 0);
    values.errors.clear();
    values.errors.resize(n, None);
    values.first_ids.iter_mut().for_each(|id| *id = None);
    if values.first_ids.len() != n && program.states.iter().any(|s| s.kind == StateKind::FirstSeen) {
        values.first_ids.resize(n, None);
    }
}

fn set_error(values: &mut StateValues, id: StateId, error: EvalError) {
    if let Some(slot) = values.errors.get_mut(id.index()) {
        *slot = Some(error);
    }
}

/// Declaration `id`'s value for `touch`, `stored` being its key's cell.
fn read_touch(
    values: &mut StateValues,
    id: StateId,
    def: &StateDef,
    stored: Option<&Cell>,
    touch: &Touch,
    mark: Option<Mark>,
) {
    if let Some(value) = values.values.get_mut(id.index()) {
        *value = read_cell(def, stored, touch, mark);
    }
    if def.kind == StateKind::FirstSeen {
        let first = match stored {
            Some(Cell::FirstSeen { time, id }) if *time <= touch.time => id.clone(),
            _ => touch.id.clone(),
        };
        if let Some(slot) = values.first_ids.get_mut(id.index()) {
            *slot = Some(first);
        }
    }
}

/// Whether `touch` writes its cell whatever the record's outcome: a count
/// or distinct value when `when:` held, a first-seen record; never a late
/// touch or a tag (written by the rules that fire).
fn counts_now(def: &StateDef, touch: &Touch, mark: Option<Mark>) -> bool {
    let written = match def.kind {
        StateKind::Counter | StateKind::Distinct => touch.counts,
        StateKind::FirstSeen => true,
        StateKind::Tag => false,
    };
    written && !is_late(def, touch, mark)
}

/// Whether a touch is late for `def` with watermark `mark`.
pub fn is_late(def: &StateDef, touch: &Touch, mark: Option<Mark>) -> bool {
    let Some(mark) = mark else { return false };
    match def.kind {
        StateKind::Counter | StateKind::Distinct => touch.bucket <= mark.floor,
        StateKind::Tag => touch.time <= mark.time.saturating_sub(def.ttl),
        StateKind::FirstSeen => false,
    }
}

/// The newest bucket no read can see once the watermark is at `time`.
pub(super) fn floor(def: &StateDef, time: i64) -> i64 {
    bucket_of(def, time).saturating_sub(buckets(def))
}

/// What a read of `def` gives for `touch`, with `cell` stored and the
/// declaration's watermark at `mark`.
pub fn read_cell(def: &StateDef, cell: Option<&Cell>, touch: &Touch, mark: Option<Mark>) -> i64 {
    let own = i64::from(touch.counts);
    let late = is_late(def, touch, mark);
    let b = touch.bucket;
    // Buckets after `low` and up to `b`: in the record's window and in the watermark's.
    let low = mark.map_or(i64::MIN, |m| m.floor).max(b.saturating_sub(buckets(def)));
    match (def.kind, cell) {
        (StateKind::Counter | StateKind::Distinct, _) if late => own,
        (StateKind::Counter, Some(Cell::Counter(window))) => window.sum_in(low, b).saturating_add(own),
        (StateKind::Counter, _) => own,
        (StateKind::Distinct, cell) => {
            let mut union = Union::default();
            if let Some(Cell::Distinct(window)) = cell {
                for set in window.in_range(low, b) {
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
        (StateKind::Tag, _) if late => 0,
        (StateKind::Tag, Some(Cell::Tag { expires })) => i64::from(*expires > touch.time),
        (StateKind::Tag, _) => 0,
    }
}

/// Applies a record's writes once its outcome is known: counters,
/// distinct counts and first-seen records, the tags of the rules that
/// fired, then the watermarks. Late records write nothing.
pub fn write(
    program: &Program,
    prepared: &Prepared,
    outcome: &Outcome,
    marks: &mut Watermarks,
    cells: &mut impl CellMap,
) {
    for (id, touch) in &prepared.touches {
        let (Some(def), Ok(touch)) = (program.states.get(id.index()), touch) else {
            continue;
        };
        let mark = marks.get(*id);
        if counts_now(def, touch, mark) {
            write_cell(def, cells.cell_mut(&touch.key), touch, mark);
        }
    }
    write_tags(program, prepared, outcome, marks, cells);
}

/// The writes of [`write`] that wait for the outcome: the tags of the
/// rules that fired, then the watermarks (after [`read_and_count`]).
pub fn write_tags(
    program: &Program,
    prepared: &Prepared,
    outcome: &Outcome,
    marks: &mut Watermarks,
    cells: &mut impl CellMap,
) {
    for rule in outcome.fired.iter().filter_map(|id| program.rule(*id)) {
        for action in &rule.actions {
            let Some(tag) = action.tag else { continue };
            let (Some(def), Some(touch)) = (program.states.get(tag.index()), prepared.touch(tag)) else {
                continue;
            };
            if is_late(def, touch, marks.get(tag)) {
                continue;
            }
            let until = touch.time.saturating_add(action.duration.unwrap_or(def.ttl));
            let cell = cells.cell_mut(&touch.key);
            let expires = match cell {
                Some(Cell::Tag { expires }) => (*expires).max(until),
                _ => until,
            };
            *cell = Some(Cell::Tag { expires });
        }
    }
    for (id, touch) in &prepared.touches {
        if let (Ok(touch), Some(def)) = (touch, program.states.get(id.index())) {
            marks.advance(*id, def, touch);
        }
    }
}

/// Cells a store reads and changes in place.
pub trait CellMap {
    /// The cell of `key`, if it has one.
    fn cell(&self, key: &StateKey) -> Option<&Cell>;
    /// The cell of `key`, created empty when the key has none.
    fn cell_mut(&mut self, key: &StateKey) -> &mut Option<Cell>;
}

impl CellMap for KeyMap<Option<Cell>> {
    fn cell(&self, key: &StateKey) -> Option<&Cell> {
        self.get(key).and_then(Option::as_ref)
    }

    fn cell_mut(&mut self, key: &StateKey) -> &mut Option<Cell> {
        // An int key or a text held inline (up to 24 bytes): most keys,
        // which cost nothing to clone: one lookup, by entry.
        if key.key.heap_bytes() == 0 {
            return self.entry(key.clone()).or_insert(None);
        }
        // Look up before inserting, so that a key already kept is not cloned.
        if !self.contains_key(key) {
            self.insert(key.clone(), None);
        }
        // INVARIANT: the key was just found or inserted.
        #[expect(clippy::expect_used, reason = "the key is in the map")]
        self.get_mut(key).expect("the cell was just inserted")
    }
}

/// Applies one (not late) touch to one cell.
fn write_cell(def: &StateDef, cell: &mut Option<Cell>, touch: &Touch, mark: Option<Mark>) {
    let b = touch.bucket;
    // Buckets at or before `low` are behind the window of the new watermark.
    let own_floor = b.saturating_sub(buckets(def));
    let low = mark.map_or(own_floor, |m| m.floor.max(own_floor));
    match def.kind {
        StateKind::Counter if touch.counts => {
            if !matches!(cell, Some(Cell::Counter(_))) {
                *cell = Some(Cell::Counter(Window::default()));
            }
            if let Some(Cell::Counter(window)) = cell {
                let count = window.slot(b, low);
                *count = count.saturating_add(1);
            }
        }
        StateKind::Distinct if touch.counts => {
            if !matches!(cell, Some(Cell::Distinct(_))) {
                *cell = Some(Cell::Distinct(Window::default()));
            }
            if let Some(Cell::Distinct(window)) = cell {
                window.slot(b, low).insert(touch.value);
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
