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

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};

use qlp_compiler::outcome::Outcome;
use qlp_compiler::program::Program;
use qlp_compiler::state::{self, namespace, Cell, CellMap, Prepared, StateKey, StateValues, Watermarks};

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

/// Keeps cells and watermarks. Implementations are plain key-value storage:
/// they never interpret a cell, and key it by [`store_key`] so that cells
/// outlive the policy set that wrote them.
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
    bytes.extend_from_slice(key.key.as_bytes());
    Some(bytes)
}

/// A store and the lock that makes its batches run one at a time.
pub struct State {
    store: Box<dyn StateStore>,
    lock: Mutex<()>,
}

impl fmt::Debug for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("State")
            .field("size", &self.store.size())
            .finish_non_exhaustive()
    }
}

impl State {
    /// State kept in `store`.
    pub fn new(store: impl StateStore + 'static) -> State {
        State {
            store: Box::new(store),
            lock: Mutex::new(()),
        }
    }

    /// State kept in memory.
    pub fn memory() -> State {
        State::new(MemoryStore::default())
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

    /// The store.
    pub fn store(&self) -> &dyn StateStore {
        &*self.store
    }
}

/// One batch's view of the state: see the module documentation.
pub struct Batch<'s> {
    state: &'s State,
    _guard: MutexGuard<'s, ()>,
    cells: Tracked,
    marks: Watermarks,
}

/// The batch's cells, remembering which changed.
#[derive(Default)]
struct Tracked {
    cells: HashMap<StateKey, Option<Cell>>,
    dirty: HashSet<StateKey>,
}

impl CellMap for Tracked {
    fn cell_mut(&mut self, key: &StateKey) -> &mut Option<Cell> {
        // A cell written is committed: mark it once, on its first write.
        if !self.dirty.contains(key) {
            self.dirty.insert(key.clone());
        }
        // Keys of the batch's records were loaded by `begin`: no clone then.
        if !self.cells.contains_key(key) {
            self.cells.insert(key.clone(), None);
        }
        // INVARIANT: the key was just found or inserted.
        #[expect(clippy::expect_used, reason = "the key is in the map")]
        self.cells.get_mut(key).expect("the cell was just inserted")
    }
}

impl<'s> Batch<'s> {
    /// Locks the store and loads what `records` touch.
    pub fn begin<'p>(
        state: &'s State,
        program: &Program,
        records: impl IntoIterator<Item = &'p Prepared>,
    ) -> Result<Batch<'s>, StoreError> {
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
        let loaded = state.store.load(program, &keys)?;
        let marks = state.store.watermarks(program)?;
        Ok(Batch {
            state,
            _guard: guard,
            cells: Tracked {
                cells: keys.into_iter().zip(loaded).collect(),
                dirty: HashSet::new(),
            },
            marks,
        })
    }

    /// The values a record reads.
    pub fn read(&self, program: &Program, prepared: &Prepared) -> StateValues {
        state::read(program, prepared, &self.marks, |key| {
            self.cells.cells.get(key).and_then(Option::as_ref)
        })
    }

    /// A record's writes, once its outcome is known.
    pub fn write(&mut self, program: &Program, prepared: &Prepared, outcome: &Outcome) {
        state::write(program, prepared, outcome, &mut self.marks, &mut self.cells);
    }

    /// Stores what the batch changed; `cursor` counts the input records
    /// consumed so far, this batch's included.
    pub fn commit(mut self, program: &Program, cursor: Option<u64>) -> Result<(), StoreError> {
        let dirty = std::mem::take(&mut self.cells.dirty);
        let cells = dirty
            .into_iter()
            .map(|key| {
                let cell = self.cells.cells.remove(&key).flatten();
                (key, cell)
            })
            .collect();
        let changes = Changes {
            cells,
            marks: std::mem::take(&mut self.marks),
            cursor,
        };
        self.state.store.commit(program, changes)
    }
}

mod embedded;
mod redis;

pub use embedded::EmbeddedStore;
pub use redis::RedisStore;

/// Shards of the memory store: keys spread by hash, each shard locked on
/// its own.
const SHARDS: usize = 16;
/// Commits between sweeps of cells no read can see again.
pub(crate) const SWEEP_EVERY: u64 = 64;

/// State in memory, sharded by key. Cells that no read can see again
/// (buckets behind every window, expired tags) are dropped every
/// [`SWEEP_EVERY`] commits, so memory follows the live keys.
pub struct MemoryStore {
    shards: Vec<Mutex<HashMap<StateKey, Cell>>>,
    marks: Mutex<Watermarks>,
    commits: Mutex<u64>,
    cursor: Mutex<Option<u64>>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            marks: Mutex::new(Watermarks::default()),
            commits: Mutex::new(0),
            cursor: Mutex::new(None),
        }
    }
}

impl MemoryStore {
    fn shard(&self, key: &StateKey) -> MutexGuard<'_, HashMap<StateKey, Cell>> {
        let hash = qlp_compiler::text::stable_hash(key.key.as_bytes()) ^ u64::from(key.state.0);
        let shard = self.shards.get(hash as usize % SHARDS).or(self.shards.first());
        // INVARIANT: there are `SHARDS` > 0 shards.
        #[expect(clippy::expect_used, reason = "the store always has shards")]
        shard.expect("shards").lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Drops every cell no read can see again.
    fn sweep(&self, program: &Program, marks: &Watermarks) {
        for shard in &self.shards {
            let mut shard = shard.lock().unwrap_or_else(PoisonError::into_inner);
            shard.retain(|key, cell| {
                let def = program.states.get(key.state.index());
                match (def, marks.get(key.state)) {
                    (Some(def), Some(mark)) => !cell.expired(def, mark),
                    _ => true,
                }
            });
        }
    }
}

impl StateStore for MemoryStore {
    fn load(&self, _program: &Program, keys: &[StateKey]) -> Result<Vec<Option<Cell>>, StoreError> {
        Ok(keys.iter().map(|key| self.shard(key).get(key).cloned()).collect())
    }

    fn watermarks(&self, _program: &Program) -> Result<Watermarks, StoreError> {
        Ok(self.marks.lock().unwrap_or_else(PoisonError::into_inner).clone())
    }

    fn commit(&self, program: &Program, changes: Changes) -> Result<(), StoreError> {
        for (key, cell) in changes.cells {
            let mut shard = self.shard(&key);
            match cell {
                Some(cell) => shard.insert(key, cell),
                None => shard.remove(&key),
            };
        }
        *self.marks.lock().unwrap_or_else(PoisonError::into_inner) = changes.marks.clone();
        let sweep = {
            let mut commits = self.commits.lock().unwrap_or_else(PoisonError::into_inner);
            *commits += 1;
            if let Some(cursor) = changes.cursor {
                *self.cursor.lock().unwrap_or_else(PoisonError::into_inner) = Some(cursor);
            }
            (*commits).is_multiple_of(SWEEP_EVERY)
        };
        if sweep {
            self.sweep(program, &changes.marks);
        }
        Ok(())
    }

    fn cursor(&self) -> Result<Option<u64>, StoreError> {
        Ok(*self.cursor.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn size(&self) -> Option<(usize, usize)> {
        let mut keys = 0;
        let mut bytes = 0;
        for shard in &self.shards {
            let shard = shard.lock().unwrap_or_else(PoisonError::into_inner);
            keys += shard.len();
            bytes += shard
                .iter()
                .map(|(k, c)| std::mem::size_of::<StateKey>() + k.key.capacity() + c.memory())
                .sum::<usize>();
        }
        Some((keys, bytes))
    }
}
