//! State in Redis, shared by many machines: one pipelined round trip loads
//! a batch's cells, one `MULTI`/`EXEC` pipeline stores its changes.
//!
//! Counters use Redis's own structures: a hash per key, a field per bucket,
//! and a batch adds what it counted with `HINCRBY`, so processes that share
//! a counter key never lose each other's increments. Tags are `SET` with
//! their end time (event time) as the value and a `PX` time to live;
//! first-seen records and distinct counts are the cells the embedded store
//! keeps (a distinct count's exact set and sketch must be qlp's own for
//! every store to give the same estimate). Keys expire once no read can see
//! them, measured in the wall clock with a day's margin (see docs/state.md).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use qlp_compiler::program::{Program, StateDef, StateKind};
use qlp_compiler::state::{namespace, Cell, StateKey, Watermarks, Window};

use super::{store_key, Changes, StateStore, StoreError};

/// Prefixes of keys: cells, counter hashes, tags.
const CELL_PREFIX: &[u8] = b"qlp:c:";
const COUNTER_PREFIX: &[u8] = b"qlp:n:";
const TAG_PREFIX: &[u8] = b"qlp:t:";
/// The hash of watermarks, by declaration namespace.
const MARKS_KEY: &str = "qlp:watermarks";
/// Input records consumed.
const CURSOR_KEY: &str = "qlp:cursor";
/// Margin added to a key's time to live, in milliseconds.
const MARGIN_MS: i64 = 24 * 3600 * 1000;

/// A state store on a Redis server.
pub struct RedisStore {
    connection: Mutex<redis::Connection>,
    /// The counter buckets the batch in progress loaded, by key: a commit
    /// adds the difference (batches run one at a time, see `State`).
    loaded: Mutex<HashMap<StateKey, Window<u64>>>,
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
            loaded: Mutex::new(HashMap::new()),
        })
    }

    fn key(program: &Program, key: &StateKey) -> Option<Vec<u8>> {
        let mut bytes = match program.states.get(key.state.index())?.kind {
            StateKind::Counter => COUNTER_PREFIX,
            StateKind::Tag => TAG_PREFIX,
            StateKind::Distinct | StateKind::FirstSeen => CELL_PREFIX,
        }
        .to_vec();
        bytes.extend(store_key(program, key)?);
        Some(bytes)
    }
}

/// How long a key lives once written, in milliseconds of the wall clock:
/// twice its window (or ttl), and a day's margin.
fn live_ms(def: &StateDef) -> i64 {
    let live_us = match def.kind {
        StateKind::Tag => def.ttl,
        _ => def.window,
    };
    (live_us.saturating_mul(2) / 1000).saturating_add(MARGIN_MS).max(1)
}

/// Adds what a batch changed in a counter's buckets (`before` as loaded,
/// `after` as the batch left them): `HINCRBY` of each bucket's increase, so
/// that increments by other processes since the load are kept, and `HDEL`
/// of the buckets the batch dropped as out of every window.
fn counter_changes(pipe: &mut redis::Pipeline, name: &[u8], def: &StateDef, before: &Window<u64>, after: &Window<u64>) {
    let count_before = |bucket: i64| {
        before
            .buckets
            .binary_search_by_key(&bucket, |(b, _)| *b)
            .ok()
            .and_then(|at| before.buckets.get(at))
            .map_or(0, |(_, n)| *n)
    };
    let mut changed = false;
    for (bucket, count) in &after.buckets {
        let increase = count.saturating_sub(count_before(*bucket));
        if increase > 0 {
            pipe.cmd("HINCRBY").arg(name).arg(*bucket).arg(increase).ignore();
            changed = true;
        }
    }
    let kept = |bucket: i64| after.buckets.binary_search_by_key(&bucket, |(b, _)| *b).is_ok();
    let dropped: Vec<i64> = before.buckets.iter().map(|(b, _)| *b).filter(|b| !kept(*b)).collect();
    if !dropped.is_empty() {
        pipe.cmd("HDEL").arg(name).arg(dropped).ignore();
    }
    if changed {
        pipe.cmd("PEXPIRE").arg(name).arg(live_ms(def)).ignore();
    }
}

impl StateStore for RedisStore {
    fn load(&self, program: &Program, keys: &[StateKey]) -> Result<Vec<Option<Cell>>, StoreError> {
        let mut loaded = self.loaded.lock().unwrap_or_else(PoisonError::into_inner);
        loaded.clear();
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let kind = |key: &StateKey| program.states.get(key.state.index()).map(|d| d.kind);
        let mut pipe = redis::pipe();
        for key in keys {
            let name = RedisStore::key(program, key).unwrap_or_default();
            match kind(key) {
                Some(StateKind::Counter) => pipe.cmd("HGETALL").arg(name),
                _ => pipe.cmd("GET").arg(name),
            };
        }
        let mut connection = self.connection.lock().unwrap_or_else(PoisonError::into_inner);
        let replies: Vec<redis::Value> = pipe.query(&mut *connection).map_err(error)?;
        let damaged = |key: &StateKey| StoreError(format!("a damaged cell for key `{}`", key.key));
        let mut cells = Vec::with_capacity(keys.len());
        for (key, reply) in keys.iter().zip(replies) {
            let cell = match kind(key) {
                Some(StateKind::Counter) => {
                    let fields: Vec<(i64, u64)> = redis::from_redis_value(reply).map_err(|_| damaged(key))?;
                    let mut buckets: Vec<(i64, u64)> = fields.into_iter().filter(|(_, n)| *n > 0).collect();
                    buckets.sort_unstable();
                    let window = Window { buckets };
                    loaded.insert(key.clone(), window.clone());
                    (!window.buckets.is_empty()).then_some(Cell::Counter(window))
                }
                Some(StateKind::Tag) => {
                    let expires: Option<i64> = redis::from_redis_value(reply).map_err(|_| damaged(key))?;
                    expires.map(|expires| Cell::Tag { expires })
                }
                _ => {
                    let bytes: Option<Vec<u8>> = redis::from_redis_value(reply).map_err(|_| damaged(key))?;
                    match bytes {
                        Some(bytes) => Some(Cell::decode(&bytes).ok_or_else(|| damaged(key))?),
                        None => None,
                    }
                }
            };
            cells.push(cell);
        }
        Ok(cells)
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
        let mut loaded = self.loaded.lock().unwrap_or_else(PoisonError::into_inner);
        let mut pipe = redis::pipe();
        pipe.atomic();
        for (key, cell) in &changes.cells {
            let (Some(name), Some(def)) = (RedisStore::key(program, key), program.states.get(key.state.index())) else {
                continue;
            };
            match (def.kind, cell) {
                (StateKind::Counter, cell) => {
                    let before = loaded.remove(key).unwrap_or_default();
                    let after = match cell {
                        Some(Cell::Counter(window)) => window,
                        _ => &Window::default(),
                    };
                    counter_changes(&mut pipe, &name, def, &before, after);
                }
                (StateKind::Tag, Some(Cell::Tag { expires })) => {
                    pipe.cmd("SET")
                        .arg(&name)
                        .arg(*expires)
                        .arg("PX")
                        .arg(live_ms(def))
                        .ignore();
                }
                (_, Some(cell)) => {
                    let set = pipe.cmd("SET").arg(&name).arg(cell.encode());
                    // First-seen records never expire.
                    if def.kind != StateKind::FirstSeen {
                        set.arg("PX").arg(live_ms(def));
                    }
                    set.ignore();
                }
                (_, None) => {
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
