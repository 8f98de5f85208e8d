//! State on one machine's disk, in a redb database: each batch is one
//! transaction, committed durably before its decisions are written, so a
//! process killed at any point restarts from its last committed batch.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::sync::PoisonError;

use qlp_compiler::program::{Program, StateId};
use qlp_compiler::state::{namespace, Cell, StateKey, Watermarks};
use redb::{Database, ReadableDatabase, TableDefinition};

use super::{store_key, Changes, StateStore, StoreError, SWEEP_EVERY};

/// Cells by [`store_key`].
const CELLS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("cells");
/// Watermarks by declaration namespace.
const MARKS: TableDefinition<&str, i64> = TableDefinition::new("watermarks");
/// `cursor`: input records consumed.
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

/// A state store in a redb file.
pub struct EmbeddedStore {
    db: Database,
    commits: Mutex<u64>,
}

fn error(e: impl std::fmt::Display) -> StoreError {
    StoreError(e.to_string())
}

impl EmbeddedStore {
    /// Opens the store at `path`, creating it if missing.
    pub fn open(path: &Path) -> Result<EmbeddedStore, StoreError> {
        let db = Database::create(path).map_err(|e| StoreError(format!("cannot open `{}`: {e}", path.display())))?;
        Ok(EmbeddedStore {
            db,
            commits: Mutex::new(0),
        })
    }
}

impl StateStore for EmbeddedStore {
    fn load(&self, program: &Program, keys: &[StateKey]) -> Result<Vec<Option<Cell>>, StoreError> {
        let txn = self.db.begin_read().map_err(error)?;
        let table = match txn.open_table(CELLS) {
            Ok(table) => table,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(vec![None; keys.len()]),
            Err(e) => return Err(error(e)),
        };
        keys.iter()
            .map(|key| {
                let Some(bytes) = store_key(program, key) else {
                    return Ok(None);
                };
                match table.get(bytes.as_slice()).map_err(error)? {
                    Some(value) => Cell::decode(value.value())
                        .map(Some)
                        .ok_or_else(|| StoreError(format!("a damaged cell for key `{}`", key.key))),
                    None => Ok(None),
                }
            })
            .collect()
    }

    fn watermarks(&self, program: &Program) -> Result<Watermarks, StoreError> {
        let txn = self.db.begin_read().map_err(error)?;
        let table = match txn.open_table(MARKS) {
            Ok(table) => table,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Watermarks::default()),
            Err(e) => return Err(error(e)),
        };
        let marks = program
            .states
            .iter()
            .map(|def| Ok(table.get(namespace(def).as_str()).map_err(error)?.map(|v| v.value())))
            .collect::<Result<Vec<Option<i64>>, StoreError>>()?;
        Ok(Watermarks::new(program, marks))
    }

    fn commit(&self, program: &Program, changes: Changes) -> Result<(), StoreError> {
        let sweep = {
            let mut commits = self.commits.lock().unwrap_or_else(PoisonError::into_inner);
            *commits += 1;
            (*commits).is_multiple_of(SWEEP_EVERY)
        };
        let txn = self.db.begin_write().map_err(error)?;
        {
            let mut cells = txn.open_table(CELLS).map_err(error)?;
            for (key, cell) in &changes.cells {
                let Some(bytes) = store_key(program, key) else { continue };
                match cell {
                    Some(cell) => {
                        cells
                            .insert(bytes.as_slice(), cell.encode().as_slice())
                            .map_err(error)?;
                    }
                    None => {
                        cells.remove(bytes.as_slice()).map_err(error)?;
                    }
                }
            }
            let mut marks = txn.open_table(MARKS).map_err(error)?;
            for (def, mark) in program.states.iter().zip(changes.marks.times()) {
                if let Some(mark) = mark {
                    marks.insert(namespace(def).as_str(), mark).map_err(error)?;
                }
            }
            if let Some(cursor) = changes.cursor {
                txn.open_table(META)
                    .map_err(error)?
                    .insert("cursor", cursor)
                    .map_err(error)?;
            }
            if sweep {
                // Cells no read can see again: a namespace of this program
                // whose cell expired at its watermark.
                let live: HashMap<String, (usize, Option<i64>)> = program
                    .states
                    .iter()
                    .enumerate()
                    .map(|(i, def)| {
                        (
                            namespace(def),
                            (i, changes.marks.get(StateId(i as u32)).map(|m| m.time)),
                        )
                    })
                    .collect();
                cells
                    .retain(|key, value| {
                        let Some(end) = key.iter().position(|b| *b == 0) else {
                            return true;
                        };
                        let Some(space) = key.get(..end).and_then(|n| std::str::from_utf8(n).ok()) else {
                            return true;
                        };
                        let Some((index, Some(mark))) = live.get(space) else {
                            return true;
                        };
                        match (program.states.get(*index), Cell::decode(value)) {
                            (Some(def), Some(cell)) => !cell.expired(def, *mark),
                            _ => true,
                        }
                    })
                    .map_err(error)?;
            }
        }
        txn.commit().map_err(error)
    }

    fn cursor(&self) -> Result<Option<u64>, StoreError> {
        let txn = self.db.begin_read().map_err(error)?;
        match txn.open_table(META) {
            Ok(table) => Ok(table.get("cursor").map_err(error)?.map(|v| v.value())),
            Err(redb::TableError::TableDoesNotExist(_)) => Ok(None),
            Err(e) => Err(error(e)),
        }
    }

    fn size(&self) -> Option<(usize, usize)> {
        // Counting would read the whole file: the summary says where it is.
        None
    }
}
