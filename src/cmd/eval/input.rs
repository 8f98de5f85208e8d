//! The input of `qlp eval`: lines read on a thread of their own, handed
//! over in chunks, and gathered into batches.

use std::io::{BufRead, BufReader, Read};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Records per batch when state is kept in a store that commits each batch
/// (an embedded file, Redis): a commit costs a write to disk or a round
/// trip, paid once per batch. Bounds memory whatever the input size.
pub(crate) const BATCH: usize = 2048;
/// Records per batch otherwise (state in memory, or none): nothing is paid
/// per batch, and a batch's rows are still in the cache when they are
/// evaluated (measured: ~10% less CPU per record than 2,048 on one core).
pub(crate) const CACHED_BATCH: usize = 256;
/// Bytes of records per batch, whatever their number.
const BATCH_BYTES: usize = 64 << 20;
/// Lines the reader thread may read ahead of evaluation.
const READ_AHEAD: usize = 4096;
/// Lines the reader thread hands over at once (fewer when no more input is
/// ready): one channel message per line would cost a thread wake-up each.
const CHUNK: usize = 256;
/// The longest a record waits for others to fill its batch: a live feed
/// gets each decision within this (plus evaluation) of the record arriving.
pub const LATENCY: Duration = Duration::from_millis(50);
/// How often a wait for input looks at the stop flag.
const TICK: Duration = Duration::from_millis(100);

/// One input line, as the reader thread hands it over.
pub(crate) struct InputLine {
    pub(crate) number: usize,
    /// The line's length in bytes, newline included.
    pub(crate) bytes: usize,
    /// The line, or the record limit it exceeded (it was read and dropped).
    pub(crate) text: Result<Vec<u8>, u64>,
}

/// What the reader thread sends: lines, or why it stopped.
enum Incoming {
    Lines(Vec<InputLine>),
    Failed(std::io::Error),
}

/// The lines the reader thread sent, and those received but not yet in a batch.
pub(crate) struct Lines {
    /// Records per batch: [`BATCH`] or [`CACHED_BATCH`].
    pub(crate) batch: usize,
    receiver: Receiver<Incoming>,
    pending: std::collections::VecDeque<InputLine>,
    /// Where the buffers of decided lines go back to the reader.
    pool: Pool,
}

impl Lines {
    /// Hands the buffers of a batch's lines, decided, back to the reader,
    /// which reads the next lines into them.
    pub(crate) fn recycle(&self, batch: Vec<InputLine>) {
        self.pool.give(batch.into_iter().filter_map(|line| line.text.ok()));
    }
}

/// Line buffers handed back after their batch, for the reader to fill
/// again: a line then costs no allocation, and no buffer is freed on a
/// thread other than the one that allocated it (mimalloc's slow path: the
/// reader would otherwise take fresh pages, faulted in, as fast as it reads).
#[derive(Clone, Default)]
struct Pool(Arc<Mutex<Vec<Vec<u8>>>>);

/// Buffers the pool keeps: enough for the lines read ahead and two batches.
const POOL_BUFFERS: usize = READ_AHEAD + 2 * BATCH;
/// The largest buffer the pool keeps, in bytes (a huge line's is freed).
const POOL_BUFFER_BYTES: usize = 64 << 10;

impl Pool {
    /// Moves up to `n` buffers into `into`.
    fn take(&self, n: usize, into: &mut Vec<Vec<u8>>) {
        let mut pool = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let from = pool.len().saturating_sub(n);
        into.extend(pool.drain(from..));
    }

    fn give(&self, buffers: impl Iterator<Item = Vec<u8>>) {
        let mut pool = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        for buffer in buffers.filter(|b| b.capacity() <= POOL_BUFFER_BYTES) {
            if pool.len() >= POOL_BUFFERS {
                break;
            }
            pool.push(buffer);
        }
    }
}

/// Reads lines on a thread of their own, so that the evaluator can tell
/// "no record yet" from "the input is slow" and never blocks on a read.
pub(crate) fn spawn_reader(reader: Box<dyn Read + Send>, max_record_bytes: u64) -> Lines {
    let (sender, receiver) = sync_channel(READ_AHEAD / CHUNK);
    let pool = Pool::default();
    let buffers = pool.clone();
    std::thread::spawn(move || {
        let mut reader = BufReader::with_capacity(1 << 20, reader);
        let mut number = 0usize;
        let mut chunk = Vec::with_capacity(CHUNK);
        let mut free = Vec::with_capacity(CHUNK);
        loop {
            if free.is_empty() {
                buffers.take(CHUNK, &mut free);
            }
            let mut line = free.pop().unwrap_or_default();
            line.clear();
            match read_bounded_line(&mut reader, &mut line, max_record_bytes) {
                Ok(0) => break,
                Ok(bytes) => {
                    number += 1;
                    let too_long = bytes as u64 > max_record_bytes.saturating_add(1);
                    chunk.push(InputLine {
                        number,
                        bytes,
                        text: if too_long { Err(max_record_bytes) } else { Ok(line) },
                    });
                }
                Err(error) => {
                    let _ = sender.send(Incoming::Lines(std::mem::take(&mut chunk)));
                    let _ = sender.send(Incoming::Failed(error));
                    return;
                }
            }
            // INVARIANT: lines are handed over before a read that may wait
            // for input, so a live feed's records are never held back here.
            if chunk.len() >= CHUNK || reader.buffer().is_empty() {
                let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK));
                if sender.send(Incoming::Lines(full)).is_err() {
                    return;
                }
            }
        }
        if !chunk.is_empty() {
            let _ = sender.send(Incoming::Lines(chunk));
        }
    });
    Lines {
        batch: BATCH,
        receiver,
        pending: std::collections::VecDeque::new(),
        pool,
    }
}

/// Reads one line into `line`, keeping at most `limit + 1` bytes of it (the
/// rest is read and dropped), and returns its whole length, newline
/// included; 0 at the end of the input.
fn read_bounded_line(reader: &mut impl BufRead, line: &mut Vec<u8>, limit: u64) -> std::io::Result<usize> {
    let keep = usize::try_from(limit.saturating_add(1)).unwrap_or(usize::MAX);
    let mut total = 0usize;
    loop {
        let available = match reader.fill_buf() {
            Ok(available) => available,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        if available.is_empty() {
            return Ok(total);
        }
        let (chunk, done) = match memchr::memchr(b'\n', available) {
            Some(at) => (available.get(..=at).unwrap_or(available), true),
            None => (available, false),
        };
        let room = keep.saturating_sub(line.len());
        line.extend_from_slice(chunk.get(..room.min(chunk.len())).unwrap_or(&[]));
        let used = chunk.len();
        total = total.saturating_add(used);
        reader.consume(used);
        if done {
            return Ok(total);
        }
    }
}

/// Fills `batch` with the lines available: waits for a first line (waking
/// to look at the stop flag), then takes what arrives within [`LATENCY`],
/// up to `lines.batch` lines. Returns true when the input has ended or a signal
/// asked to stop; the lines already read are still in `batch`.
pub(crate) fn next_batch(lines: &mut Lines, batch: &mut Vec<InputLine>, stop: &AtomicUsize) -> bool {
    let mut deadline: Option<Instant> = None;
    let mut batch_bytes = 0usize;
    loop {
        if stop.load(Ordering::SeqCst) != 0 {
            // Records already read are decided; nothing more is read.
            batch.extend(lines.pending.drain(..));
            while let Ok(Incoming::Lines(more)) = lines.receiver.try_recv() {
                batch.extend(more);
            }
            return true;
        }
        while batch.len() < lines.batch && batch_bytes < BATCH_BYTES {
            let Some(line) = lines.pending.pop_front() else { break };
            batch_bytes = batch_bytes.saturating_add(line.bytes);
            batch.push(line);
            deadline.get_or_insert_with(|| Instant::now() + LATENCY);
        }
        if batch.len() >= lines.batch || batch_bytes >= BATCH_BYTES {
            return false;
        }
        let wait = match deadline {
            None => TICK,
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return false;
                }
                left.min(TICK)
            }
        };
        match lines.receiver.recv_timeout(wait) {
            Ok(Incoming::Lines(more)) => lines.pending.extend(more),
            Ok(Incoming::Failed(error)) => {
                eprintln!("error: cannot read the input: {error}");
                // The lines read before the failure are still decided.
                batch.extend(lines.pending.drain(..));
                return true;
            }
            Err(RecvTimeoutError::Timeout) => {}
            // INVARIANT: `pending` is empty here (the batch is not full).
            Err(RecvTimeoutError::Disconnected) => return true,
        }
    }
}

/// Moves the lines already read into `batch`, up to `lines.batch`, without
/// waiting for more. Returns true when the input has ended or a signal
/// asked to stop (then every line read is taken).
pub(crate) fn take_ready(lines: &mut Lines, batch: &mut Vec<InputLine>, stop: &AtomicUsize) -> bool {
    if stop.load(Ordering::SeqCst) != 0 {
        batch.extend(lines.pending.drain(..));
        while let Ok(Incoming::Lines(more)) = lines.receiver.try_recv() {
            batch.extend(more);
        }
        return true;
    }
    let mut batch_bytes = 0usize;
    loop {
        while batch.len() < lines.batch && batch_bytes < BATCH_BYTES {
            let Some(line) = lines.pending.pop_front() else { break };
            batch_bytes = batch_bytes.saturating_add(line.bytes);
            batch.push(line);
        }
        if batch.len() >= lines.batch || batch_bytes >= BATCH_BYTES {
            return false;
        }
        match lines.receiver.try_recv() {
            Ok(Incoming::Lines(more)) => lines.pending.extend(more),
            Ok(Incoming::Failed(error)) => {
                eprintln!("error: cannot read the input: {error}");
                batch.extend(lines.pending.drain(..));
                return true;
            }
            Err(std::sync::mpsc::TryRecvError::Empty) => return false,
            Err(std::sync::mpsc::TryRecvError::Disconnected) => return true,
        }
    }
}

/// A file's first bytes without the UTF-8 byte-order mark some editors
/// write: it starts the file, not the first record.
pub(crate) fn without_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lines read into recycled buffers read as themselves: a buffer that
    /// held a long line holds only the next line's bytes.
    #[test]
    fn recycled_buffers_hold_only_their_new_line() {
        let long = "x".repeat(5000);
        let mut input = String::new();
        for i in 0..3000 {
            input.push_str(if i % 7 == 0 { &long } else { "ab" });
            input.push_str(&format!("{i}\n"));
        }
        let mut lines = spawn_reader(Box::new(std::io::Cursor::new(input.clone().into_bytes())), 1 << 20);
        lines.batch = 64;
        let stop = AtomicUsize::new(0);
        let mut read = Vec::new();
        loop {
            let mut batch = Vec::new();
            let ended = next_batch(&mut lines, &mut batch, &stop);
            for line in &batch {
                read.push(String::from_utf8(line.text.clone().unwrap()).unwrap());
            }
            lines.recycle(batch);
            if ended {
                break;
            }
        }
        let expected: Vec<String> = input.split_inclusive('\n').map(str::to_string).collect();
        assert_eq!(read, expected);
    }

    #[test]
    fn the_pool_keeps_a_bounded_number_of_ordinary_buffers() {
        let pool = Pool::default();
        pool.give((0..POOL_BUFFERS + 10).map(|_| Vec::with_capacity(100)));
        pool.give(std::iter::once(Vec::with_capacity(POOL_BUFFER_BYTES + 1)));
        let mut taken = Vec::new();
        pool.take(usize::MAX, &mut taken);
        assert_eq!(taken.len(), POOL_BUFFERS);
        assert!(taken.iter().all(|b| b.capacity() <= POOL_BUFFER_BYTES));
    }
}
