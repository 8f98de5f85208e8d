//! State in Redis, shared by many machines: one round trip loads a batch's
//! cells (`MGET`), one `MULTI`/`EXEC` pipeline stores its changes. Cells
//! are the same bytes the embedded store keeps, so every store gives the
//! same values; keys expire (`PX`) once no read can see them, measured in
//! the wall clock with a day's margin (see docs/state.md).

use std::sync::{Mutex, PoisonError};

use qlp_compiler::program::{Program, StateKind};
use qlp_compiler::state::{namespace, Cell, StateKey, Watermarks};

use super::{store_key, Changes, StateStore, StoreError};

/// Prefix of cell keys.
const CELL_PREFIX: &[u8] = b"qlp:c:";
/// The hash of watermarks, by declaration namespace.
const MARKS_KEY: &str = "qlp:watermarks";
/// Input records consumed.
const CURSOR_KEY: &str = "qlp:cursor";
/// Margin added to a key's time to live, in milliseconds.
const MARGIN_MS: i64 = 24 * 3600 * 1000;

/// A state store on a Redis server.
pub struct RedisStore {
    connection: Mutex<redis::Connection>,
}

fn error(e: impl std::fmt::Display) -> StoreError {
    StoreError(e.to_string())
}

impl RedisStore {
    /// Connects to `url` (`redis://host:port/db`).
    pub fn open(url: &str) -> Result<RedisStore, StoreError> {
        let client = redis::Client::open(url).map_err(|e| StoreError(format!("bad Redis address `{url}`: {e}")))?;
        let connection = client
            .get_connection()
            .map_err(|e| StoreError(format!("cannot connect to `{url}`: {e}")))?;
        Ok(RedisStore {
            connection: Mutex::new(connection),
        })
    }

    fn key(program: &Program, key: &StateKey) -> Option<Vec<u8>> {
        let mut bytes = CELL_PREFIX.to_vec();
        bytes.extend(store_key(program, key)?);
        Some(bytes)
    }
}

impl StateStore for RedisStore {
    fn load(&self, program: &Program, keys: &[StateKey]) -> Result<Vec<Option<Cell>>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let names: Vec<Vec<u8>> = keys
            .iter()
            .map(|k| RedisStore::key(program, k).unwrap_or_default())
            .collect();
        let mut connection = self.connection.lock().unwrap_or_else(PoisonError::into_inner);
        let values: Vec<Option<Vec<u8>>> = redis::cmd("MGET").arg(&names).query(&mut *connection).map_err(error)?;
        values
            .into_iter()
            .zip(keys)
            .map(|(value, key)| match value {
                Some(bytes) => Cell::decode(&bytes)
                    .map(Some)
                    .ok_or_else(|| StoreError(format!("a damaged cell for key `{}`", key.key))),
                None => Ok(None),
            })
            .collect()
    }

    fn watermarks(&self, program: &Program) -> Result<Watermarks, StoreError> {
        if program.states.is_empty() {
            return Ok(Watermarks::default());
        }
        let fields: Vec<String> = program.states.iter().map(namespace).collect();
        let mut connection = self.connection.lock().unwrap_or_else(PoisonError::into_inner);
        let marks: Vec<Option<i64>> = redis::cmd("HMGET")
            .arg(MARKS_KEY)
            .arg(&fields)
            .query(&mut *connection)
            .map_err(error)?;
        Ok(Watermarks::new(program, marks))
    }

    fn commit(&self, program: &Program, changes: Changes) -> Result<(), StoreError> {
        let mut pipe = redis::pipe();
        pipe.atomic();
        for (key, cell) in &changes.cells {
            let (Some(name), Some(def)) = (RedisStore::key(program, key), program.states.get(key.state.index())) else {
                continue;
            };
            match cell {
                Some(cell) => {
                    let set = pipe.cmd("SET").arg(&name).arg(cell.encode());
                    // First-seen records never expire; the rest once a
                    // window (a ttl) has passed, with a margin.
                    let live_us = match def.kind {
                        StateKind::Counter | StateKind::Distinct => Some(def.window.saturating_mul(2)),
                        StateKind::Tag => Some(def.ttl.saturating_mul(2)),
                        StateKind::FirstSeen => None,
                    };
                    if let Some(live_us) = live_us {
                        set.arg("PX").arg((live_us / 1000).saturating_add(MARGIN_MS).max(1));
                    }
                    set.ignore();
                }
                None => {
                    pipe.cmd("DEL").arg(&name).ignore();
                }
            }
        }
        for (def, mark) in program.states.iter().zip(changes.marks.times()) {
            if let Some(mark) = mark {
                pipe.cmd("HSET").arg(MARKS_KEY).arg(namespace(def)).arg(mark).ignore();
            }
        }
        if let Some(cursor) = changes.cursor {
            pipe.cmd("SET").arg(CURSOR_KEY).arg(cursor).ignore();
        }
        let mut connection = self.connection.lock().unwrap_or_else(PoisonError::into_inner);
        pipe.query::<()>(&mut *connection).map_err(error)
    }

    fn cursor(&self) -> Result<Option<u64>, StoreError> {
        let mut connection = self.connection.lock().unwrap_or_else(PoisonError::into_inner);
        redis::cmd("GET").arg(CURSOR_KEY).query(&mut *connection).map_err(error)
    }

    fn size(&self) -> Option<(usize, usize)> {
        None
    }
}
