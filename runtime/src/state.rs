//! Where state lives across records, and how a batch of records reads and
//! writes it. What a read gives and what a record writes is defined once,
//! in `qlp_compiler::state`; a store only keeps [`Cell`]s and watermarks,
//! so every store gives the same values for the same records.
//!
//! A batch runs in three steps: [`Batch::begin`] loads the cells of every
//! key the batch's records touch; each record, in input order, reads
//! ([`Batch::read`]), is evaluated, and writes ([`Batch::write`]) into the
//! batch's own copy, so a record sees every record before it, in the batch
//! or not; [`Batch::commit`] stores what changed. Batches of one store run
//! one at a time (the batch holds the store's lock), so no increment is
//! ever lost or reordered, whatever the number of threads.

use std::collections::HashSet;
use std::fmt;
use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};

use qlp_compiler::outcome::Outcome;
use qlp_compiler::program::Program;
use qlp_compiler::state::{self, namespace, Cell, CellMap, KeyMap, Prepared, StateKey, StateValues, Watermarks};

/// A store that failed (a disk or network error): the batch's records are
/// not decided, and nothing of the batch is committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError(pub String);

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "state store: {}", self.0)
    }
}

impl std::error::Error for StoreError {}

/// What a batch changed, stored at once.
#[derive(Debug, Clone, Default)]
pub struct Changes {
    /// Cells to store (`None`: delete).
    pub cells: Vec<(StateKey, Option<Cell>)>,
    /// Every declaration's watermark after the batch.
    pub marks: Watermarks,
    /// Input records consumed, the batch's included, when the caller counts
    /// them (`qlp eval --resume` starts after them).
    pub cursor: Option<u64>,
}

/// Keeps cells and watermarks. Implementations key cells by [`store_key`]
/// so that cells outlive the policy set that wrote them, and give back
/// what was committed: the semantics are in `qlp_compiler::state`, not in a
/// store (Redis keeps counters as hashes of buckets, the same values).
pub trait StateStore: Send + Sync {
    /// The cells of `keys`, in order (`None`: the key has no state).
    fn load(&self, program: &Program, keys: &[StateKey]) -> Result<Vec<Option<Cell>>, StoreError>;
    /// The declarations' watermarks.
    fn watermarks(&self, program: &Program) -> Result<Watermarks, StoreError>;
    /// Stores a batch's changes at once. `program` also says which cells no
    /// read can see again, so that the store may drop them.
    fn commit(&self, program: &Program, changes: Changes) -> Result<(), StoreError>;
    /// Input records consumed by the last commit that counted them.
    fn cursor(&self) -> Result<Option<u64>, StoreError>;
    /// What the store holds, for reports: (keys, bytes), when it knows.
    fn size(&self) -> Option<(usize, usize)>;
}

/// A cell's key in a store: the declaration's [`namespace`], a NUL, the key.
pub fn store_key(program: &Program, key: &StateKey) -> Option<Vec<u8>> {
    let def = program.states.get(key.state.index())?;
    let mut bytes = namespace(def).into_bytes();
    bytes.push(0);
    key.key.append_to(&mut bytes);
    Some(bytes)
}

/// Where state is kept, and the lock that makes its batches run one at a
/// time. The memory store is changed in place by a batch that holds it;
/// other stores are loaded into the batch and committed from it.
pub struct State {
    kind: Kind,
    lock: Mutex<()>,
}

enum Kind {
    Memory(MemoryStore),
    Store(Box<dyn StateStore>),
}

impl fmt::Debug for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("State")
            .field("size", &self.store().size())
            .finish_non_exhaustive()
    }
}

impl State {
    /// State kept in `store`.
    pub fn new(store: impl StateStore + 'static) -> State {
        State {
            kind: Kind::Store(Box::new(store)),
            lock: Mutex::new(()),
        }
    }

    /// State kept in memory.
    pub fn memory() -> State {
        State {
            kind: Kind::Memory(MemoryStore::default()),
            lock: Mutex::new(()),
        }
    }

    /// Opens the store `spec` names: `memory`, `redis://host:port[/db]`,
    /// or the path of an embedded store file.
    pub fn open(spec: &str) -> Result<State, StoreError> {
        if spec == "memory" {
            Ok(State::memory())
        } else if spec.starts_with("redis://") || spec.starts_with("rediss://") {
            Ok(State::new(RedisStore::open(spec)?))
        } else {
            Ok(State::new(EmbeddedStore::open(Path::new(spec))?))
        }
    }

    /// Whether the state is kept in memory (no commit costs anything).
    pub fn is_memory(&self) -> bool {
        matches!(self.kind, Kind::Memory(_))
    }

    /// The store.
    pub fn store(&self) -> &dyn StateStore {
        match &self.kind {
            Kind::Memory(memory) => memory,
            Kind::Store(store) => &**store,
        }
    }
}

/// One batch's view of the state: see the module documentation.
pub struct Batch<'s> {
    view: View<'s>,
}

enum View<'s> {
    /// The memory store itself, locked for the batch.
    Direct(MutexGuard<'s, MemoryCells>),
    /// Another store's cells for the batch's keys, committed at the end.
    Loaded {
        store: &'s dyn StateStore,
        _guard: MutexGuard<'s, ()>,
        cells: Tracked,
        marks: Watermarks,
    },
}

/// The batch's cells, remembering which changed.
#[derive(Default)]
struct Tracked {
    cells: KeyMap<Option<Cell>>,
    dirty: HashSet<StateKey, std::hash::BuildHasherDefault<state::KeyHasher>>,
}

/// A batch's cells to read and change: the memory store's own map, or
/// another store's cells loaded for the batch.
enum BatchCells<'a> {
    Memory(&'a mut KeyMap<Option<Cell>>),
    Loaded(&'a mut Tracked),
}

impl CellMap for BatchCells<'_> {
    fn cell(&self, key: &StateKey) -> Option<&Cell> {
        match self {
            BatchCells::Memory(cells) => cells.cell(key),
            BatchCells::Loaded(cells) => cells.cell(key),
        }
    }

    fn cell_mut(&mut self, key: &StateKey) -> &mut Option<Cell> {
        match self {
            BatchCells::Memory(cells) => cells.cell_mut(key),
            BatchCells::Loaded(cells) => cells.cell_mut(key),
        }
    }
}

impl CellMap for Tracked {
    fn cell(&self, key: &StateKey) -> Option<&Cell> {
        self.cells.cell(key)
    }

    fn cell_mut(&mut self, key: &StateKey) -> &mut Option<Cell> {
        // A cell written is committed: mark it once, on its first write.
        if !self.dirty.contains(key) {
            self.dirty.insert(key.clone());
        }
        self.cells.cell_mut(key)
    }
}

impl<'s> Batch<'s> {
    /// Locks the store and loads what `records` touch.
    pub fn begin<'p>(
        state: &'s State,
        program: &Program,
        records: impl IntoIterator<Item = &'p Prepared>,
    ) -> Result<Batch<'s>, StoreError> {
        let store = match &state.kind {
            Kind::Memory(memory) => {
                return Ok(Batch {
                    view: View::Direct(memory.inner.lock().unwrap_or_else(PoisonError::into_inner)),
                })
            }
            Kind::Store(store) => &**store,
        };
        let guard = state.lock.lock().unwrap_or_else(PoisonError::into_inner);
        let mut keys: Vec<StateKey> = records
            .into_iter()
            .flat_map(|p| {
                p.touches
                    .iter()
                    .filter_map(|(_, t)| t.as_ref().ok())
                    .map(|t| t.key.clone())
            })
            .collect();
        keys.sort();
        keys.dedup();
        let loaded = store.load(program, &keys)?;
        let marks = store.watermarks(program)?;
        Ok(Batch {
            view: View::Loaded {
                store,
                _guard: guard,
                cells: Tracked {
                    cells: keys.into_iter().zip(loaded).collect(),
                    dirty: HashSet::default(),
                },
                marks,
            },
        })
    }

    /// The values a record reads.
    pub fn read(&self, program: &Program, prepared: &Prepared) -> StateValues {
        let mut values = StateValues::new(program);
        self.read_into(program, prepared, &mut values);
        values
    }

    /// [`Batch::read`] into `values`, reusing its buffers.
    pub fn read_into(&self, program: &Program, prepared: &Prepared, values: &mut StateValues) {
        match &self.view {
            View::Direct(memory) => state::read_into(
                program,
                prepared,
                &memory.marks,
                |key| memory.cells.get(key).and_then(Option::as_ref),
                values,
            ),
            View::Loaded { cells, marks, .. } => state::read_into(
                program,
                prepared,
                marks,
                |key| cells.cells.get(key).and_then(Option::as_ref),
                values,
            ),
        }
    }

    /// [`Batch::read_into`], the record's counts written at once (one
    /// lookup for a key read and written): follow the evaluation with
    /// [`Batch::write_tags`], not [`Batch::write`].
    pub fn read_and_count(&mut self, program: &Program, prepared: &Prepared, values: &mut StateValues) {
        let (mut cells, marks) = self.cells();
        state::read_and_count(program, prepared, marks, &mut cells, values);
    }

    /// The writes that wait for a record's outcome, after
    /// [`Batch::read_and_count`]: the tags of the rules that fired.
    pub fn write_tags(&mut self, program: &Program, prepared: &Prepared, outcome: &Outcome) {
        let (mut cells, marks) = self.cells();
        state::write_tags(program, prepared, outcome, marks, &mut cells);
    }

    /// A record's writes, once its outcome is known.
    pub fn write(&mut self, program: &Program, prepared: &Prepared, outcome: &Outcome) {
        let (mut cells, marks) = self.cells();
        state::write(program, prepared, outcome, marks, &mut cells);
    }

    /// The batch's cells, in whichever view holds them, and its watermarks.
    fn cells(&mut self) -> (BatchCells<'_>, &mut Watermarks) {
        match &mut self.view {
            View::Direct(memory) => {
                let MemoryCells { cells, marks, .. } = &mut **memory;
                (BatchCells::Memory(cells), marks)
            }
            View::Loaded { cells, marks, .. } => (BatchCells::Loaded(cells), marks),
        }
    }

    /// Stores what the batch changed; `cursor` counts the input records
    /// consumed so far, this batch's included.
    pub fn commit(self, program: &Program, cursor: Option<u64>) -> Result<(), StoreError> {
        match self.view {
            View::Direct(mut memory) => {
                memory.finish(program, cursor);
                Ok(())
            }
            View::Loaded {
                store,
                _guard,
                mut cells,
                marks,
            } => {
                let dirty = std::mem::take(&mut cells.dirty);
                let cells = dirty
                    .into_iter()
                    .map(|key| {
                        let cell = cells.cells.remove(&key).flatten();
                        (key, cell)
                    })
                    .collect();
                store.commit(program, Changes { cells, marks, cursor })
            }
        }
    }
}

mod embedded;
mod redis;

pub use embedded::EmbeddedStore;
pub use redis::RedisStore;

/// Commits between sweeps of cells no read can see again.
pub(crate) const SWEEP_EVERY: u64 = 64;

/// State in memory: one map, changed in place by the batch that holds it.
/// Cells that no read can see again (buckets behind every window, expired
/// tags) are dropped every [`SWEEP_EVERY`] batches, so memory follows the
/// live keys. A batch dropped without a commit keeps its writes.
#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<MemoryCells>,
}

#[derive(Default)]
struct MemoryCells {
    cells: KeyMap<Option<Cell>>,
    marks: Watermarks,
    commits: u64,
    cursor: Option<u64>,
}

impl MemoryCells {
    /// Ends a batch: the cursor, and a sweep every [`SWEEP_EVERY`] batches.
    fn finish(&mut self, program: &Program, cursor: Option<u64>) {
        self.commits += 1;
        if cursor.is_some() {
            self.cursor = cursor;
        }
        if self.commits.is_multiple_of(SWEEP_EVERY) {
            let marks = &self.marks;
            self.cells.retain(|key, cell| {
                let Some(cell) = cell else { return false };
                match (program.states.get(key.state.index()), marks.get(key.state)) {
                    (Some(def), Some(mark)) => !cell.expired(def, mark.time),
                    _ => true,
                }
            });
        }
    }
}

impl MemoryStore {
    fn lock(&self) -> MutexGuard<'_, MemoryCells> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl StateStore for MemoryStore {
    fn load(&self, _program: &Program, keys: &[StateKey]) -> Result<Vec<Option<Cell>>, StoreError> {
        let memory = self.lock();
        Ok(keys
            .iter()
            .map(|key| memory.cells.get(key).cloned().flatten())
            .collect())
    }

    fn watermarks(&self, _program: &Program) -> Result<Watermarks, StoreError> {
        Ok(self.lock().marks.clone())
    }

    fn commit(&self, program: &Program, changes: Changes) -> Result<(), StoreError> {
        let mut memory = self.lock();
        for (key, cell) in changes.cells {
            memory.cells.insert(key, cell);
        }
        memory.marks = changes.marks;
        memory.finish(program, changes.cursor);
        Ok(())
    }

    fn cursor(&self) -> Result<Option<u64>, StoreError> {
        Ok(self.lock().cursor)
    }

    fn size(&self) -> Option<(usize, usize)> {
        let memory = self.lock();
        let bytes = memory
            .cells
            .iter()
            .map(|(k, c)| std::mem::size_of::<StateKey>() + k.key.heap_bytes() + c.as_ref().map_or(0, Cell::memory))
            .sum();
        Some((memory.cells.len(), bytes))
    }
}
