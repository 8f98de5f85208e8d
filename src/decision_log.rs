//! The decision log of `qlp serve` and `qlp eval`: one JSON line per
//! decision, written by a thread of its own so that a slow disk never
//! delays a decision. Entries go through a
//! bounded queue; when it is full the entry is dropped and counted. The
//! file is rotated when it passes a size: `PATH` becomes `PATH.1` (the
//! previous `PATH.1` is replaced) and a new `PATH` is started.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::Duration;

/// What the log did: entries written, and dropped because the writer fell
/// behind (or the disk failed).
#[derive(Debug, Default)]
pub struct LogCounters {
    pub written: AtomicU64,
    pub dropped: AtomicU64,
}

/// Decision ids: the process's start time and pid, then a counter: unique
/// across restarts and machines.
pub struct DecisionIds {
    prefix: String,
    next: AtomicU64,
}

impl DecisionIds {
    pub fn new() -> DecisionIds {
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        DecisionIds {
            prefix: format!("{started:x}-{:x}", std::process::id()),
            next: AtomicU64::new(0),
        }
    }

    pub fn next(&self) -> String {
        format!("{}-{}", self.prefix, self.next.fetch_add(1, Ordering::Relaxed))
    }
}

/// Entries waiting to be written, at most.
const QUEUE: usize = 65_536;

/// What the writer thread receives.
enum Message {
    Entry(String),
    /// Write what came before, flush, and say so.
    Flush(SyncSender<()>),
}

/// The sending side; cheap to clone.
#[derive(Clone)]
pub struct DecisionLog {
    sender: SyncSender<Message>,
    counters: Arc<LogCounters>,
}

impl DecisionLog {
    /// Starts the writer thread appending to `path`, rotated past `max_bytes`.
    pub fn open(path: &Path, max_bytes: u64, counters: Arc<LogCounters>) -> anyhow::Result<DecisionLog> {
        let file = append(path)?;
        let (sender, receiver) = sync_channel(QUEUE);
        let writer = Writer {
            path: path.to_path_buf(),
            size: file.metadata().map_or(0, |m| m.len()),
            out: BufWriter::new(file),
            max_bytes,
            counters: counters.clone(),
        };
        std::thread::Builder::new()
            .name(String::from("decision-log"))
            .spawn(move || writer.run(receiver))?;
        Ok(DecisionLog { sender, counters })
    }

    /// Waits until every entry queued so far is written and flushed (at
    /// shutdown: the log holds every decision answered).
    pub fn flush(&self) {
        let (ack, done) = sync_channel(1);
        if self.sender.send(Message::Flush(ack)).is_ok() {
            let _ = done.recv_timeout(Duration::from_secs(30));
        }
    }

    /// Queues one entry (a JSON object, without its newline); never waits.
    pub fn write(&self, entry: String) {
        match self.sender.try_send(Message::Entry(entry)) {
            Ok(()) => {}
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

fn append(path: &Path) -> anyhow::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| anyhow::anyhow!("cannot open the decision log `{}`: {e}", path.display()))
}

struct Writer {
    path: PathBuf,
    out: BufWriter<File>,
    size: u64,
    max_bytes: u64,
    counters: Arc<LogCounters>,
}

impl Writer {
    fn run(mut self, receiver: Receiver<Message>) {
        loop {
            // Flush whenever the queue is idle, so the log trails decisions
            // by at most a moment.
            let entry = match receiver.recv_timeout(Duration::from_millis(200)) {
                Ok(Message::Entry(entry)) => entry,
                Ok(Message::Flush(ack)) => {
                    let _ = self.out.flush();
                    let _ = ack.send(());
                    continue;
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    let _ = self.out.flush();
                    continue;
                }
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            };
            if let Err(error) = self.write(&entry) {
                eprintln!("error: decision log `{}`: {error}", self.path.display());
                self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
        let _ = self.out.flush();
    }

    fn write(&mut self, entry: &str) -> std::io::Result<()> {
        if self.size > 0 && self.size + entry.len() as u64 + 1 > self.max_bytes {
            self.rotate()?;
        }
        self.out.write_all(entry.as_bytes())?;
        self.out.write_all(b"\n")?;
        self.size += entry.len() as u64 + 1;
        self.counters.written.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn rotate(&mut self) -> std::io::Result<()> {
        self.out.flush()?;
        let mut old = self.path.clone().into_os_string();
        old.push(".1");
        std::fs::rename(&self.path, PathBuf::from(old))?;
        let file = append(&self.path).map_err(std::io::Error::other)?;
        self.out = BufWriter::new(file);
        self.size = 0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_rotates_past_its_size_and_keeps_every_entry_in_order() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("decisions.jsonl");
        let counters = Arc::new(LogCounters::default());
        let log = DecisionLog::open(&path, 4096, counters.clone()).unwrap_or_else(|e| panic!("{e}"));
        let entry = |i: usize| format!("{{\"n\":{i},\"pad\":\"{}\"}}", "x".repeat(90));
        for i in 0..60 {
            log.write(entry(i));
        }
        log.flush();
        let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
        let (old, new) = (read(&dir.path().join("decisions.jsonl.1")), read(&path));
        assert!(!old.is_empty() && !new.is_empty(), "rotated once");
        assert!(old.len() <= 4096 && new.len() <= 4096);
        let last_old: usize = old.lines().count();
        let kept: Vec<String> = old.lines().chain(new.lines()).map(str::to_string).collect();
        // Older rotations are replaced: the last two files hold the newest entries, in order.
        let expected: Vec<String> = (60 - kept.len()..60).map(entry).collect();
        assert_eq!(kept, expected, "{last_old} in the old file");
        assert_eq!(counters.written.load(Ordering::Relaxed), 60);
        assert_eq!(counters.dropped.load(Ordering::Relaxed), 0);
    }
}
